"""Cité scolaire and partial reads: a run only removes what its complete reads disprove."""

from __future__ import annotations

from farm.index import SiteIndex
from farm.model import Cohort, CohortMembership, Kind, Person

from .factory import PREFIX, actions, apply, person, plan, synced, tenant

A, B = "0290009C", "0290010D"


def both() -> tuple[list[Person], list[Person]]:
    shared = person("shared", tenants=(A, B))
    only_a = [person(n, tenants=(A,)) for n in range(1, 40)]
    only_b = [person(n, tenants=(B,)) for n in range(40, 80)]
    return [shared, *only_a], [shared, *only_b]


def test_a_person_of_two_establishments_is_one_account_with_both_tenants() -> None:
    in_a, in_b = both()

    result = plan(SiteIndex(), tenant(A, in_a), tenant(B, in_b))

    creates = [op for op in result.operations if op.key == "sdet:shared"]
    assert len(creates) == 1
    assert creates[0].tenants == {A, B}


def test_a_run_of_one_tenant_only_takes_that_tenant_off() -> None:
    in_a, in_b = both()
    index = synced(tenant(A, in_a), tenant(B, in_b))

    # The shared person left A but is still in B: only the tag changes.
    result = plan(index, tenant(A, in_a[1:]))

    assert actions(result) == [(Kind.PERSON, "reindex", "sdet:shared")]
    assert result.operations[0].tenants == {B}
    after = apply(index, result)
    assert plan(after, tenant(A, in_a[1:])).operations == ()


def test_a_person_dropped_by_every_tenant_is_suspended() -> None:
    in_a, in_b = both()
    index = synced(tenant(A, in_a), tenant(B, in_b))
    index = apply(index, plan(index, tenant(A, in_a[1:])))

    result = plan(index, tenant(B, in_b[1:]))

    assert actions(result) == [(Kind.PERSON, "suspend", "sdet:shared")]


def test_records_of_other_tenants_are_never_removed_by_a_run() -> None:
    in_a, in_b = both()
    index = synced(tenant(A, in_a), tenant(B, in_b))

    # A run of A whose source lost everyone of B (they were never in A).
    result = plan(index, tenant(A, in_a))

    assert result.operations == ()


def test_an_incomplete_read_never_removes() -> None:
    in_a, _ = both()
    cohort = Cohort(f"{PREFIX}A1", "A1")
    members = [CohortMembership(cohort.key, p.source_key) for p in in_a]
    index = synced(tenant(A, in_a, cohorts=[cohort], members=members))

    delta = tenant(A, [person(1, tenants=(A,), lastname="New")], complete=False)
    result = plan(index, delta)

    assert actions(result) == [(Kind.PERSON, "update", "sdet:1")]


def test_an_incomplete_read_keeps_the_other_tenants_of_a_record() -> None:
    shared = person("shared", tenants=(A, B))
    index = synced(tenant(A, [shared]), tenant(B, [shared]))

    result = plan(
        index, tenant(A, [person("shared", tenants=(A, B), lastname="X")], complete=False)
    )

    (op,) = result.operations
    assert op.tenants == {A, B}


def test_a_person_joining_a_second_establishment_gains_the_tenant() -> None:
    index = synced(tenant(A, [person(1, tenants=(A,))]))

    result = plan(index, tenant(B, [person(1, tenants=(A, B))]))

    (op,) = result.operations
    assert op.kind is Kind.PERSON
    assert op.tenants == {A, B}
