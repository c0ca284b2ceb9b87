"""Reading the farm's TOML files, each on its own.

:class:`FileSet` parses and validates every file and keeps what it could
read even when another file, or another part of the same file, is broken:
the cross-file checks then still see every tenant that is valid on its own,
so that one run reports every problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from farm.config.problems import KeyLines, Problem, key_path, problems_from_validation
from farm.config.schema import (
    EstablishmentEntry,
    FarmFile,
    NetYpareoSiteEntry,
    SiteFile,
    SiteSection,
)

_SITE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SYNTAX_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_AT_END = re.compile(r"\s*\(at end of document\)")

Loc = tuple[str | int, ...]
Context = dict[str, Path | None]
"""What validation is given: ``base_dir`` (the farm folder) and ``secrets_dir``."""
M = TypeVar("M", bound=BaseModel)


@dataclass
class ParsedFile:
    """One TOML file: its raw content when it parsed, and where its keys are."""

    path: Path
    raw: dict[str, Any] | None
    lines: KeyLines

    def problem(self, loc: Loc, message: str, hint: str | None = None) -> Problem:
        return Problem(self.path, key_path(loc), message, hint, line=self.lines.find(loc))


@dataclass
class SiteView:
    """What is valid on its own in one site file, even when the whole file is not.

    Entries keep their index in the file so that problems name the right key.
    ``declared`` counts the tenant entries written, valid or not.
    """

    name: str
    source: ParsedFile
    section: SiteSection | None
    establishments: list[tuple[int, EstablishmentEntry]]
    netypareo_sites: list[tuple[int, NetYpareoSiteEntry]]
    declared: int

    @property
    def path(self) -> Path:
        return self.source.path

    @classmethod
    def of(cls, name: str, source: ParsedFile, site: SiteFile | None, context: Context) -> SiteView:
        if site is not None:
            return cls(
                name=name,
                source=source,
                section=site.site,
                establishments=list(enumerate(site.establishments)),
                netypareo_sites=list(enumerate(site.netypareo_sites)),
                declared=len(site.establishments) + len(site.netypareo_sites),
            )
        raw = source.raw or {}
        establishments = _entries(raw.get("establishments"), EstablishmentEntry, context)
        netypareo_sites = _entries(raw.get("netypareo_sites"), NetYpareoSiteEntry, context)
        declared = sum(
            len(value) if isinstance(value, list) else 1
            for key in ("establishments", "netypareo_sites")
            if (value := raw.get(key)) is not None
        )
        return cls(
            name=name,
            source=source,
            section=_quiet(SiteSection, raw.get("site"), context),
            establishments=establishments,
            netypareo_sites=netypareo_sites,
            declared=declared,
        )


def _quiet(model: type[M], raw: object, context: Context) -> M | None:
    # The file's own validation has already reported why this part is invalid.
    try:
        return model.model_validate(raw, context=context)
    except ValidationError:
        return None


def _entries(raw: object, model: type[M], context: Context) -> list[tuple[int, M]]:
    if not isinstance(raw, list):
        return []
    valid = ((index, _quiet(model, item, context)) for index, item in enumerate(raw))
    return [(index, entry) for index, entry in valid if entry is not None]


@dataclass
class FileSet:
    """Every file of a farm folder, parsed and validated one by one."""

    root: Path
    farm_source: ParsedFile
    farm: FarmFile | None
    site_sources: dict[str, ParsedFile] = field(default_factory=dict)
    sites: dict[str, tuple[Path, SiteFile]] = field(default_factory=dict)
    """The site files that are valid on their own."""
    views: dict[str, SiteView] = field(default_factory=dict)
    """Every site file that parsed, valid or not."""
    problems: list[Problem] = field(default_factory=list)
    secrets_dir: Path | None = None
    """farm.toml's ``[farm] secrets_dir``, absolute, when it is written."""

    @classmethod
    def read(cls, root: Path, *, farm_file: str) -> FileSet:
        problems: list[Problem] = []
        farm_path = root / farm_file
        if not root.is_dir():
            problems.append(
                Problem(root, None, "the farm folder does not exist", "pass --farm-dir or FARM_DIR")
            )
        elif not farm_path.is_file():
            problems.append(
                Problem(farm_path, None, "farm.toml is missing", "see docs/configuration.md")
            )
        farm_source = _parse(farm_path, problems) if farm_path.is_file() else None
        farm_source = farm_source or ParsedFile(farm_path, None, KeyLines(""))
        secrets_dir = _secrets_dir(farm_source.raw, root)
        context: Context = {"base_dir": root, "secrets_dir": secrets_dir}
        farm = _validate(FarmFile, farm_source, context, problems)
        files = cls(
            root=root,
            farm_source=farm_source,
            farm=farm,
            problems=problems,
            secrets_dir=secrets_dir,
        )
        site_paths = sorted(root.glob("*.toml")) if root.is_dir() else []
        for path in site_paths:
            if path.name == farm_file or path.name.startswith("."):
                continue
            if not _SITE_NAME.fullmatch(path.stem):
                problems.append(
                    Problem(
                        path,
                        None,
                        f"{path.stem!r} is not a valid site name",
                        "rename the file: lowercase letters, digits, '.', '_' and '-'",
                    )
                )
                continue
            source = _parse(path, problems)
            if source is None:
                continue
            files.site_sources[path.stem] = source
            site = _validate(SiteFile, source, context, problems)
            if site is not None:
                files.sites[path.stem] = (path, site)
            if source.raw is not None:
                files.views[path.stem] = SiteView.of(path.stem, source, site, context)
        return files


def _parse(path: Path, problems: list[Problem]) -> ParsedFile | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(path, None, f"not UTF-8 text ({exc.reason})", "save it as UTF-8"))
        return None
    except OSError as exc:
        problems.append(Problem(path, None, f"cannot read the file: {exc.strerror}"))
        return None
    lines = KeyLines(text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _SYNTAX_AT.search(message)
        line, column = (int(where.group(1)), int(where.group(2))) if where else (None, None)
        if _AT_END.search(message):
            rows = text.splitlines() or [""]
            line, column = len(rows), len(rows[-1]) + 1
        message = _AT_END.sub("", _SYNTAX_AT.sub("", message))
        problems.append(
            Problem(
                path,
                None,
                f"TOML syntax error: {message}",
                "fix the syntax; every other check of this file waits for it",
                line=line,
                column=column,
            )
        )
        return ParsedFile(path, None, lines)
    return ParsedFile(path, raw, lines)


def _secrets_dir(raw: dict[str, Any] | None, root: Path) -> Path | None:
    # Read before validation: every file's secret references need it, farm.toml's too.
    section = (raw or {}).get("farm")
    text = section.get("secrets_dir") if isinstance(section, dict) else None
    if not isinstance(text, str) or not text:
        return None
    path = Path(text).expanduser()
    return Path(os.path.abspath(path if path.is_absolute() else root / path))


def _validate(
    model: type[M], source: ParsedFile, context: Context, problems: list[Problem]
) -> M | None:
    if source.raw is None:
        return None
    try:
        return model.model_validate(source.raw, context=context)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, model, source.path, source.lines))
        return None
