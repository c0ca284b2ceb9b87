"""Safety checks: a source that answers empty, truncated or far smaller never empties a site.

The checks run only when a plan removes something (suspends, deletes,
unlinks, or takes a tenant off a record): a cohort retired under
``cohort_retirement`` (released, archived, emptied or deleted) runs them
like any removal. Each compares what the sources returned, or what the plan
removes, with what the index holds, and the first that trips stops the
whole site's run: no creation or update runs either, since a source that
lost people has probably garbled others, and a half-applied run is harder
to reason about than none. ``--allow-mass-removal`` lifts every check for
one run.

The rules, in the order they are checked:

1. Empty source: a tenant whose complete read returned no people while the
   index holds people of that tenant.
2. Round number: a tenant whose complete read returned a multiple of 500
   people (500, 1000, 5000, 10000 are the usual LDAP and NetYpareo size
   limits) that is smaller than what the index holds for it. A read that
   hit a size limit looks complete but is not.
3. Mass removal of people: the plan takes more than
   ``mass_removal_threshold`` (10 % by default) of the site's active people
   off the site, and more than ``mass_removal_floor`` of them (5 by
   default, so that a small site can lose one person). Taking off means
   suspending, deleting, or, under the keep policy, forgetting the person's
   last tenant.
4. Mass removal of each other entity, with the same threshold and floor,
   each against what the index holds for the site (:data:`COUNTED`): cohorts
   deleted or emptied against the cohorts the farm manages, and cohort
   memberships, enrolments, course-group memberships and role assignments
   removed against those the index holds. A cohort released or archived
   removes nothing (its members keep it, and their courses), so a rentrée
   under ``keep`` or ``archive`` passes; a link that leaves with its person
   or its deleted cohort is never planned on its own, so it is counted once,
   as the person or the cohort.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from farm.index import SiteIndex
from farm.model import Kind
from farm.operation import REMOVING, Action, Category, Operation
from farm.options import CohortRetirementPolicy, PlanOptions
from farm.snapshot import SiteSnapshot

#: A read of a multiple of this many people, at least this many, looks truncated.
SIZE_LIMIT_STEP = 500

_RERUN = "rerun with --allow-mass-removal"

#: The entities rule 4 counts, in the order it checks them, with the words a stop says.
COUNTED: Mapping[Kind, str] = {
    Kind.COHORT: "cohorts (deleted or emptied)",
    Kind.COHORT_MEMBER: "cohort memberships",
    Kind.ENROLMENT: "enrolments",
    Kind.GROUP_MEMBER: "course-group memberships",
    Kind.ROLE_ASSIGNMENT: "role assignments",
}


@dataclass(frozen=True, slots=True)
class SafetyStop:
    """Why a site's run stopped before writing anything, with the figures behind it.

    ``rule`` is ``empty-source``, ``round-count`` or ``mass-removal`` (for
    people), or ``mass-removal-<entity>`` for another :data:`COUNTED` entity
    (``mass-removal-cohort``, ``mass-removal-enrolment``...); ``entity``
    names the kind of record it counted (``person`` for the first three).
    ``tenant`` names the tenant for the first two. ``source_count`` is what
    the source returned (people, or records of the entity) and
    ``index_count`` what the index holds (for the tenant, the site's active
    people, or the entity's records); ``removals`` what the plan would take
    off the site or remove.
    """

    rule: str
    reason: str
    tenant: str | None
    source_count: int
    index_count: int
    removals: int
    threshold: float
    entity: str = Kind.PERSON.value

    def __str__(self) -> str:
        return self.reason


def people_leaving(operations: Sequence[Operation]) -> int:
    """How many people the operations take off the site."""
    return sum(
        1
        for op in operations
        if op.kind is Kind.PERSON
        and (
            op.action in (Action.SUSPEND, Action.DELETE)
            or (op.action is Action.REINDEX and op.category is Category.REMOVE and not op.tenants)
        )
    )


def check_safety(
    site: str,
    snapshot: SiteSnapshot,
    index: SiteIndex,
    operations: Sequence[Operation],
    options: PlanOptions,
) -> SafetyStop | None:
    """The first safety rule the plan breaks, or None when it may run."""
    if options.allow_mass_removal:
        return None
    if not any(op.category is Category.REMOVE for op in operations):
        return None
    people = index.of(Kind.PERSON)
    held_by_tenant: Counter[str] = Counter()
    active = 0
    for entry in people.values():
        if not entry.suspended:
            active += 1
            held_by_tenant.update(entry.tenants)
    leaving = people_leaving(operations)
    threshold = options.mass_removal_threshold
    for tenant in sorted(snapshot.complete):
        read = snapshot.people_read.get(tenant, 0)
        held = held_by_tenant[tenant]
        if read == 0 and held > 0:
            return SafetyStop(
                "empty-source",
                f"the source returned 0 people for {tenant} while the index holds {held} "
                f"on {site}: refusing to remove anything; check the source, or {_RERUN}",
                tenant,
                read,
                held,
                leaving,
                threshold,
            )
        if read >= SIZE_LIMIT_STEP and read % SIZE_LIMIT_STEP == 0 and read < held:
            return SafetyStop(
                "round-count",
                f"the source returned exactly {read} people for {tenant} while the index "
                f"holds {held} on {site}: the read probably hit a size limit; refusing to "
                f"remove anything; raise the source's size limit, or {_RERUN}",
                tenant,
                read,
                held,
                leaving,
                threshold,
            )
    if _too_many(leaving, active, options):
        return SafetyStop(
            "mass-removal",
            f"the plan would take {leaving} of {active} people off {site} "
            f"({leaving / max(active, 1):.0%}, above the {threshold:.0%} threshold): "
            f"refusing; check the source, or {_RERUN}",
            None,
            sum(snapshot.people_read.values()),
            active,
            leaving,
            threshold,
        )
    return _entity_stop(site, snapshot, index, operations, options)


def removals_by_entity(operations: Sequence[Operation], options: PlanOptions) -> Counter[Kind]:
    """What the operations remove of each :data:`COUNTED` entity (rule 4)."""
    emptying = options.cohort_retirement is CohortRetirementPolicy.EMPTY
    found: Counter[Kind] = Counter()
    for op in operations:
        if op.category is not Category.REMOVE:
            continue
        kind = op.kind
        if kind is Kind.COHORT:
            # An emptied cohort is indexed with no tenant; a released one too, but it
            # keeps its members: only the empty policy's re-index removes anything.
            if op.action is Action.DELETE or (
                emptying and op.action is Action.REINDEX and not op.tenants
            ):
                found[kind] += 1
        elif kind in REMOVING and op.action is REMOVING[kind]:
            found[kind] += 1
    return found


def _too_many(removed: int, held: int, options: PlanOptions) -> bool:
    return removed > options.mass_removal_floor and removed > options.mass_removal_threshold * held


def _entity_stop(
    site: str,
    snapshot: SiteSnapshot,
    index: SiteIndex,
    operations: Sequence[Operation],
    options: PlanOptions,
) -> SafetyStop | None:
    """Rule 4: the first entity the plan removes too much of, against what the index holds."""
    removed = removals_by_entity(operations, options)
    threshold = options.mass_removal_threshold
    for kind, label in COUNTED.items():
        count = removed[kind]
        if not count:
            continue
        # What the farm still manages: a released record (no tenant) is no longer its own.
        held = sum(1 for entry in index.of(kind).values() if entry.tenants)
        if not _too_many(count, held, options):
            continue
        return SafetyStop(
            f"mass-removal-{kind.value}",
            f"the plan would remove {count} of {held} {label} on {site} "
            f"({count / max(held, 1):.0%}, above the {threshold:.0%} threshold): "
            f"refusing; check the source, or {_RERUN}",
            None,
            len(snapshot.of(kind)),
            held,
            count,
            threshold,
            kind.value,
        )
    return None
