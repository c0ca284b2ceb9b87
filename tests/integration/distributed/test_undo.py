"""``farm undo`` through the distributed executor: a worker applies the undo's stored plan."""

from __future__ import annotations

from pathlib import Path

import anyio

from farm.engine.coordinator import SyncRequest
from farm.engine.distributed.executor import DistributedExecutor
from farm.engine.jobspec import JobSpec
from farm.engine.undo_request import undo_run
from farm.options import RunOptions
from farm.registry import RunStatus
from farm.simulators.moodle import CostModel
from farm.undo import CreatedPolicy
from tests.fixtures.moodle import ServedSimulator
from tests.integration.coordinator import farmkit
from tests.integration.distributed import kit


def test_the_spec_of_an_undo_s_apply_says_which_run_it_takes_back() -> None:
    spec = JobSpec(9, "site-00", ("0330001K",), RunOptions(apply_plan_of=8, undo_of=7))
    assert JobSpec.from_json(spec.to_json()) == spec
    assert spec.to_json()["options"] == {"apply_plan_of": 8, "undo_of": 7}


async def test_a_worker_applies_the_undo_of_a_first_sync(
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

        request = SyncRequest(tenants=tuple(farm.tenants.values()))
        first = await coordinator.run(request, executor())
        assert first.status is RunStatus.SUCCEEDED
        assert len(site.live_users()) == 30

        # Every account of the site goes: a mass removal, which the undo must be allowed.
        stopped = await undo_run(
            coordinator, first.run_id, apply=True, created=CreatedPolicy.DELETE,
            executor=executor(),
        )  # fmt: skip
        assert stopped.applied is None
        assert stopped.simulation.blocked
        undone = await undo_run(
            coordinator, first.run_id, apply=True, created=CreatedPolicy.DELETE,
            allow_mass_removal=True, executor=executor(),
        )  # fmt: skip

    assert undone.applied is not None
    assert undone.applied.status is RunStatus.SUCCEEDED, undone.applied
    assert site.live_users() == []
    assert site.cohorts == {}
    run = registry.get_run(undone.applied.run_id)
    assert run.options["undo_of"] == first.run_id
    assert run.selection["applies"] == undone.simulation.run_id
    assert len(registry.site_index("site-00")) == 0
    registry.close()
