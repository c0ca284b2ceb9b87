"""Simulate, then apply the stored plan through the coordinator: the call the dashboard makes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from farm.engine.apply_request import ApplyRefused, apply_request, apply_run
from farm.engine.coordinator import SyncRequest
from farm.options import RunOptions
from farm.registry import Registry, RunStatus, RunTrigger
from tests.integration.coordinator import farmkit


async def test_a_simulation_of_two_sites_is_applied_as_one_linked_run(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=2)
    sim = farmkit.simulator(farm)
    coordinator = farmkit.coordinator(
        farm,
        registry,
        farmkit.Recorder(),
        farmkit.static_source(farm, 12),
        transport=sim.transport(),
    )
    tenants = tuple(farm.tenants.values())
    simulated = await coordinator.run(
        SyncRequest(tenants=tenants, options=RunOptions(simulate=True), trigger=RunTrigger.BATCH)
    )
    assert simulated.status is RunStatus.SUCCEEDED
    assert all(not site.live_users() for site in sim.sites.values())
    assert {p.site for p in registry.stored_plans(simulated.run_id)} == set(farm.sites)

    applied = await apply_run(coordinator, simulated.run_id)

    assert applied.status is RunStatus.SUCCEEDED
    assert all(len(site.live_users()) == 24 for site in sim.sites.values())
    run = registry.get_run(applied.run_id)
    assert (run.trigger, run.simulated) == (RunTrigger.BATCH, False)
    assert run.selection["applies"] == simulated.run_id
    assert sorted(run.selection["tenants"]) == sorted(t.id for t in tenants)
    assert {p.applied_by for p in registry.stored_plans(simulated.run_id)} == {applied.run_id}
    rerun = await coordinator.run(SyncRequest(tenants=tenants))
    assert all(o.counts == {} for o in rerun.tenants.values())


async def test_a_targeted_simulation_is_applied_as_a_targeted_run_of_the_same_ground(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=1)
    sim = farmkit.simulator(farm)
    source = farmkit.static_source(farm, 5)
    coordinator = farmkit.coordinator(
        farm, registry, farmkit.Recorder(), source, transport=sim.transport()
    )
    tenant = next(iter(farm.tenants.values()))
    person = source.snapshots[tenant.id].people[0]
    simulated = await coordinator.run(
        SyncRequest(
            tenants=(tenant,),
            options=RunOptions(simulate=True, person=person.username),
            trigger=RunTrigger.TARGETED,
            selection={"user": [person.username]},
        )
    )

    request = apply_request(farm, registry, simulated.run_id)

    assert request.trigger is RunTrigger.TARGETED
    assert request.options.person == person.username
    assert request.options.apply_plan_of == simulated.run_id
    assert not request.options.simulate
    assert request.selection["user"] == [person.username]
    applied = await coordinator.run(request)
    assert applied.status is RunStatus.SUCCEEDED
    assert [u.username for u in sim.sites[tenant.site].live_users()] == [person.username]


async def test_what_cannot_be_applied_is_refused_before_a_run_is_recorded(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=1)
    sim = farmkit.simulator(farm)
    coordinator = farmkit.coordinator(
        farm,
        registry,
        farmkit.Recorder(),
        farmkit.static_source(farm, 3),
        transport=sim.transport(),
    )
    tenants = tuple(farm.tenants.values())
    simulated = await coordinator.run(
        SyncRequest(tenants=tenants, options=RunOptions(simulate=True))
    )
    runs = len(registry.list_runs())

    stale = replace(farm, settings=replace(farm.settings, plan_max_age=timedelta(0)))
    with pytest.raises(ApplyRefused, match=r"older than plan_max_age \(0 min\).*--force-stale"):
        apply_request(stale, registry, simulated.run_id)
    assert apply_request(stale, registry, simulated.run_id, force_stale=True).options.force_stale
    first = tenants[0]
    moved = replace(farm, tenants={**farm.tenants, first.id: replace(first, site="elsewhere")})
    with pytest.raises(ApplyRefused, match=f"tenant {first.id} is now on site elsewhere"):
        apply_request(moved, registry, simulated.run_id)
    gone = replace(farm, tenants={k: v for k, v in farm.tenants.items() if k != first.id})
    with pytest.raises(ApplyRefused, match="no longer in the farm's configuration"):
        apply_request(gone, registry, simulated.run_id)
    replanning = apply_request(farm, registry, simulated.run_id, replan_drifted=True)
    assert replanning.options.simulate
    assert replanning.selection["replans"] == simulated.run_id
    assert len(registry.list_runs()) == runs
