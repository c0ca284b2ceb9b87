"""Small builders for planner tests: people, tenant snapshots, and a fake applier."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import count

from farm.index import SiteIndex, apply_confirmed
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Group,
    GroupMembership,
    Kind,
    Person,
    Profile,
    RoleAssignment,
    TenantSnapshot,
)
from farm.options import PlanOptions
from farm.plan import Plan, plan_site
from farm.site_rules import SiteRules
from farm.snapshot import merge_site

PREFIX = "farm_"
_ids = count(1000)


def person(
    n: int | str,
    *,
    tenants: Iterable[str] = ("0290009C",),
    profile: Profile = Profile.STUDENT,
    **changes: object,
) -> Person:
    values: dict[str, object] = {
        "source_key": f"sdet:{n}",
        "username": f"user{n}",
        "idnumber": f"id{n}",
        "firstname": "Anne",
        "lastname": f"Martin{n}",
        "email": f"user{n}@example.fr",
        "profiles": frozenset({profile}),
        "establishments": frozenset(tenants),
    }
    values.update(changes)
    return Person(**values)  # type: ignore[arg-type]


def tenant(
    uai: str,
    people: Sequence[Person] = (),
    *,
    cohorts: Sequence[Cohort] = (),
    members: Sequence[CohortMembership] = (),
    enrolments: Sequence[Enrolment] = (),
    groups: Sequence[Group] = (),
    group_members: Sequence[GroupMembership] = (),
    roles: Sequence[RoleAssignment] = (),
    complete: bool = True,
) -> TenantSnapshot:
    return TenantSnapshot(
        uai,
        people=tuple(people),
        cohorts=tuple(cohorts),
        cohort_members=tuple(members),
        enrolments=tuple(enrolments),
        groups=tuple(groups),
        group_members=tuple(group_members),
        role_assignments=tuple(roles),
        complete=complete,
    )


def options(**values: object) -> PlanOptions:
    values.setdefault("cohort_prefix", PREFIX)
    return PlanOptions(**values)  # type: ignore[arg-type]


def plan(index: SiteIndex, *snapshots: TenantSnapshot, **opts: object) -> Plan:
    """Plan ``snapshots``; ``rules=SiteRules(...)`` sets the site's rules, the rest are options."""
    rules = opts.pop("rules", None)
    assert rules is None or isinstance(rules, SiteRules)
    return plan_site("lycee.example.fr", merge_site(snapshots), index, options(**opts), rules)


def apply(index: SiteIndex, result: Plan) -> SiteIndex:
    """What the applier does when Moodle confirms every operation: new ids for creations."""
    ids = {
        (op.kind, op.key): next(_ids)
        for op in result.operations
        if op.kind.has_moodle_id and op.previous is None
    }
    return apply_confirmed(index, result.operations, ids)


def synced(*snapshots: TenantSnapshot, **opts: object) -> SiteIndex:
    """The index after a first full run of ``snapshots`` on an empty site."""
    return apply(SiteIndex(), plan(SiteIndex(), *snapshots, **opts))


def actions(result: Plan) -> list[tuple[Kind, str, str]]:
    """(kind, action, key) of each operation, in plan order."""
    return [(op.kind, str(op.action), op.key) for op in result.operations]
