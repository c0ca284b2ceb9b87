"""A stored plan applied through the distributed executor: the job's spec carries it as JSON."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import anyio
import pytest

from farm.engine.apply_request import ApplyRefused, apply_run
from farm.engine.coordinator import SyncRequest
from farm.engine.distributed.executor import DistributedExecutor
from farm.engine.jobspec import JobSpec
from farm.options import RunOptions
from farm.registry import RunStatus
from farm.simulators.moodle import CostModel
from tests.fixtures.moodle import ServedSimulator
from tests.integration.coordinator import farmkit
from tests.integration.distributed import kit


def test_a_spec_applying_a_stored_plan_travels_as_json_and_comes_back_the_same() -> None:
    spec = JobSpec(7, "site-00", ("0330001K",), RunOptions(apply_plan_of=5, force_stale=True))
    assert JobSpec.from_json(spec.to_json()) == spec
    assert spec.to_json()["options"] == {"apply_plan_of": 5, "force_stale": True}


async def test_a_simulated_plan_is_applied_by_a_worker_exactly_once(
    tmp_path: Path, postgres_url: str, served_moodle: ServedSimulator
) -> None:
    farm = kit.build_farm(tmp_path, served_moodle.base_url, 1)
    for name in farm.sites:
        served_moodle.sim.add_site(
            name, token=farmkit.TOKEN, profile_fields=("uai",), cost=CostModel()
        )
    registry = await anyio.to_thread.run_sync(kit.prepare_registry, postgres_url, farm)
    site = served_moodle.sim.sites["site-00"]
    async with (
        kit.running_worker(postgres_url, registry, farm, people=15),
        kit.coordinator(postgres_url, registry, farm) as (coordinator, app),
    ):

        def executor() -> DistributedExecutor:
            return DistributedExecutor(coordinator.context(), app=app, timeout=120)

        request = SyncRequest(
            tenants=tuple(farm.tenants.values()), options=RunOptions(simulate=True)
        )
        simulated = await coordinator.run(request, executor())
        assert simulated.status is RunStatus.SUCCEEDED
        assert site.live_users() == []
        (stored,) = registry.stored_plans(simulated.run_id)

        applied = await apply_run(coordinator, simulated.run_id, executor=executor())
        with pytest.raises(
            ApplyRefused, match=f"already applied: site site-00 by run {applied.run_id}"
        ):
            await apply_run(coordinator, simulated.run_id, executor=executor())

    assert applied.status is RunStatus.SUCCEEDED, applied
    assert len(site.live_users()) == 30
    planned = Counter(f"{op.kind}.{op.action}" for op in stored.operations)
    done: Counter[str] = Counter()
    for outcome in applied.tenants.values():
        done.update(outcome.counts)
    assert planned["person.create"] == 30
    assert done == planned
    run = registry.get_run(applied.run_id)
    assert run.selection["applies"] == simulated.run_id
    assert run.options["apply_plan_of"] == simulated.run_id
    (after,) = registry.stored_plans(simulated.run_id)
    assert after.applied_by == applied.run_id
    registry.close()
