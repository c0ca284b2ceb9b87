"""A worker killed mid-job: its job is failed by another worker, and a rerun converges."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import anyio

from farm.engine.coordinator import RunResult, SyncRequest
from farm.engine.distributed.executor import DistributedExecutor
from farm.engine.events import Phase
from farm.engine.leases import LeasePolicy
from farm.registry import RunStatus
from farm.simulators.moodle import CostModel
from tests.fixtures.moodle import ServedSimulator
from tests.integration.coordinator import farmkit
from tests.integration.distributed import kit
from tests.integration.distributed.test_worker_process import start_worker

PEOPLE = 150


async def test_a_killed_worker_job_fails_then_a_rerun_converges(
    tmp_path: Path, postgres_url: str, served_moodle: ServedSimulator
) -> None:
    farm = kit.build_farm(tmp_path, served_moodle.base_url, sites=1)
    served_moodle.sim.add_site(
        "site-00", token=farmkit.TOKEN, profile_fields=("uai",), cost=CostModel(per_call=0.2)
    )
    site = served_moodle.sim.sites["site-00"]
    registry = await anyio.to_thread.run_sync(kit.prepare_registry, postgres_url, farm)
    doomed = await anyio.to_thread.run_sync(
        lambda: start_worker(postgres_url, served_moodle, 1, people=PEOPLE, ttl=4)
    )
    request = SyncRequest(tenants=tuple(farm.tenants.values()))
    results: list[RunResult] = []
    first_done = anyio.Event()
    async with kit.coordinator(postgres_url, registry, farm) as (coordinator, app):

        async def sync(leases: LeasePolicy | None = None) -> None:
            executor = DistributedExecutor(
                coordinator.context(), app=app, leases=leases, timeout=120, poll=0.2
            )
            results.append(await coordinator.run(request, executor))
            first_done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(sync)
            deadline = time.monotonic() + 60
            while not site.live_users():
                assert time.monotonic() < deadline, "the worker never started writing"
                await anyio.sleep(0.05)
            doomed.send_signal(signal.SIGKILL)
            await anyio.to_thread.run_sync(lambda: doomed.wait(timeout=10))
            # Another worker notices the silent one and fails its job.
            async with kit.running_worker(postgres_url, registry, farm, PEOPLE, ttl=4):
                with anyio.fail_after(60):
                    await first_done.wait()
                killed = results[0]
                # The rerun waits for the dead worker's leases to expire, then converges.
                site.cost = CostModel()
                await sync(LeasePolicy(wait=True))

    assert killed.status is RunStatus.FAILED
    for outcome in killed.tenants.values():
        assert outcome.phase is Phase.FAILED
        assert "stopped answering" in outcome.reason
    rerun = results[1]
    assert rerun.status is RunStatus.SUCCEEDED, rerun.reason
    ids = [u.idnumber for u in site.live_users()]
    assert len(ids) == len(set(ids)) == 2 * PEOPLE
    indexed = {e.values.get("idnumber") for e in registry.index_entries("site-00", "person")}
    assert indexed == set(ids)
    assert registry.leases() == []
    registry.close()
