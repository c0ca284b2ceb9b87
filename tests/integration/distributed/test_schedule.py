"""Scheduled tasks on the workers: a tick starts the runs due in its minute, then they finish."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import procrastinate
import pytest

from farm.config import Farm
from farm.engine.distributed import schedule as distributed_schedule
from farm.engine.distributed.app import procrastinate_app
from farm.engine.distributed.queue import QUEUE, TICK_TASK
from farm.registry import Registry, RunStatus, RunSummary, RunTrigger, lease_holder
from tests.fixtures.moodle import ServedSimulator
from tests.integration.coordinator import farmkit
from tests.integration.distributed import kit

# 02:30 in Paris on 15 January, i.e. 01:30 UTC.
TICK = int(datetime(2025, 1, 15, 2, 30, tzinfo=ZoneInfo("Europe/Paris")).timestamp())
#: The users task, due at the tick; every other task disabled.
USERS_AT_TICK: Mapping[str, str] = {"users": "30 2 15 1 *"}


@pytest.fixture(autouse=True)
def finish_every_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduled runs get their final status within a second of their last report."""
    monkeypatch.setattr(distributed_schedule, "FINISH_EVERY", 1)


async def one_site_farm(
    tmp_path: Path,
    served_moodle: ServedSimulator,
    postgres_url: str,
    schedules: Mapping[str, str] = USERS_AT_TICK,
) -> tuple[Farm, Registry]:
    """kit's farm on one simulated site, every task disabled but ``schedules``."""
    farm = kit.build_farm(tmp_path, served_moodle.base_url, 1, schedules)
    served_moodle.sim.add_site("site-00", token=farmkit.TOKEN, profile_fields=("uai",))
    registry = await anyio.to_thread.run_sync(kit.prepare_registry, postgres_url, farm)
    return farm, registry


async def defer_tick(app: procrastinate.App, timestamp: int = TICK) -> None:
    await app.configure_task(TICK_TASK, queue=QUEUE).defer_async(timestamp=timestamp)


async def finished_runs(registry: Registry) -> list[RunSummary]:
    """The registry's runs once the newest is no longer running (60 s at most)."""
    with anyio.fail_after(60):
        while True:
            runs = await anyio.to_thread.run_sync(lambda: registry.list_runs(limit=5))
            if runs and runs[0].status is not RunStatus.RUNNING:
                return runs
            await anyio.sleep(0.2)


async def tick_jobs_done(app: procrastinate.App, timestamp: int = TICK) -> bool:
    """No tick job for ``timestamp`` waits or runs (the workers delete those that succeed)."""
    jobs = await app.job_manager.list_jobs_async(task=TICK_TASK)
    return not any(
        j.task_kwargs.get("timestamp") == timestamp and j.status in ("todo", "doing") for j in jobs
    )


async def test_a_tick_runs_the_tasks_due_in_its_minute_in_the_farm_time_zone(
    tmp_path: Path,
    postgres_url: str,
    served_moodle: ServedSimulator,
) -> None:
    # Only the users task is due at the tick.
    schedules = {"users": "30 2 15 1 *", "cohorts": "31 2 15 1 *"}
    farm, registry = await one_site_farm(tmp_path, served_moodle, postgres_url, schedules)
    async with kit.running_worker(postgres_url, registry, farm, people=20):
        app = procrastinate_app(postgres_url)
        async with app.open_async():
            await defer_tick(app)
        runs = await finished_runs(registry)

    assert len(runs) == 1
    run = runs[0]
    assert run.trigger is RunTrigger.SCHEDULE
    assert run.selection["task"] == "users"
    assert sorted(run.selection["tenants"]) == sorted(farm.tenants)
    assert run.status is RunStatus.SUCCEEDED, run.reason
    assert run.tenants_ok == len(farm.tenants)
    assert len(served_moodle.sim.sites["site-00"].live_users()) == 20 * len(farm.tenants)
    registry.close()


async def test_a_scheduled_task_waits_for_a_site_a_local_sync_holds(
    tmp_path: Path,
    postgres_url: str,
    served_moodle: ServedSimulator,
) -> None:
    """Issue 12: on the workers, a task whose site another process held was skipped."""
    farm, registry = await one_site_farm(tmp_path, served_moodle, postgres_url)
    holder = "cron-host:4242:local-sync"  # another host's `farm sync`, alive
    registry.acquire_lease("site:site-00", holder, timedelta(minutes=5))
    async with kit.running_worker(postgres_url, registry, farm, people=5):
        app = procrastinate_app(postgres_url)
        async with app.open_async():
            await defer_tick(app)
        await anyio.sleep(2)
        runs = await anyio.to_thread.run_sync(lambda: registry.list_runs(limit=5))
        assert [r.status for r in runs] == [RunStatus.RUNNING]  # waiting, not skipped
        registry.release_lease("site:site-00", holder)
        runs = await finished_runs(registry)

    assert runs[0].status is RunStatus.SUCCEEDED, runs[0].reason
    registry.close()


async def test_a_tick_waits_for_another_minutes_tick_instead_of_dropping_its_minute(
    tmp_path: Path,
    postgres_url: str,
    served_moodle: ServedSimulator,
) -> None:
    """CI, stop 23: a late worker's two ticks ran at once and one minute's tasks were lost."""
    farm, registry = await one_site_farm(tmp_path, served_moodle, postgres_url)
    other_tick = lease_holder(distributed_schedule.TICK_ROLE)
    registry.acquire_lease(distributed_schedule.SCHEDULER_LEASE, other_tick, timedelta(minutes=1))
    async with kit.running_worker(postgres_url, registry, farm, people=5):
        app = procrastinate_app(postgres_url)
        async with app.open_async():
            await defer_tick(app)
            await anyio.sleep(1.5)
            assert not await tick_jobs_done(app)  # still waiting
        registry.release_lease(distributed_schedule.SCHEDULER_LEASE, other_tick)
        runs = await finished_runs(registry)

    assert [(r.selection["task"], r.status) for r in runs] == [("users", RunStatus.SUCCEEDED)]
    registry.close()


async def test_a_tick_starts_nothing_while_farm_schedule_run_holds_the_scheduler_lease(
    tmp_path: Path,
    postgres_url: str,
    served_moodle: ServedSimulator,
) -> None:
    farm, registry = await one_site_farm(tmp_path, served_moodle, postgres_url)
    scheduler = lease_holder()  # what `farm schedule run` holds it with
    registry.acquire_lease(distributed_schedule.SCHEDULER_LEASE, scheduler, timedelta(minutes=5))
    async with kit.running_worker(postgres_url, registry, farm, people=5):
        app = procrastinate_app(postgres_url)
        async with app.open_async():
            await defer_tick(app)
            with anyio.fail_after(30):
                while True:
                    if await tick_jobs_done(app):
                        break
                    await anyio.sleep(0.2)

    assert registry.list_runs(limit=5) == []
    registry.close()
