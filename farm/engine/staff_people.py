"""Who a staff import and a reconciliation compare with: the tenants' sources and the sites' index.

``farm staff import`` must refuse a login someone else holds, in the
directory or on the site (seed 004, §4.1.A.B), and ``farm reconcile``
looks for the directory account of a CSV person. Both read the tenants'
sources exactly as a sync does (:class:`~farm.engine.wiring.Sources`, one
:class:`~farm.sources.ReadRequest` per source for all its tenants, full
reads), and the index of the tenants' sites. Nothing is written.

For reconciliation, an ENT directory is read with the birth date as a
profile field (the Pronote settings' attribute and field,
:func:`farm.engine.pronote_people.pronote_directory`), so a pair can be
confirmed by it; NetYpareo people carry none.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import anyio

from farm.config import Farm
from farm.engine.pronote_people import pronote_directory
from farm.engine.wiring import Sources
from farm.model import Kind, Person
from farm.registry import Registry, RegistryError
from farm.sources import ReadRequest, Source, SourceError
from farm.sources.sdet import SdetSource


class PeopleReadError(Exception):
    """A tenant's source or the registry could not be read; the message names which."""


@dataclass(frozen=True, slots=True)
class TenantPeople:
    """A tenant's people as its source gives them, with their birth dates when known."""

    tenant: str
    people: tuple[Person, ...]
    birthdates: Mapping[str, date]
    complete: bool


async def read_people(
    farm: Farm,
    tenants: Collection[str],
    *,
    birthdates: bool = False,
    given: Mapping[str, Source] | None = None,
) -> dict[str, TenantPeople]:
    """Each tenant's people, read from its source as a sync does (``given`` replaces a source).

    Raises :class:`PeopleReadError` naming the source that failed.
    """
    groups: dict[str, list[str]] = {}
    for tenant in tenants:
        groups.setdefault(farm.tenants[tenant].source, []).append(tenant)
    given = dict(given or {})
    built: dict[str, Source] = {}
    if birthdates:
        built = {
            name: SdetSource(name, pronote_directory(farm.directories[name], farm.pronote))
            for name in groups
            if name in farm.directories and name not in given
        }
    sources = Sources(farm, {**built, **given})
    field = farm.pronote.birth_date_field
    out: dict[str, TenantPeople] = {}
    try:
        for name, members in groups.items():
            try:
                result = await sources(name).read(
                    ReadRequest(tuple(members), cohort_prefix=farm.settings.cohort_prefix)
                )
            except SourceError as error:
                raise PeopleReadError(f"source {name}: {error}") from None
            for tenant in members:
                snapshot = result.snapshots.get(tenant)
                if snapshot is None:
                    raise PeopleReadError(f"source {name} returned nothing for {tenant}")
                born = {
                    p.source_key: day
                    for p in snapshot.people
                    if (day := _day(p.profile_fields.get(field))) is not None
                }
                out[tenant] = TenantPeople(tenant, snapshot.people, born, snapshot.complete)
    finally:
        await sources.aclose()
        for source in built.values():
            await source.aclose()
    return out


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


async def known_logins(
    farm: Farm,
    registry: Registry,
    tenants: Collection[str],
    *,
    given: Mapping[str, Source] | None = None,
) -> dict[str, str]:
    """Login -> its holder's source key: the tenants' sites' index, then their sources' people.

    The index says who holds an account on the site (an imported person
    holds their own login, so an update keeps it); the sources say who
    will (a directory person the site has not got yet). Raises
    :class:`PeopleReadError` when either cannot be read.
    """
    sites = sorted({farm.tenants[t].site for t in tenants})
    try:
        indexes = [await anyio.to_thread.run_sync(registry.site_index, s) for s in sites]
    except RegistryError as error:
        raise PeopleReadError(f"registry: {error}") from None
    taken: dict[str, str] = {}
    for index in indexes:
        for key, entry in index.of(Kind.PERSON).items():
            username = entry.values.get("username")
            if isinstance(username, str) and username:
                taken.setdefault(username.lower(), key)
    people = await read_people(farm, tenants, given=given)
    for read in people.values():
        _add(taken, read.people)
    return taken


def _add(taken: dict[str, str], people: Iterable[Person]) -> None:
    for person in people:
        if person.username:
            taken.setdefault(person.username.lower(), person.source_key)
