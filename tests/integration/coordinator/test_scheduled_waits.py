"""Scheduled tasks queue for their site: the second of two tasks firing together waits, then runs.

The scheduler's real loop (on a fake clock) fires ``users`` and ``cohorts`` at
03:00 for the same site; the runs go through :func:`run_task` on a real
registry (SQLite, and PostgreSQL), with a source slow enough that the first
run holds the site for a while. A site held by another process (a lease in
the registry) is waited for the same way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import pytest

from farm.config import Farm
from farm.engine.coordinator import Coordinator, RunResult
from farm.engine.events import Phase
from farm.engine.schedule import TaskSchedule, run_scheduler
from farm.engine.schedule_queue import SiteQueue, run_task
from farm.registry import Registry, RunStatus, TenantReport, TenantStatus
from farm.registry.leases import HolderProcess
from farm.simulators.moodle import MoodleSimulator
from farm.sources import ReadRequest, ReadResult
from farm.sources.static import StaticSource
from tests.integration.coordinator import farmkit

PARIS = ZoneInfo("Europe/Paris")
SITE = farmkit.site_name(0)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = farmkit.open_registry(url)
    try:
        yield opened
    finally:
        opened.close()


class SlowSource:
    """A source that takes ``delay`` seconds per read, so a run holds its site that long."""

    def __init__(self, inner: StaticSource, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    @property
    def name(self) -> str:
        return self.inner.name

    async def read(self, request: ReadRequest) -> ReadResult:
        await anyio.sleep(self.delay)
        return await self.inner.read(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class FakeClock:
    """Wall time for the scheduler only: it jumps to each wakeup, and stops after ``end``."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.moment = start
        self.end = end

    def now(self) -> datetime:
        return self.moment

    async def sleep_until(self, moment: datetime, stop: anyio.Event) -> None:
        await anyio.wait_all_tasks_blocked()
        if moment > self.end:
            stop.set()
            return
        self.moment = max(self.moment, moment)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc,arg-type]


async def fire_users_and_cohorts_together(
    farm: Farm, coordinator: Coordinator, max_wait: timedelta
) -> dict[str, RunResult]:
    """Run the scheduler over 03:00, when both tasks of every tenant fire; each task's run."""
    entries = [
        TaskSchedule(tenant, SITE, task, "0 3 * * *")
        for task in ("users", "cohorts")
        for tenant in farm.tenants
    ]
    clock = FakeClock(paris(2026, 3, 2, 2, 59), paris(2026, 3, 2, 3, 1))
    queue = SiteQueue()
    results: dict[str, RunResult] = {}

    async def launch(task: str, tenants: list[str]) -> None:
        results[task] = await run_task(
            coordinator, entries, task, tenants, queue=queue, max_wait=max_wait, now=clock.now()
        )

    with anyio.fail_after(60):
        await run_scheduler(entries, "Europe/Paris", launch, anyio.Event(), clock=clock)
    assert sorted(results) == ["cohorts", "users"]
    return results


def setup(
    tmp_path: Path, registry: Registry, delay: float
) -> tuple[Farm, Coordinator, MoodleSimulator]:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=1)
    sim = farmkit.simulator(farm)
    source = SlowSource(farmkit.static_source(farm, 10), delay)
    coordinator = farmkit.coordinator(
        farm,
        registry,
        farmkit.Recorder(),
        source,  # type: ignore[arg-type]
        transport=sim.transport(),
    )
    return farm, coordinator, sim


def reports(registry: Registry, result: RunResult) -> list[TenantReport]:
    return list(registry.get_report(result.run_id).tenants)


def wait_notes(report: TenantReport) -> list[str]:
    return [w.message for w in report.warnings if w.message.startswith("waited ")]


async def test_the_second_task_waits_for_the_site_then_succeeds(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm, coordinator, sim = setup(tmp_path, registry, delay=0.8)

    results = await fire_users_and_cohorts_together(farm, coordinator, timedelta(seconds=30))

    assert {task: r.status for task, r in results.items()} == {
        "users": RunStatus.SUCCEEDED,
        "cohorts": RunStatus.SUCCEEDED,
    }
    waiting = [task for task, r in results.items() if any(map(wait_notes, reports(registry, r)))]
    assert len(waiting) == 1, "exactly one of the two tasks found the site held"
    (first,) = {"users", "cohorts"} - set(waiting)
    waiter = results[waiting[0]]
    ahead = rf"run {results[first].run_id} \({first}\)"
    for report in reports(registry, waiter):
        assert report.status is TenantStatus.SUCCEEDED
        assert report.reason is None
        (note,) = wait_notes(report)
        assert re.fullmatch(
            rf"waited \d\.\d s for site:{SITE}, held by {ahead}, before it could run", note
        )
        assert 0.7 <= report.durations["wait"] < 3  # the other run read for 0.8 s
    assert not any(map(wait_notes, reports(registry, results[first])))
    assert all(o.phase is Phase.SUCCEEDED for o in waiter.tenants.values())
    assert len(sim.sites[SITE].live_users()) == 20
    assert registry.leases() == []


async def test_a_wait_past_the_bound_ends_skipped_saying_how_long_it_waited(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm, coordinator, _ = setup(tmp_path, registry, delay=2.0)

    results = await fire_users_and_cohorts_together(farm, coordinator, timedelta(seconds=0.5))

    statuses = sorted(r.status.value for r in results.values())
    assert statuses == [RunStatus.FAILED.value, RunStatus.SUCCEEDED.value]
    (skipped,) = [r for r in results.values() if r.status is RunStatus.FAILED]
    (ran,) = [(t, r) for t, r in results.items() if r.status is RunStatus.SUCCEEDED]
    pattern = (
        r"waited 0\.\d s, then gave up after the longest wait allowed \(0\.5s\): "
        rf"site:{SITE} is held by run {ran[1].run_id} \({ran[0]}\) of this scheduler"
    )
    for report in reports(registry, skipped):
        assert report.status is TenantStatus.SKIPPED
        assert re.fullmatch(pattern, report.reason or ""), report.reason
    for outcome in skipped.tenants.values():
        assert outcome.phase is Phase.SKIPPED
        assert re.fullmatch(pattern, outcome.reason)
    assert registry.leases() == []


OTHER_HOST = "cron-host:4242:abc"
#: How reports name that holder: in words, never as its machine-made name.
OTHER_WORDS = r"a run on cron-host \(process 4242\)"


async def run_users(farm: Farm, coordinator: Coordinator, max_wait: timedelta) -> RunResult:
    entries = [TaskSchedule(tenant, SITE, "users", "0 3 * * *") for tenant in farm.tenants]
    return await run_task(coordinator, entries, "users", list(farm.tenants), max_wait=max_wait)


async def test_a_site_another_process_holds_is_waited_for_then_synced(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm, coordinator, sim = setup(tmp_path, registry, delay=0.0)
    registry.acquire_lease(f"site:{SITE}", OTHER_HOST, timedelta(minutes=5))

    async def other_process_finishes() -> None:
        await anyio.sleep(1.0)
        await anyio.to_thread.run_sync(registry.release_lease, f"site:{SITE}", OTHER_HOST)

    async with anyio.create_task_group() as group:
        group.start_soon(other_process_finishes)
        with anyio.fail_after(30):
            result = await run_users(farm, coordinator, timedelta(seconds=20))

    assert result.status is RunStatus.SUCCEEDED
    for report in reports(registry, result):
        (note,) = wait_notes(report)
        assert re.fullmatch(
            rf"waited \d\.\d s for site:{SITE}, held by {OTHER_WORDS}, before it could run", note
        )
        assert report.durations["wait"] >= 0.9
    assert len(sim.sites[SITE].live_users()) == 20
    assert registry.leases() == []


async def test_a_site_another_process_keeps_is_skipped_past_the_bound(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm, coordinator, sim = setup(tmp_path, registry, delay=0.0)
    registry.acquire_lease(f"site:{SITE}", OTHER_HOST, timedelta(minutes=5))

    with anyio.fail_after(30):
        result = await run_users(farm, coordinator, timedelta(seconds=0.6))

    assert result.status is RunStatus.FAILED
    for report in reports(registry, result):
        assert report.status is TenantStatus.SKIPPED
        assert re.fullmatch(
            r"waited 0\.\d s, then gave up after the longest wait allowed \(0\.6s\): "
            rf"site:{SITE} is held by {OTHER_WORDS} since .* UTC \(\d+ s ago\); .*",
            report.reason or "",
        ), report.reason
    assert sim.sites[SITE].live_users() == []
    assert [lease.holder for lease in registry.leases()] == [OTHER_HOST]


async def test_stopping_the_scheduler_ends_a_wait_as_interrupted(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm, coordinator, _ = setup(tmp_path, registry, delay=0.0)
    registry.acquire_lease(f"site:{SITE}", OTHER_HOST, timedelta(minutes=5))

    async def sigterm() -> None:
        await anyio.sleep(0.5)
        coordinator.stop.set()

    async with anyio.create_task_group() as group:
        group.start_soon(sigterm)
        with anyio.fail_after(30):
            result = await run_users(farm, coordinator, timedelta(minutes=10))

    assert result.status is RunStatus.INTERRUPTED
    for report in reports(registry, result):
        assert report.status is TenantStatus.INTERRUPTED
        assert re.fullmatch(
            rf"stopped after it waited 0\.\d s for site:{SITE}", report.reason or ""
        )


def dead_holder() -> str:
    """The holder name of a process of this machine that has exited."""
    me = HolderProcess.this_process()
    assert me is not None, "this test needs /proc"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return HolderProcess(me.host, gone.pid, started=1, machine=me.machine).holder("d3adb33f0000")


async def test_a_site_a_dead_process_of_this_host_held_is_not_waited_for(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm, coordinator, sim = setup(tmp_path, registry, delay=0.0)
    registry.acquire_lease(f"site:{SITE}", dead_holder(), timedelta(minutes=5))

    with anyio.fail_after(30):
        result = await run_users(farm, coordinator, timedelta(seconds=20))

    assert result.status is RunStatus.SUCCEEDED
    assert not any(map(wait_notes, reports(registry, result)))
    assert len(sim.sites[SITE].live_users()) == 20
