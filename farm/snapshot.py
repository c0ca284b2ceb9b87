"""The snapshot of one site (:class:`SiteSnapshot`), merged from its tenants' snapshots.

In a cité scolaire several establishments share one Moodle site and a person
of two of them is one account. Merging keys people by source key, unions
their establishments, profiles and memberships, and remembers which tenants
said what, so that a run of one tenant never removes what another tenant
holds. The result does not depend on the order of the snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import cast

from farm.model import (
    Kind,
    Person,
    Record,
    SourceWarning,
    TenantSnapshot,
)


@dataclass(frozen=True, slots=True)
class SiteSnapshot:
    """What the sources said about the tenants of one site that a run read, merged.

    ``records`` maps each kind to its records by key; ``origins`` gives, for
    the same keys, the tenants whose snapshots held the record (a person of
    two establishments of a cité scolaire has both). ``tenants`` are the
    tenants read; ``complete`` those whose read was complete, the only ones
    whose absences count. ``people_read`` is how many people each tenant's
    source returned, before merging (the safety checks look at it). ``held``
    are the people some source saw but could not read: never removed. Build
    it with :func:`farm.snapshot.merge_site`.
    """

    tenants: frozenset[str]
    complete: frozenset[str]
    records: Mapping[Kind, Mapping[str, Record]]
    origins: Mapping[Kind, Mapping[str, frozenset[str]]]
    people_read: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[SourceWarning, ...] = ()
    held: frozenset[str] = frozenset()

    def of(self, kind: Kind) -> Mapping[str, Record]:
        """The records of one kind by key (empty when the sources gave none)."""
        return self.records.get(kind, _EMPTY)

    def origins_of(self, kind: Kind) -> Mapping[str, frozenset[str]]:
        return self.origins.get(kind, _EMPTY_ORIGINS)

    @property
    def people(self) -> Mapping[str, Person]:
        return cast("Mapping[str, Person]", self.of(Kind.PERSON))

    def __len__(self) -> int:
        return sum(len(records) for records in self.records.values())


_EMPTY: Mapping[str, Record] = MappingProxyType({})
_EMPTY_ORIGINS: Mapping[str, frozenset[str]] = MappingProxyType({})


_IDENTITY_FIELDS = ("username", "idnumber", "firstname", "lastname", "email", "auth")


def merge_site(snapshots: Sequence[TenantSnapshot]) -> SiteSnapshot:
    """Merge the snapshots a run read for one site.

    When two tenants describe the same record differently, the version of
    the tenant whose id sorts first wins (then the smaller digest) and a
    warning names the fields that differ. For people, establishments and
    profiles are unioned, custom profile fields are merged key by key, and
    the account is suspended only if every tenant says so.

    A person gets the snapshot's tenant as establishment when the source
    gave none; a person whose establishments do not include the tenant that
    listed them is left out with a warning, because an account must never
    reach a site none of its establishments belongs to. Usernames are
    lowercased (Moodle rejects uppercase ones), with a warning.
    """
    ordered = sorted(snapshots, key=lambda s: s.tenant)
    warnings: list[SourceWarning] = []
    records: dict[Kind, dict[str, Record]] = {}
    origins: dict[Kind, dict[str, frozenset[str]]] = {}
    people_read: dict[str, int] = {}
    complete: set[str] = set()
    incomplete: set[str] = set()
    held: set[str] = set()
    # Every (tenant, record) of a key seen more than once, resolved at the end.
    repeats: dict[tuple[Kind, str], list[tuple[str, Record]]] = {}

    for snapshot in ordered:
        tenant = snapshot.tenant
        warnings.extend(snapshot.warnings)
        held.update(snapshot.held)
        (complete if snapshot.complete else incomplete).add(tenant)
        people_read[tenant] = people_read.get(tenant, 0) + _read_by_source(snapshot)
        only_here = frozenset((tenant,))
        for kind in Kind:
            found = records.setdefault(kind, {})
            tenants_of = origins.setdefault(kind, {})
            for record in snapshot.records(kind):
                if kind is Kind.PERSON:
                    person = _checked_person(tenant, record, warnings)  # type: ignore[arg-type]
                    if person is None:
                        continue
                    record = person
                key = record.key
                first = found.get(key)
                if first is None:
                    found[key] = record
                    tenants_of[key] = only_here
                    continue
                before = tenants_of[key]
                tenants_of[key] = before | only_here
                seen = repeats.get((kind, key))
                if seen is None:
                    # Snapshots run in tenant order, so the first record came from the smallest.
                    repeats[(kind, key)] = [(min(before), first), (tenant, record)]
                else:
                    seen.append((tenant, record))

    for (kind, key), candidates in repeats.items():
        records[kind][key] = _resolve(kind, key, candidates, warnings)

    return SiteSnapshot(
        tenants=frozenset(people_read),
        # A tenant read twice (two sources) is complete only if both reads were.
        complete=frozenset(complete - incomplete),
        records={kind: found for kind, found in records.items() if found},
        origins={kind: tenants for kind, tenants in origins.items() if tenants},
        people_read=people_read,
        warnings=tuple(warnings),
        # A person read in full by one tenant and held by another is simply present.
        held=frozenset(held - records.get(Kind.PERSON, {}).keys()),
    )


def with_stored(snapshot: TenantSnapshot, stored: TenantSnapshot) -> TenantSnapshot:
    """``snapshot`` (a source's read of a tenant) with the records of a store the farm keeps.

    A staff roster is such a store: the people an establishment imported
    from CSV files, read at every sync of the tenant like the directory's
    (``stored`` is :func:`farm.staff.roster_snapshot`'s). The records are
    added to the read's; what the result says about absences stays the
    read's own: it is complete exactly when the read was, so a complete
    directory read plus the roster still removes the people the directory
    dropped, never the roster's (they are present), and a delta read plus
    the roster removes no one. The stored people are named in
    :attr:`~farm.model.TenantSnapshot.stored`: the safety checks count the
    people a source returned without them, so a directory that answers
    empty is still seen as empty.
    """
    if stored.tenant != snapshot.tenant:
        raise ValueError(f"a store of {stored.tenant} added to a read of {snapshot.tenant}")
    if not any(stored.records(kind) for kind in Kind) and not stored.warnings:
        return snapshot
    return replace(
        snapshot,
        people=(*snapshot.people, *stored.people),
        cohorts=(*snapshot.cohorts, *stored.cohorts),
        cohort_members=(*snapshot.cohort_members, *stored.cohort_members),
        enrolments=(*snapshot.enrolments, *stored.enrolments),
        groups=(*snapshot.groups, *stored.groups),
        group_members=(*snapshot.group_members, *stored.group_members),
        role_assignments=(*snapshot.role_assignments, *stored.role_assignments),
        warnings=(*snapshot.warnings, *stored.warnings),
        stored=snapshot.stored | {p.source_key for p in stored.people},
    )


def _read_by_source(snapshot: TenantSnapshot) -> int:
    """How many people the source itself returned: the stored ones are not counted."""
    if not snapshot.stored:
        return len(snapshot.people)
    return sum(1 for person in snapshot.people if person.source_key not in snapshot.stored)


def _checked_person(tenant: str, person: Person, warnings: list[SourceWarning]) -> Person | None:
    if not person.establishments:
        person = replace(person, establishments=frozenset((tenant,)))
    elif tenant not in person.establishments:
        warnings.append(
            SourceWarning(
                tenant,
                person.source_key,
                "listed under this tenant but belongs to "
                + ", ".join(sorted(person.establishments))
                + ": left out",
                "establishments",
            )
        )
        return None
    if person.username != person.username.lower():
        warnings.append(
            SourceWarning(tenant, person.source_key, "username lowercased for Moodle", "username")
        )
        person = replace(person, username=person.username.lower())
    return person


def _resolve(
    kind: Kind, key: str, candidates: list[tuple[str, Record]], warnings: list[SourceWarning]
) -> Record:
    ranked = sorted(
        ((tenant, record.digest(), record) for tenant, record in candidates),
        key=lambda item: (item[0], item[1]),
    )
    winner_tenant, winner_digest, winner = ranked[0]
    if kind is Kind.PERSON:
        return _merge_people(key, [(t, r) for t, _, r in ranked], warnings)  # type: ignore[misc]
    others = [(t, r) for t, d, r in ranked[1:] if d != winner_digest]
    if others:
        differing = sorted(
            {
                name
                for _, other in others
                for name, value in other.values().items()
                if winner.values()[name] != value
            }
        )
        tenants = ", ".join(sorted({t for t, _ in others}))
        warnings.append(
            SourceWarning(
                winner_tenant,
                key,
                f"{kind} described differently by {tenants} ({', '.join(differing)}): "
                f"kept the version of {winner_tenant}",
            )
        )
    return winner


def _merge_people(
    key: str, ranked: list[tuple[str, Person]], warnings: list[SourceWarning]
) -> Person:
    winner_tenant, winner = ranked[0]
    establishments: frozenset[str] = frozenset()
    profiles = winner.profiles
    profile_fields: dict[str, str] = {}
    suspended = True
    differing: set[str] = set()
    for _, person in ranked:
        establishments |= person.establishments
        profiles |= person.profiles
        suspended = suspended and person.suspended
        for name, value in person.profile_fields.items():
            if name not in profile_fields:
                profile_fields[name] = value
            elif profile_fields[name] != value:
                differing.add(f"profile_fields.{name}")
        differing.update(
            name for name in _IDENTITY_FIELDS if getattr(person, name) != getattr(winner, name)
        )
    if differing:
        tenants = ", ".join(sorted({t for t, _ in ranked}))
        warnings.append(
            SourceWarning(
                winner_tenant,
                key,
                f"person described differently by {tenants} ({', '.join(sorted(differing))}): "
                f"kept the values of {winner_tenant}",
            )
        )
    return replace(
        winner,
        establishments=establishments,
        profiles=profiles,
        profile_fields=profile_fields,
        suspended=suspended,
    )
