"""The people Pronote commands match and export: read from the tenants' directory as a sync does.

``farm pronote import`` and ``export`` need each establishment's people as
the farm knows them, so they read the tenant's source exactly as a sync
does (:class:`~farm.engine.wiring.Sources`, one
:class:`~farm.sources.ReadRequest` per directory for all its tenants), with
three additions to the directory's mapping, for this read only: the birth
date and the INE as profile fields (``birth_date_field`` and ``ine_field``
of the Pronote settings, unless the mapping already has them), and guardian
links (a parent role in the child's context) when the mapping has no
parent role. Nothing of this reaches Moodle: no sync runs here.

Only establishments read from an ENT directory have Pronote identifiers;
a NetYpareo tenant is refused, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from farm.config import Farm
from farm.engine.wiring import Sources
from farm.model import Person, SourceWarning
from farm.pronote.settings import PronoteSettings
from farm.sources import ReadRequest, Source, SourceError
from farm.sources.sdet import DirectorySettings, FieldRule, SdetSource

#: The role the read gives parents when the mapping has none: only guardian links use it.
GUARDIAN_ROLE = "pronote-guardian"


class PronoteReadError(Exception):
    """The tenants' people could not be read; the message names the tenant or the source."""


@dataclass(frozen=True, slots=True)
class PronotePeople:
    """The tenants' people (one per source key), guardian links and the source's warnings.

    ``guardians`` pairs a guardian's source key with a pupil's.
    """

    people: tuple[Person, ...]
    guardians: tuple[tuple[str, str], ...] = ()
    warnings: tuple[SourceWarning, ...] = ()


def pronote_directory(settings: DirectorySettings, pronote: PronoteSettings) -> DirectorySettings:
    """``settings`` with the birth date, INE and guardian links Pronote needs (see above)."""
    mapping = settings.mapping
    fields = dict(mapping.profile_fields)
    fields.setdefault(
        pronote.birth_date_field, FieldRule(attribute=pronote.directory_birth_date, kind="date")
    )
    fields.setdefault(pronote.ine_field, FieldRule(attribute=pronote.directory_ine, case="upper"))
    update: dict[str, object] = {"profile_fields": fields}
    if mapping.parent_role is None:
        update["parent_role"] = GUARDIAN_ROLE
    return settings.model_copy(update={"mapping": mapping.model_copy(update=update)})


async def read_pronote_people(
    farm: Farm,
    tenants: Sequence[str],
    pronote: PronoteSettings,
    *,
    given: Mapping[str, Source] | None = None,
) -> PronotePeople:
    """The people of ``tenants`` (establishment tenant ids), read from their directories.

    ``given`` replaces a source by name (tests). Raises :class:`PronoteReadError`
    for an unknown or NetYpareo tenant and when a source fails.
    """
    groups: dict[str, list[str]] = {}
    for tenant_id in tenants:
        tenant = farm.tenants.get(tenant_id)
        if tenant is None:
            raise PronoteReadError(f"no tenant {tenant_id!r} in {farm.root}")
        if tenant.kind != "establishment" or tenant.source not in farm.directories:
            raise PronoteReadError(
                f"{tenant_id} is a NetYpareo site: Pronote identifiers belong to "
                "establishments read from an ENT directory"
            )
        groups.setdefault(tenant.source, []).append(tenant_id)
    given = dict(given or {})
    built: dict[str, Source] = {
        name: SdetSource(name, pronote_directory(farm.directories[name], pronote))
        for name in groups
        if name not in given
    }
    sources = Sources(farm, {**built, **given})
    people: dict[str, Person] = {}
    roles: set[tuple[str, str]] = set()
    warnings: list[SourceWarning] = []
    try:
        for name, members in groups.items():
            guardian_role = farm.directories[name].mapping.parent_role or GUARDIAN_ROLE
            try:
                result = await sources(name).read(ReadRequest(tuple(members)))
            except SourceError as error:
                raise PronoteReadError(f"source {name}: {error}") from None
            for tenant_id in members:
                snapshot = result.snapshots.get(tenant_id)
                if snapshot is None:
                    raise PronoteReadError(f"source {name} returned nothing for {tenant_id}")
                for person in snapshot.people:
                    people.setdefault(person.source_key, person)
                for role in snapshot.role_assignments:
                    if role.role == guardian_role and role.context_level == "user":
                        roles.add((role.person, role.context))
                warnings.extend(snapshot.warnings)
    finally:
        # The sources built here are closed here; given ones belong to the caller.
        for source in built.values():
            await source.aclose()
    return PronotePeople(
        people=tuple(sorted(people.values(), key=lambda p: p.source_key)),
        guardians=tuple(sorted(roles)),
        warnings=tuple(warnings),
    )
