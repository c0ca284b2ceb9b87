"""A cohort scope plans one family of cohorts and leaves the others exactly as they are."""

from __future__ import annotations

from farm.cohort_scope import in_scope
from farm.model import Cohort, CohortMembership, Kind

from .factory import PREFIX, actions, person, plan, synced, tenant

CFA = "cfa-34"
GROUP = f"{PREFIX}netypareo:{CFA}:group:BTS1"
PDGROUP = f"{PREFIX}netypareo:{CFA}:pdgroup:CQP"
GROUPS = "netypareo:*:group:*"


def test_a_scope_is_a_glob_past_the_farm_prefix() -> None:
    assert in_scope(GROUPS, PREFIX, GROUP)
    assert not in_scope(GROUPS, PREFIX, PDGROUP)
    assert not in_scope(GROUPS, "other:", GROUP)  # without the farm's prefix, never


def test_a_scoped_run_neither_plans_nor_removes_the_other_family() -> None:
    people = [person(1, tenants=[CFA]), person(2, tenants=[CFA])]
    first = tenant(
        CFA,
        people,
        cohorts=[Cohort(GROUP, "BTS 1"), Cohort(PDGROUP, "CQP")],
        members=[CohortMembership(GROUP, "sdet:1"), CohortMembership(PDGROUP, "sdet:2")],
    )
    index = synced(first)
    # The groups task reads the groups only: one renamed, a learner moved in.
    groups_only = tenant(
        CFA,
        people,
        cohorts=[Cohort(GROUP, "BTS 1 (Montpellier)")],
        members=[CohortMembership(GROUP, "sdet:1"), CohortMembership(GROUP, "sdet:2")],
    )

    scoped = plan(index, groups_only, cohort_scope=GROUPS)
    unscoped = plan(index, groups_only)

    assert actions(scoped) == [
        (Kind.COHORT, "update", GROUP),
        (Kind.COHORT_MEMBER, "add", f"{GROUP}|sdet:2"),
    ]
    # Without the scope the continuing-education cohort looked dropped by the source.
    assert any(PDGROUP in key for _, _, key in actions(unscoped))
