"""The queue's rules: one job per site at a time, a tenant set queued once, no worker, SQLite."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from farm.config import Farm
from farm.engine.coordinator import RunResult, SyncRequest
from farm.engine.distributed.errors import DistributedUnavailable
from farm.engine.distributed.executor import DistributedExecutor
from farm.engine.distributed.queue import AlreadyQueued, conninfo_of, defer_job
from farm.engine.events import Event, EventKind, Phase
from farm.engine.jobspec import JobSpec
from farm.engine.schedule import task_options
from farm.registry import Registry, RunStatus, RunTrigger
from farm.simulators.moodle import CostModel
from tests.fixtures.moodle import ServedSimulator
from tests.integration.coordinator import farmkit
from tests.integration.distributed import kit


async def prepare(
    tmp_path: Path, url: str, served: ServedSimulator, sites: int = 1, per_call: float = 0.0
) -> tuple[Farm, Registry]:
    farm = kit.build_farm(tmp_path, served.base_url, sites)
    for name in farm.sites:
        served.sim.add_site(
            name, token=farmkit.TOKEN, profile_fields=("uai",), cost=CostModel(per_call=per_call)
        )
    return farm, await anyio.to_thread.run_sync(kit.prepare_registry, url, farm)


async def test_the_site_lock_runs_two_jobs_of_one_site_one_after_the_other(
    tmp_path: Path, postgres_url: str, served_moodle: ServedSimulator
) -> None:
    farm, registry = await prepare(tmp_path, postgres_url, served_moodle, per_call=0.05)
    first_tenant, second_tenant = sorted(farm.tenants)
    results: list[RunResult] = []
    async with (
        kit.running_worker(postgres_url, registry, farm, people=40),
        kit.coordinator(postgres_url, registry, farm) as (coordinator, app),
    ):

        async def sync(tenant: str) -> None:
            request = SyncRequest(tenants=(farm.tenants[tenant],))
            executor = DistributedExecutor(coordinator.context(), app=app, timeout=120)
            results.append(await coordinator.run(request, executor))

        # Two runs, one tenant each, same site: two jobs with different queueing
        # locks and the same site lock, and a worker free to run two jobs at once.
        async with anyio.create_task_group() as group:
            group.start_soon(sync, first_tenant)
            group.start_soon(sync, second_tenant)

    assert [r.status for r in results] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
    spans = []
    for result in results:
        rows = registry.events_since(0, run_id=result.run_id)
        busy = [
            row.id
            for row in rows
            if (event := Event.from_json(row.payload)).kind is EventKind.PROGRESS
            or event.phase in (Phase.READING, Phase.APPLYING, Phase.SUCCEEDED, Phase.WAITING)
        ]
        assert not any(Event.from_json(row.payload).phase is Phase.WAITING for row in rows), (
            "the second job reached the leases: the queue let both run"
        )
        spans.append((min(busy), max(busy)))
    # Events of one worker are recorded in order: whichever job ran second began after
    # the first ended.
    spans.sort()
    assert spans[0][1] < spans[1][0]
    assert len(served_moodle.sim.sites["site-00"].live_users()) == 80
    registry.close()


async def test_the_same_tenants_are_never_queued_twice(
    tmp_path: Path, postgres_url: str, served_moodle: ServedSimulator
) -> None:
    farm, registry = await prepare(tmp_path, postgres_url, served_moodle)
    tenants = tuple(sorted(farm.tenants))
    async with kit.coordinator(postgres_url, registry, farm) as (coordinator, app):
        # No worker runs: the first job stays in the queue.
        run_id = registry.start_run(trigger=RunTrigger.BATCH)
        spec = JobSpec(run_id=run_id, site="site-00", tenants=tenants)
        await defer_job(app, spec)
        with pytest.raises(AlreadyQueued, match="already queued"):
            await defer_job(app, JobSpec(run_id=run_id, site="site-00", tenants=tenants[::-1]))

        result = await coordinator.run(
            SyncRequest(tenants=tuple(farm.tenants.values())),
            DistributedExecutor(coordinator.context(), app=app, timeout=60),
        )
    assert result.status is RunStatus.FAILED
    for outcome in result.tenants.values():
        assert outcome.phase is Phase.SKIPPED
        assert "already queued by another run" in outcome.reason
        assert ",".join(tenants) in outcome.reason
    report = registry.get_report(result.run_id)
    assert {r.status.value for r in report.tenants} == {"skipped"}
    registry.close()


async def test_two_tasks_of_the_same_tenants_queue_one_behind_the_other(
    tmp_path: Path, postgres_url: str, served_moodle: ServedSimulator
) -> None:
    """Issue 12: the cohorts task firing with users was skipped on users' queueing lock."""
    farm, registry = await prepare(tmp_path, postgres_url, served_moodle)
    tenants = tuple(sorted(farm.tenants))
    async with kit.coordinator(postgres_url, registry, farm) as (_, app):
        # No worker runs: every job stays in the queue.
        run_id = registry.start_run(trigger=RunTrigger.SCHEDULE)
        for task in ("users", "cohorts"):
            spec = JobSpec(run_id, "site-00", tenants, task_options(task), "schedule")
            await defer_job(app, spec)
        again = JobSpec(run_id, "site-00", tenants, task_options("users"), "schedule")
        with pytest.raises(AlreadyQueued, match="already queued"):
            await defer_job(app, again)
    registry.close()


async def test_without_a_worker_the_run_fails_saying_to_start_one(
    tmp_path: Path, postgres_url: str, served_moodle: ServedSimulator
) -> None:
    farm, registry = await prepare(tmp_path, postgres_url, served_moodle)
    async with kit.coordinator(postgres_url, registry, farm) as (coordinator, app):
        executor = DistributedExecutor(
            coordinator.context(), app=app, no_worker_timeout=1.0, poll=0.2
        )
        result = await coordinator.run(SyncRequest(tenants=tuple(farm.tenants.values())), executor)
        # The job was taken out of the queue: a worker started later will not run it.
        assert await app.connector.execute_query_one_async(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'todo'"
        ) == {"n": 0}
    assert result.status is RunStatus.FAILED
    for outcome in result.tenants.values():
        assert outcome.phase is Phase.FAILED
        assert "no worker took job" in outcome.reason
        assert "is 'farm worker' running against" in outcome.reason
    assert served_moodle.sim.sites["site-00"].live_users() == []
    registry.close()


def test_a_sqlite_registry_is_refused_and_postgres_urls_become_conninfo() -> None:
    with pytest.raises(DistributedUnavailable, match="needs the registry on PostgreSQL"):
        conninfo_of("sqlite:///var/lib/farm/registry.db")
    info = conninfo_of("postgresql+psycopg://farm:s3cret@db.example.org:6432/farm?sslmode=require")
    assert "host=db.example.org" in info
    assert "port=6432" in info
    assert "dbname=farm" in info
    assert "sslmode=require" in info
    assert "password=s3cret" in info
