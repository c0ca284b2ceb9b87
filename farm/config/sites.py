"""Checks across site files: URLs, source references, tenants claimed twice, Pronote's field.

They run on :class:`SiteView`, what is valid on its own in each file, so that
a typo in one establishment does not hide a duplicated UAI in the next one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from farm.config.files import FileSet, Loc, ParsedFile, SiteView
from farm.config.problems import Problem, did_you_mean, key_path
from farm.site_rules import INTERNAL_AUTH_PLUGINS
from farm.uai import is_uai


def is_url(text: str, schemes: tuple[str, ...]) -> bool:
    """Whether ``text`` is a URL with one of ``schemes``, a host and a sane port."""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname) and port_ok


@dataclass
class _Claims:
    """Who claimed each tenant first: value -> (file, key)."""

    what: str
    first: dict[object, tuple[Path, str]] = field(default_factory=dict)

    def claim(self, value: object, label: str, view: SiteView, loc: Loc) -> Iterator[Problem]:
        here = (view.path, key_path(loc))
        first = self.first.setdefault(value, here)
        if first == here:
            return
        if first[0] == view.path:
            yield view.source.problem(
                loc, f"{label} is listed twice in this file", f"see {first[1]}"
            )
        else:
            yield view.source.problem(
                loc,
                f"{label} is also claimed by {first[0]} ({first[1]})",
                "a tenant belongs to exactly one site: remove it from one of the two files",
            )


def site_checks(files: FileSet) -> Iterator[Problem]:
    """Every problem that needs more than one site file, or farm.toml and a site file."""
    directories = _source_names(files, "directories")
    endpoints = _source_names(files, "netypareo")
    uais = _Claims("UAI")
    netypareo_sites = _Claims("NetYpareo site")
    ids = _Claims("tenant id")
    for _, view in sorted(files.views.items()):
        yield from _section_checks(view)
        default_directory = view.section.directory if view.section else None
        for index, entry in view.establishments:
            loc: Loc = ("establishments", index)
            yield from _reference(
                view, loc, entry.directory, default_directory, "directory", directories
            )
            yield from uais.claim(entry.uai, f"UAI {entry.uai}", view, (*loc, "uai"))
        yield from _account_checks(files, view)
        yield from _pronote_field(files, view)
        default_endpoint = view.section.netypareo if view.section else None
        prefixes: dict[int, str] = {}
        for index, site in view.netypareo_sites:
            loc = ("netypareo_sites", index)
            yield from _reference(
                view, loc, site.netypareo, default_endpoint, "netypareo", endpoints
            )
            endpoint = site.netypareo or default_endpoint
            label = f"NetYpareo site {site.code!r} of {endpoint!r}"
            yield from netypareo_sites.claim((endpoint, site.code), label, view, (*loc, "code"))
            if is_uai(site.id):
                yield view.source.problem(
                    (*loc, "id"),
                    "a NetYpareo site's id must not be a UAI",
                    "list establishments under [[establishments]]; pick e.g. 'cfa-montpellier'",
                )
            yield from ids.claim(site.id, f"tenant id {site.id!r}", view, (*loc, "id"))
            other = prefixes.setdefault(site.index, site.id)
            if other != site.id:
                yield view.source.problem(
                    (*loc, "index"),
                    f"index {site.index} is also used by {other!r} in this site",
                    "each NetYpareo site of one Moodle needs its own index (usertype prefix)",
                )


def retirement_checks(
    source: ParsedFile, table: str, retirement: str | None, removal: str | None
) -> Iterator[Problem]:
    """``cohort_removal``, the old name of ``cohort_retirement``: a warning, or both an error."""
    if removal is None:
        return
    meant = "empty" if removal == "keep" else removal
    if retirement is not None:
        yield source.problem(
            (table, "cohort_removal"),
            "cohort_removal is the old name of cohort_retirement, which is set too",
            "remove cohort_removal",
        )
        return
    yield dataclasses.replace(
        source.problem(
            (table, "cohort_removal"),
            f"cohort_removal is now cohort_retirement; {removal!r} is read as {meant!r}",
            f'write cohort_retirement = "{meant}" instead; "keep" leaves retired cohorts '
            'as they are, "archive" renames and hides them',
        ),
        warning=True,
    )


def _section_checks(view: SiteView) -> Iterator[Problem]:
    if view.section is not None:
        yield from retirement_checks(
            view.source, "site", view.section.cohort_retirement, view.section.cohort_removal
        )
    if view.section is not None and not is_url(view.section.url, ("http", "https")):
        yield view.source.problem(
            ("site", "url"),
            f"{view.section.url!r} is not an http(s) URL",
            "write the site's base URL, e.g. https://moodle.example.fr",
        )
    if view.declared == 0:
        yield Problem(
            view.path,
            None,
            "the site has no tenant",
            "add [[establishments]] or [[netypareo_sites]] entries, or remove the file",
        )


_KINDS = {
    "directory": ("directories", "directory"),
    "netypareo": ("netypareo", "NetYpareo endpoint"),
}


def _reference(
    view: SiteView,
    loc: Loc,
    own: str | None,
    default: str | None,
    key: str,
    known: list[str] | None,
) -> Iterator[Problem]:
    """Check that a tenant's source, its own or the site's default, is defined."""
    table, kind = _KINDS[key]
    name = own or default
    if name is None:
        if view.section is not None:  # otherwise [site] is invalid and already reported
            yield view.source.problem(
                (*loc, key), f"no {kind} to read this tenant from", f"set '{key}' here or in [site]"
            )
        return
    if known is None or name in known:
        return
    if known:
        hint = did_you_mean(name, known) or f"the {table} of farm.toml are {', '.join(known)}"
    else:
        hint = f"farm.toml defines no {kind}: add a [{table}.{name}] table to it"
    where: Loc = (*loc, key) if own else ("site", key)
    yield view.source.problem(where, f"unknown {kind} {name!r}", hint)


def _source_names(files: FileSet, table: str) -> list[str] | None:
    """The names defined under ``[table.NAME]`` in farm.toml, or None if unknown."""
    if files.farm is not None:
        names: object = getattr(files.farm, table)
    else:
        raw = files.farm_source.raw
        names = None if raw is None else raw.get(table, {})
    return sorted(names) if isinstance(names, dict) else None


def _account_checks(files: FileSet, view: SiteView) -> Iterator[Problem]:
    """Every account the site gets has an auth plugin, and manual ones a password delivery."""
    section = view.section
    if section is None or files.farm is None:
        return
    sources: list[tuple[str, str | None]] = []
    for _, entry in view.establishments:
        name = entry.directory or section.directory
        directory = files.farm.directories.get(name) if name else None
        if directory is not None:
            sources.append((f"directory {name!r}", directory.mapping.auth))
    for _, site in view.netypareo_sites:
        name = site.netypareo or section.netypareo
        endpoint = files.farm.netypareo.get(name) if name else None
        if endpoint is not None:
            sources.append((f"NetYpareo endpoint {name!r}", endpoint.auth))
    auths = {section.auth} if section.auth else {auth for _, auth in sources if auth}
    unset = sorted({label for label, auth in sources if not auth})
    if not section.auth and unset:
        yield view.source.problem(
            ("site", "auth"),
            f"no auth plugin for the accounts read from {', '.join(unset)}",
            'set the site\'s auth plugin, e.g. auth = "oauth2", "shibboleth", "ldap", '
            '"manual", or "cas" where the site installed the CAS plugin (Moodle 5.0 '
            "no longer ships it); `farm sites check` proves the site has it",
        )
    internal = sorted(auths & INTERNAL_AUTH_PLUGINS)
    if internal and section.new_passwords is None:
        yield view.source.problem(
            ("site", "new_passwords"),
            f"{'/'.join(internal)} accounts need to know how their first password is delivered",
            'set new_passwords = "file" (the farm writes an owner-only credentials file '
            'under var/credentials) or "email" (Moodle e-mails a password to every new '
            "account): there is no default, so that nobody is mass-mailed by surprise",
        )


def _pronote_field(files: FileSet, view: SiteView) -> Iterator[Problem]:
    """A warning for a site with establishments that leaves out ``[pronote] profile_field``.

    Only the sites listing the field in ``profile_fields`` carry each
    person's Pronote identifier (:mod:`farm.engine.pronote_fields`). Leaving
    a site out may be meant (a site without Pronote), so this warns and
    does not refuse; ``farm sites check`` proves the listed fields exist.
    """
    wanted = files.farm.pronote.profile_field if files.farm is not None else None
    section = view.section
    if wanted is None or section is None or not view.establishments:
        return
    if wanted not in section.profile_fields:
        problem = view.source.problem(
            ("site", "profile_fields"),
            f"site {view.name} does not carry Pronote identifiers: "
            f"add {wanted!r} to its profile_fields",
            "farm.toml's [pronote] profile_field names the Moodle profile field that carries "
            "them; farm sites check then proves the site has it",
        )
        yield dataclasses.replace(problem, warning=True)
