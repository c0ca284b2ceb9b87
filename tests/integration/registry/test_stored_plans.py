"""Stored plans in the registry, on SQLite and PostgreSQL: kept whole, read back, applied once."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from farm.index import SiteIndex
from farm.model import Cohort, CohortMembership
from farm.registry import Registry, RunTrigger, UnknownRun, UnknownStoredPlan
from farm.stored_plan import PlanAlreadyApplied, StoredPlan
from tests.unit.plan.factory import PREFIX, person, plan, synced, tenant

UAI = "0290009C"


def simulated(registry: Registry) -> int:
    return registry.start_run(trigger=RunTrigger.BATCH, simulated=True)


def a_plan(run_id: int, site: str = "lycee") -> StoredPlan:
    people = [person(n) for n in range(3)]
    cohort = Cohort(f"{PREFIX}c1", "Class 1")
    index = synced(tenant(UAI, people[:2], cohorts=[cohort]))
    source = tenant(
        UAI,
        [person(0, lastname="RENAMED"), *people[1:]],
        cohorts=[cohort],
        members=[CohortMembership(cohort.key, p.key) for p in people],
    )
    planned = plan(index, source, simulate=True)
    assert planned.operations
    return replace(StoredPlan.of_plan(run_id, [UAI], planned), site=site)


def test_a_plan_is_kept_whole_and_read_back_equal(registry: Registry) -> None:
    run = simulated(registry)
    stored = a_plan(run)

    kept = registry.store_plan(stored)
    (back,) = registry.stored_plans(run)

    assert kept.created_at is not None
    assert back.created_at == kept.created_at
    assert back.applied_by is None
    assert back.operations == stored.operations
    assert back.options == stored.options
    assert back.tenants == (UAI,)
    assert back == kept
    assert registry.stored_plan(run, "lycee") == kept
    assert timedelta(0) <= back.age(registry.registry_time()) < timedelta(minutes=5)


def test_plans_are_kept_per_site_and_storing_again_replaces(registry: Registry) -> None:
    run = simulated(registry)
    registry.store_plan(a_plan(run, "lycee"))
    registry.store_plan(a_plan(run, "college"))
    empty = StoredPlan.of_plan(run, [UAI], plan(SiteIndex(), tenant(UAI, [])))
    registry.store_plan(replace(empty, site="college"))

    found = {p.site: p for p in registry.stored_plans(run)}

    assert sorted(found) == ["college", "lycee"]
    assert found["college"].operations == ()
    assert found["lycee"].operations
    assert [p.site for p in registry.stored_plans(run, "lycee")] == ["lycee"]
    assert registry.stored_plans(simulated(registry)) == []


def test_a_plan_is_applied_at_most_once_naming_the_run_that_applied_it(
    registry: Registry,
) -> None:
    run = simulated(registry)
    registry.store_plan(a_plan(run))
    first = registry.start_run(trigger=RunTrigger.BATCH)
    second = registry.start_run(trigger=RunTrigger.BATCH)

    registry.claim_stored_plan(run, "lycee", by_run=first)
    with pytest.raises(PlanAlreadyApplied, match=f"already applied by run {first}") as refused:
        registry.claim_stored_plan(run, "lycee", by_run=second)

    assert refused.value.applied_by == first
    (back,) = registry.stored_plans(run)
    assert back.applied_by == first
    assert back.applied_at is not None


def test_two_runs_claiming_at_once_one_wins(registry: Registry) -> None:
    run = simulated(registry)
    registry.store_plan(a_plan(run))
    claimants = [registry.start_run(trigger=RunTrigger.BATCH) for _ in range(6)]
    won: list[int] = []
    lost: list[int] = []
    start = threading.Barrier(len(claimants))

    def claim(by: int) -> None:
        start.wait()
        try:
            registry.claim_stored_plan(run, "lycee", by_run=by)
            won.append(by)
        except PlanAlreadyApplied as error:
            lost.append(error.applied_by)

    threads = [threading.Thread(target=claim, args=(by,)) for by in claimants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1
    assert lost == [won[0]] * (len(claimants) - 1)


def test_unknown_runs_and_plans_are_named(registry: Registry) -> None:
    with pytest.raises(UnknownRun):
        registry.store_plan(a_plan(4242))
    run = simulated(registry)
    with pytest.raises(UnknownStoredPlan, match=f"run {run} stored no plan for site lycee"):
        registry.stored_plan(run, "lycee")
    with pytest.raises(UnknownStoredPlan):
        registry.claim_stored_plan(run, "lycee", by_run=run)
