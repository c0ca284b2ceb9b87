"""The mass-removal rule for every entity, not only people (:mod:`farm.safety`, rule 4).

A source that still lists everyone but lost its classes, its courses or its
functions would otherwise unenrol a school in one run. Each entity is
counted against what the index holds for the site, with the threshold and
floor people have; the stop names the entity and the figures, and
``--allow-mass-removal`` lets the run through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Group,
    GroupMembership,
    Kind,
    Person,
    RoleAssignment,
    TenantSnapshot,
)
from farm.operation import Action
from farm.plan import Plan
from farm.safety import COUNTED, removals_by_entity

from .factory import PREFIX, apply, person, plan, synced, tenant

A = "0290009C"
PEOPLE = [person(n) for n in range(1, 41)]
GROUP = Group("MATHS-2NDE1", f"{PREFIX}{A}:2NDE1", "2NDE1")


def cohorts(n: int) -> list[Cohort]:
    return [Cohort(f"{PREFIX}{A}:C{i}", f"Classe {i}") for i in range(n)]


def with_members(people: Sequence[Person]) -> TenantSnapshot:
    (cohort,) = cohorts(1)
    return tenant(
        A, PEOPLE, cohorts=[cohort], members=[CohortMembership(cohort.key, p.key) for p in people]
    )


def with_enrolments(people: Sequence[Person]) -> TenantSnapshot:
    return tenant(A, PEOPLE, enrolments=[Enrolment("MATHS-2NDE1", p.key) for p in people])


def with_group_members(people: Sequence[Person]) -> TenantSnapshot:
    return tenant(
        A,
        PEOPLE,
        enrolments=[Enrolment("MATHS-2NDE1", p.key) for p in PEOPLE],
        groups=[GROUP],
        group_members=[GroupMembership(GROUP.course, GROUP.idnumber, p.key) for p in people],
    )


def with_roles(people: Sequence[Person]) -> TenantSnapshot:
    return tenant(A, PEOPLE, roles=[RoleAssignment(p.key, "manager") for p in people])


#: Each link entity: the tenant holding it for ``people``.
LINKS: dict[Kind, Callable[[Sequence[Person]], TenantSnapshot]] = {
    Kind.COHORT_MEMBER: with_members,
    Kind.ENROLMENT: with_enrolments,
    Kind.GROUP_MEMBER: with_group_members,
    Kind.ROLE_ASSIGNMENT: with_roles,
}


def stopped(result: Plan) -> tuple[str, str, int, int]:
    assert result.blocked is not None, "the run was not stopped"
    stop = result.blocked
    return stop.rule, stop.entity, stop.removals, stop.index_count


@pytest.mark.parametrize("kind", list(LINKS))
def test_losing_most_of_a_link_entity_stops_the_run_and_names_it(kind: Kind) -> None:
    made = LINKS[kind]
    index = synced(made(PEOPLE))

    result = plan(index, made(PEOPLE[:10]))

    # Everyone stays on the site: only the links go, 30 of 40.
    assert stopped(result) == (f"mass-removal-{kind.value}", kind.value, 30, 40)
    assert result.operations == ()
    assert result.blocked is not None
    assert result.blocked.reason == (
        f"the plan would remove 30 of 40 {COUNTED[kind]} on lycee.example.fr (75%, above the "
        "10% threshold): refusing; check the source, or rerun with --allow-mass-removal"
    )
    assert not [op for op in result.withheld if op.kind is Kind.PERSON]


@pytest.mark.parametrize("kind", list(LINKS))
def test_allow_mass_removal_lets_a_link_entity_go(kind: Kind) -> None:
    made = LINKS[kind]
    index = synced(made(PEOPLE))

    result = plan(index, made(PEOPLE[:10]), allow_mass_removal=True)

    assert result.blocked is None
    assert len([op for op in result.operations if op.kind is kind]) == 30


@pytest.mark.parametrize("kind", list(LINKS))
def test_a_few_links_below_the_threshold_or_the_floor_go(kind: Kind) -> None:
    made = LINKS[kind]
    index = synced(made(PEOPLE))

    # 4 of 40 (10 %, not above it); 5 of 10 (above it, not above the floor of 5); then 6.
    assert plan(index, made(PEOPLE[4:])).blocked is None
    small = synced(made(PEOPLE[:10]))
    assert plan(small, made(PEOPLE[5:10])).blocked is None
    assert plan(small, made(PEOPLE[6:10])).blocked is not None


def test_the_threshold_is_the_sites_for_links_too() -> None:
    index = synced(with_enrolments(PEOPLE))

    assert plan(index, with_enrolments(PEOPLE[:20]), mass_removal_threshold=0.6).blocked is None
    stop = plan(index, with_enrolments(PEOPLE[:20]), mass_removal_threshold=0.4).blocked
    assert stop is not None
    assert "above the 40% threshold" in stop.reason


def test_deleting_most_cohorts_stops_the_run() -> None:
    index = synced(tenant(A, PEOPLE, cohorts=cohorts(20)))

    result = plan(index, tenant(A, PEOPLE, cohorts=cohorts(20)[:8]), cohort_retirement="delete")

    assert stopped(result) == ("mass-removal-cohort", "cohort", 12, 20)
    assert "12 of 20 cohorts (deleted or emptied)" in str(result.blocked)
    allowed = plan(
        index,
        tenant(A, PEOPLE, cohorts=cohorts(20)[:8]),
        cohort_retirement="delete",
        allow_mass_removal=True,
    )
    assert len([op for op in allowed.operations if op.action is Action.DELETE]) == 12


def test_emptying_most_cohorts_stops_the_run_but_releasing_them_does_not() -> None:
    index = synced(tenant(A, PEOPLE, cohorts=cohorts(20)))
    rentree = tenant(A, PEOPLE)

    emptied = plan(index, rentree, cohort_retirement="empty")

    assert stopped(emptied) == ("mass-removal-cohort", "cohort", 20, 20)
    for policy in ("keep", "archive"):
        assert plan(index, rentree, cohort_retirement=policy).blocked is None


def test_released_cohorts_are_no_longer_what_the_index_holds() -> None:
    """Once released (no tenant), last year's cohorts no longer count in the site's figures."""
    index = synced(tenant(A, PEOPLE, cohorts=cohorts(20)))
    rentree = plan(index, tenant(A, PEOPLE, cohorts=cohorts(20)[:2]))
    assert rentree.blocked is None
    released = apply(index, rentree)

    result = plan(released, tenant(A, PEOPLE), cohort_retirement="delete", mass_removal_floor=1)

    # The two the farm still manages, not the twenty the index holds.
    assert stopped(result) == ("mass-removal-cohort", "cohort", 2, 2)


def test_people_leaving_take_their_links_without_a_second_stop() -> None:
    """A person's links follow them: only the people rule counts a person leaving."""
    index = synced(with_enrolments(PEOPLE))
    leaving = tenant(
        A, PEOPLE[:36], enrolments=[Enrolment("MATHS-2NDE1", p.key) for p in PEOPLE[:36]]
    )

    result = plan(index, leaving)

    assert result.blocked is None
    assert removals_by_entity(result.operations, result.options)[Kind.ENROLMENT] == 0


def test_the_people_rule_is_checked_first() -> None:
    index = synced(with_enrolments(PEOPLE))

    result = plan(index, tenant(A, PEOPLE[:10]))

    assert stopped(result)[:2] == ("mass-removal", "person")
