"""Planning people, cohorts and groups: the objects Moodle gives an id of their own.

A record read but not indexed is created, one whose digest changed is
updated (revived when it was suspended), one whose tenants all read
completely without it is removed under the run's removal policy: a cohort
under ``cohort_retirement`` (kept, archived, emptied or deleted). The rules
are in :mod:`farm.plan`; the links that point at these objects are planned
afterwards by :mod:`farm.plan_links`. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from farm.cohorts import owns
from farm.model import Cohort, IndexEntry, Kind, Record
from farm.operation import Action, Category, Operation
from farm.options import CohortRetirementPolicy, RemovalPolicy
from farm.planner import NO_CHANGES, Planner, changes_between

#: The first part of an idnumber after the prefix, when it is a school year (SDET's ``2025``).
_YEAR = re.compile(r"(\d{4})(?:-(\d{4}))?(?::|$)")


def plan_people(planner: Planner) -> None:
    """The people's operations, within the run's ``--person``/``--profile`` scope."""
    if not planner.options.selects(Kind.PERSON):
        return
    _plan_present(planner, Kind.PERSON, planner.person_filter)
    _plan_absent(planner, Kind.PERSON, planner.person_filter)


def plan_objects(planner: Planner, kind: Kind) -> None:
    """The cohorts' or groups' operations; none removed by a run scoped to some people."""
    if not planner.options.selects(kind):
        return
    _plan_present(planner, kind, None)
    if not planner.options.filters_people:
        _plan_absent(planner, kind, None)


def _owned(planner: Planner, record: Record) -> bool:
    """Whether the farm may create the record: its idnumber has the farm's prefix."""
    idnumber: str = getattr(record, "idnumber", "")
    return planner.options.adopt_cohorts or owns(planner.options.cohort_prefix, idnumber)


def _plan_present(planner: Planner, kind: Kind, scope: Callable[[str], bool] | None) -> None:
    options = planner.options
    force = options.force
    entries = planner.index.of(kind)
    origins = planner.snapshot.origins_of(kind)
    may_create = options.allows(Category.CREATE, kind)
    may_update = options.allows(Category.UPDATE, kind)
    created = planner.created[kind]
    check_owner = kind is not Kind.PERSON
    digests = planner.digests if kind is Kind.PERSON else {}
    for key, record in planner.snapshot.of(kind).items():
        if scope is not None and not scope(key):
            continue
        found = origins[key]
        entry = entries.get(key)
        if kind is Kind.COHORT and entry is not None and not entry.tenants:
            # A retired (or emptied) cohort a source reads again: the farm manages it again.
            planner.taken_back.add(key)
        if entry is None:
            if check_owner and not _owned(planner, record):
                planner.unowned.setdefault(kind, []).append(key)
                continue
            if may_create:
                created.add(key)
                planner.emit(
                    Operation(
                        kind, Action.CREATE, key, Category.CREATE, record, None, NO_CHANGES, found
                    )
                )
            continue
        if not may_update:
            continue
        tenants = planner.new_tenants(entry.tenants, found)
        if entry.suspended:
            changes = changes_between(entry.values, record.values(), force)
            planner.emit(
                Operation(
                    kind, Action.REVIVE, key, Category.UPDATE, record, entry, changes, tenants
                )
            )
        elif force or (digests.get(key) or record.digest()) != entry.digest:
            changes = changes_between(entry.values, record.values(), force)
            action = Action.UPDATE if changes else Action.REINDEX
            planner.emit(
                Operation(kind, action, key, Category.UPDATE, record, entry, changes, tenants)
            )
        elif tenants != entry.tenants:
            planner.reindex(kind, key, Category.UPDATE, record, entry, tenants)


def _plan_absent(planner: Planner, kind: Kind, scope: Callable[[str], bool] | None) -> None:
    authoritative = planner.authoritative
    if not authoritative or not planner.options.allows(Category.REMOVE, kind):
        return
    present = planner.snapshot.of(kind)
    held = planner.snapshot.held if kind is Kind.PERSON else frozenset()
    policy = planner.options.removal
    retirement = planner.options.cohort_retirement
    for key, entry in planner.index.of(kind).items():
        if key in present or entry.suspended or not entry.tenants & authoritative:
            continue
        if key in held:
            planner.held_kept += 1
            continue
        if scope is not None and not scope(key):
            continue
        remaining = entry.tenants - authoritative
        if (
            kind is Kind.COHORT
            and not remaining
            and retirement is not CohortRetirementPolicy.DELETE
        ):
            _retire(planner, key, entry, retirement)
        elif (
            remaining
            or kind is Kind.GROUP
            or (kind is Kind.PERSON and policy is RemovalPolicy.KEEP)
        ):
            # Groups are never deleted (no web-service function in the farm's service).
            planner.reindex(kind, key, Category.REMOVE, None, entry, remaining)
        elif kind is Kind.PERSON and policy is RemovalPolicy.SUSPEND:
            changes = {"suspended": (entry.values.get("suspended", False), True)}
            planner.emit(
                Operation(
                    kind, Action.SUSPEND, key, Category.REMOVE, None, entry, changes, frozenset()
                )
            )
        else:
            if kind is Kind.COHORT:
                planner.deleted_cohorts.add(key)
            planner.emit(
                Operation(
                    kind, Action.DELETE, key, Category.REMOVE, None, entry, NO_CHANGES, frozenset()
                )
            )


def _retire(planner: Planner, key: str, entry: IndexEntry, policy: CohortRetirementPolicy) -> None:
    """A cohort no tenant reads any more, kept, archived or emptied (``delete`` is a deletion)."""
    if policy is CohortRetirementPolicy.EMPTY:
        # Emptied, not deleted: farm.plan_links removes its members.
        planner.emptied_cohorts.add(key)
    else:
        # Released: farm.plan_links releases its members too, in the index only.
        planner.released_cohorts.add(key)
    if policy is CohortRetirementPolicy.ARCHIVE:
        archived = _archived(planner, key, entry)
        if archived is not None:
            # The rename keeps the tenants and the re-index below drops them: two journal
            # lines, each of which an undo takes back (the name, then the tenants).
            planner.archived_cohorts.add(key)
            changes = {"name": (entry.values.get("name"), archived.name)}
            planner.emit(
                Operation(
                    Kind.COHORT,
                    Action.UPDATE,
                    key,
                    Category.REMOVE,
                    archived,
                    entry,
                    changes,
                    entry.tenants,
                )
            )
    planner.reindex(Kind.COHORT, key, Category.REMOVE, None, entry, frozenset())


def _archived(planner: Planner, key: str, entry: IndexEntry) -> Cohort | None:
    """The cohort renamed with the archive suffix and hidden; None when it has the suffix."""
    values = entry.values
    name = str(values.get("name", ""))
    suffix = planner.options.cohort_archive_suffix.format(
        school_year=school_year(planner.options.cohort_prefix, key)
    )
    if name.endswith(suffix):
        return None
    return Cohort(
        idnumber=key,
        name=name + suffix,
        description=str(values.get("description", "")),
        context=str(values.get("context", "system")),
        visible=False,
    )


def school_year(prefix: str, idnumber: str) -> str:
    """The school year a cohort's idnumber carries after the prefix, ``archived`` if none.

    >>> school_year("farm:", "farm:2025:0999901Z:2NDE1")
    '2025-2026'
    >>> school_year("farm:", "farm:netypareo:cfa-31:group:G1")
    'archived'
    """
    rest = idnumber[len(prefix) :] if idnumber.startswith(prefix) else idnumber
    found = _YEAR.match(rest)
    if found is None:
        return "archived"
    start = int(found.group(1))
    return f"{start}-{found.group(2) or start + 1}"
