"""Planning links: cohort members, enrolments, group members, role assignments.

A link is added once its person (and its cohort or group) exists or is
created this run; one that must wait is counted in the plan's notes. A link
whose tenants all read completely without it is removed, but only while its
person stays on the site: a leaving person's links follow the person, and a
deleted cohort's members go with the cohort. A retired cohort's members
(``cohort_retirement`` keep or archive) stay in Moodle: the index forgets
their tenants with the cohort's, and when a source reads the cohort again
the members it no longer lists are removed. The rules are in
:mod:`farm.plan`; the objects links point at are planned first by
:mod:`farm.plan_objects`. Pure.
"""

from __future__ import annotations

from farm.model import CohortMembership, GroupMembership, IndexEntry, Kind, Record
from farm.operation import ADDING, REMOVING, Action, Category, Operation
from farm.options import CohortRetirementPolicy
from farm.planner import NO_CHANGES, Planner


def plan_links(planner: Planner, kind: Kind) -> None:
    """The operations of one link kind, within the run's ``--person``/``--profile`` scope."""
    if not planner.options.selects(kind):
        return
    _plan_present_links(planner, kind)
    _plan_absent_links(planner, kind)


def _target(record: Record) -> tuple[Kind, str] | None:
    """The cohort or group a membership points at (None for enrolments and roles)."""
    if isinstance(record, CohortMembership):
        return Kind.COHORT, record.cohort
    if isinstance(record, GroupMembership):
        return Kind.GROUP, f"{record.course}|{record.group}"
    return None


def _plan_present_links(planner: Planner, kind: Kind) -> None:
    options = planner.options
    scope = planner.person_filter
    entries = planner.index.of(kind)
    origins = planner.snapshot.origins_of(kind)
    adding = ADDING[kind]
    may_add = options.allows(Category.CREATE, kind)
    may_update = options.allows(Category.UPDATE, kind)
    unowned = set(planner.unowned.get(Kind.COHORT, ())) | set(planner.unowned.get(Kind.GROUP, ()))
    for key, record in planner.snapshot.of(kind).items():
        person: str = record.person  # type: ignore[attr-defined]
        if scope is not None and not scope(person):
            continue
        found = origins[key]
        entry = entries.get(key)
        if entry is None:
            if not may_add:
                continue
            target = _target(record)
            if target is not None and target[1] in unowned:
                continue
            if not planner.resolvable(Kind.PERSON, person) or (
                target is not None and not planner.resolvable(*target)
            ):
                planner.waiting[kind] = planner.waiting.get(kind, 0) + 1
                continue
            planner.emit(
                Operation(kind, adding, key, Category.CREATE, record, None, NO_CHANGES, found)
            )
        elif may_update:
            tenants = planner.new_tenants(entry.tenants, found)
            if options.force:
                planner.emit(
                    Operation(
                        kind, adding, key, Category.UPDATE, record, entry, NO_CHANGES, tenants
                    )
                )
            elif tenants != entry.tenants:
                planner.reindex(kind, key, Category.UPDATE, record, entry, tenants)


def _plan_absent_links(planner: Planner, kind: Kind) -> None:
    authoritative = planner.authoritative
    if not authoritative or not planner.options.allows(Category.REMOVE, kind):
        return
    scope = planner.person_filter
    present = planner.snapshot.of(kind)
    removing = REMOVING[kind]
    stays: dict[str, bool] = {}
    members = kind is Kind.COHORT_MEMBER
    for key, entry in planner.index.of(kind).items():
        if key in present:
            continue
        cohort = entry.values.get("cohort") if members else None
        taken_back = not entry.tenants and cohort in planner.taken_back
        if not (taken_back or entry.tenants & authoritative):
            continue
        person = entry.values.get("person", "")
        if scope is not None and not scope(person):
            continue
        remaining = entry.tenants - authoritative
        if members and not taken_back and _released(planner, cohort):
            # Its cohort is released: the membership stays in Moodle, the farm lets it go
            # (a leaving person's follows them, as any of their links).
            if _stays(planner, stays, person):
                planner.reindex(kind, key, Category.REMOVE, None, entry, remaining)
            continue
        if remaining:
            planner.emit(
                Operation(
                    kind, Action.REINDEX, key, Category.REMOVE, None, entry, NO_CHANGES, remaining
                )
            )
            continue
        if not _stays(planner, stays, person):
            continue
        if kind is Kind.COHORT_MEMBER and entry.values.get("cohort") in planner.deleted_cohorts:
            continue
        planner.emit(
            Operation(kind, removing, key, Category.REMOVE, None, entry, NO_CHANGES, frozenset())
        )


def _stays(planner: Planner, known: dict[str, bool], person: str) -> bool:
    """Whether the person stays on the site, asked once per person and pass."""
    staying = known.get(person)
    if staying is None:
        staying = known[person] = planner.person_stays(person)
    return staying


def _released(planner: Planner, cohort: object) -> bool:
    """Whether a membership's cohort is released: retired this run, or earlier and still gone.

    A cohort the index holds with no tenant and no source reads was retired
    by an earlier run; under keep or archive its members are left as they
    are (under ``empty`` it has none the farm still holds but a leaving
    person's, whose membership follows them).
    """
    if not isinstance(cohort, str):
        return False
    if cohort in planner.released_cohorts:
        return True
    if cohort in planner.snapshot.of(Kind.COHORT) or planner.options.cohort_retirement not in (
        CohortRetirementPolicy.KEEP,
        CohortRetirementPolicy.ARCHIVE,
    ):
        return False
    entry: IndexEntry | None = planner.index.get(Kind.COHORT, cohort)
    return entry is not None and not entry.tenants
