"""A sync run through a worker in another process, against the Moodle simulator on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio

from farm.engine.coordinator import SyncRequest
from farm.engine.distributed.executor import DistributedExecutor
from farm.engine.events import Phase
from farm.registry import RunStatus
from tests.fixtures.moodle import ServedSimulator
from tests.integration.coordinator import farmkit
from tests.integration.distributed import kit

ROOT = Path(__file__).resolve().parents[3]
PEOPLE = 30


def start_worker(
    url: str, served: ServedSimulator, sites: int, *, people: int = PEOPLE, ttl: float = 30
) -> subprocess.Popen[str]:
    """A worker process on the farm of :mod:`kit`, once it said it is ready."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.distributed.worker",
            url,
            served.base_url,
            "--sites",
            str(sites),
            "--people",
            str(people),
            "--ttl",
            str(ttl),
        ],
        cwd=ROOT,
        env={**os.environ, farmkit.TOKEN_ENV: farmkit.TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr.read()  # type: ignore[union-attr]
    return process


async def local_run(tmp_path: Path, sites: int) -> dict[str, dict[str, int]]:
    """The same farm synced by the local executor, for comparison: counts per tenant."""
    farm = kit.build_farm(tmp_path, "http://moodle.local", sites)
    sim = farmkit.simulator(farm)
    registry = farmkit.open_registry(f"sqlite:///{tmp_path / 'local.db'}")
    run = farmkit.coordinator(
        farm,
        registry,
        farmkit.Recorder(),
        farmkit.static_source(farm, PEOPLE),
        transport=sim.transport(),
    )
    result = await run.run(SyncRequest(tenants=tuple(farm.tenants.values())))
    assert result.status is RunStatus.SUCCEEDED
    registry.close()
    return {t: dict(o.counts) for t, o in result.tenants.items()}


async def test_a_run_through_a_worker_process_matches_the_local_executor(
    tmp_path: Path, postgres_url: str, served_moodle: ServedSimulator
) -> None:
    farm = kit.build_farm(tmp_path, served_moodle.base_url, sites=2)
    for name in farm.sites:
        served_moodle.sim.add_site(name, token=farmkit.TOKEN, profile_fields=("uai",))
    registry = await anyio.to_thread.run_sync(kit.prepare_registry, postgres_url, farm)
    worker = await anyio.to_thread.run_sync(start_worker, postgres_url, served_moodle, 2)
    try:
        async with kit.coordinator(postgres_url, registry, farm) as (coordinator, app):
            request = SyncRequest(tenants=tuple(farm.tenants.values()))
            first = await coordinator.run(
                request, DistributedExecutor(coordinator.context(), app=app, timeout=120)
            )
            again = await coordinator.run(
                request, DistributedExecutor(coordinator.context(), app=app, timeout=120)
            )
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = await anyio.to_thread.run_sync(lambda: worker.communicate(timeout=30))
    assert worker.returncode == 0, errors

    assert first.status is RunStatus.SUCCEEDED, first.reason
    assert {t: o.phase for t, o in first.tenants.items()} == dict.fromkeys(
        farm.tenants, Phase.SUCCEEDED
    )
    # Same counts as the local executor on the same farm, tenant by tenant.
    assert {t: dict(o.counts) for t, o in first.tenants.items()} == await local_run(
        tmp_path, sites=2
    )
    for name in farm.sites:
        live = {u.idnumber for u in served_moodle.sim.sites[name].live_users()}
        assert len(live) == 2 * PEOPLE
        indexed = {e.values.get("idnumber") for e in registry.index_entries(name, "person")}
        assert indexed == live
    report = registry.get_report(first.run_id)
    assert sorted(r.tenant for r in report.tenants) == sorted(farm.tenants)
    assert registry.get_run(first.run_id).status is RunStatus.SUCCEEDED
    # The second run wrote nothing: the worker's index made it differential.
    assert again.status is RunStatus.SUCCEEDED
    assert not any(k.endswith(".create") for o in again.tenants.values() for k in o.counts)
    assert registry.leases() == []
    registry.close()
