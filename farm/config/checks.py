"""Checks of the farm as a whole: farm.toml's own rules, then sites, then secrets."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel

from farm.config.course_checks import course_rule_checks
from farm.config.files import FileSet, Loc, ParsedFile
from farm.config.problems import Problem, annotation_fields
from farm.config.schema import FarmFile, SiteFile
from farm.config.sites import is_url, retirement_checks, site_checks
from farm.secrets import SecretError, SecretRef


def check_files(files: FileSet, *, resolve_secrets: bool) -> list[Problem]:
    """Every problem of the farm: each file's own, then those across files."""
    problems = list(files.problems)
    if files.farm is not None:
        problems.extend(_farm_checks(files))
    problems.extend(site_checks(files))
    problems.extend(course_rule_checks(files))
    if resolve_secrets:
        problems.extend(_secret_checks(files))
    # A site-wide default that is wrong would otherwise be reported once per tenant.
    return list(dict.fromkeys(problems))


def resolve_registry_url(text: str, root: Path) -> str:
    """The registry URL with a relative SQLite path made absolute under ``root``.

    A value without ``://`` is a SQLite file path.
    """
    # Here, not at the top: ``import farm.config`` must not pay for SQLAlchemy
    # (~190 ms), which only reading a farm's registry URL needs.
    from sqlalchemy.engine import make_url

    if "://" not in text:
        text = f"sqlite:///{text}"
    url = make_url(text)
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        path = Path(database).expanduser()
        if not path.is_absolute():
            path = root.resolve() / path
        url = url.set(database=str(path))
    return url.render_as_string(hide_password=False)


def _farm_checks(files: FileSet) -> Iterator[Problem]:
    farm, source = files.farm, files.farm_source
    assert farm is not None
    registry = farm.farm.registry_url
    from sqlalchemy.engine import make_url  # lazily: see resolve_registry_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(registry if "://" in registry else f"sqlite:///{registry}")
    except ArgumentError:
        yield source.problem(
            ("farm", "registry_url"),
            "not a database URL",
            "write e.g. 'var/registry.sqlite' or 'postgresql+psycopg://farm@db.example.fr/farm'",
        )
    else:
        if url.password is not None:
            yield source.problem(
                ("farm", "registry_url"),
                "the URL holds a password, and farm.toml is no place for a secret",
                "remove it and give the password through PGPASSWORD or ~/.pgpass",
            )
    section = farm.farm
    yield from retirement_checks(source, "farm", section.cohort_retirement, section.cohort_removal)
    if farm.status.critical_after <= farm.status.warning_after:
        yield source.problem(
            ("status", "critical_after"),
            "critical_after must be longer than warning_after",
            "e.g. warning_after = '26h', critical_after = '50h'",
        )
    for name, directory in farm.directories.items():
        if not is_url(directory.url, ("ldap", "ldaps")):
            yield source.problem(
                ("directories", name, "url"),
                f"{directory.url!r} is not an LDAP URL",
                "write ldap://host:port or ldaps://host:port",
            )
    for name, endpoint in farm.netypareo.items():
        wsdl = endpoint.wsdl
        if "://" in wsdl:
            if not is_url(wsdl, ("http", "https")):
                yield source.problem(
                    ("netypareo", name, "wsdl"),
                    f"{wsdl!r} is not an http(s) URL",
                    "write https://host/path or a path to a pinned copy of the WSDL",
                )
        elif not (files.root / wsdl).expanduser().is_file():
            yield source.problem(
                ("netypareo", name, "wsdl"),
                f"no WSDL file at {wsdl!r} (relative to the farm folder)",
                "give an https:// URL or the path of a pinned copy",
            )
        if endpoint.endpoint is not None and not is_url(endpoint.endpoint, ("http", "https")):
            yield source.problem(
                ("netypareo", name, "endpoint"),
                f"{endpoint.endpoint!r} is not an http(s) URL",
                "write https://host/path, or remove it to use the WSDL's address",
            )


def _secret_checks(files: FileSet) -> Iterator[Problem]:
    """Resolve every secret reference; a ``file:`` one must stay inside the farm.

    Each problem names the file and key that wrote the reference and the
    secret file; none shows what a file holds.
    """
    if files.secrets_dir is not None and not files.secrets_dir.is_dir():
        yield files.farm_source.problem(
            ("farm", "secrets_dir"),
            f"no folder at {files.secrets_dir}",
            "create it, readable by the farm's user only, or remove the key",
        )
    sources: list[tuple[ParsedFile, type[BaseModel]]] = [(files.farm_source, FarmFile)]
    sources.extend((source, SiteFile) for _, source in sorted(files.site_sources.items()))
    for source, model in sources:
        for loc, text in _secret_values(model, source.raw, ()):
            try:
                ref = SecretRef.parse(text, base=files.root, secrets_dir=files.secrets_dir)
            except SecretError:
                continue  # already reported by validation
            try:
                warnings = ref.verify()
            except SecretError as exc:
                yield source.problem(loc, str(exc), _secret_hint(ref, str(exc)))
                continue
            for warning in warnings:
                problem = source.problem(loc, warning)
                yield dataclasses.replace(problem, warning=True)


def _secret_hint(ref: SecretRef, message: str) -> str:
    if ref.scheme == "env":
        return f"export {ref.target} in the environment of every farm process"
    if "outside the farm folder" in message:
        return (
            "move the file into the farm folder (e.g. secrets/, kept out of git) "
            "or name its folder in farm.toml's [farm] secrets_dir"
        )
    return "create the file, readable by the farm's user only"


def _secret_values(model: type[BaseModel], raw: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """Each secret reference written in ``raw``, found through the model's field types."""
    if not isinstance(raw, Mapping):
        return
    for name, annotation in annotation_fields(model):
        value = raw.get(name)
        if value is None:
            continue
        if annotation is SecretRef:
            if isinstance(value, str):
                yield (*loc, name), value
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _secret_values(annotation, value, (*loc, name))
        elif typing.get_origin(annotation) is dict and isinstance(value, Mapping):
            inner = typing.get_args(annotation)[1]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                for key, item in value.items():
                    yield from _secret_values(inner, item, (*loc, name, key))
        elif typing.get_origin(annotation) in (tuple, list) and isinstance(value, list):
            inner = typing.get_args(annotation)[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                for index, item in enumerate(value):
                    yield from _secret_values(inner, item, (*loc, name, index))
