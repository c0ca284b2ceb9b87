"""Schedules: cron per task, farm defaults and overrides, and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import pytest

from farm.config import load_farm
from farm.engine.schedule import (
    DISABLED,
    FALLBACK_WAIT,
    TaskSchedule,
    due,
    fire_times,
    next_run,
    next_wakeup,
    run_scheduler,
    schedules,
    task_does,
    task_options,
    tasks_of,
    wait_bound,
)
from farm.ground import Ground
from farm.model import Entity, Profile
from tests.unit.config.farmdir import write_farm

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=PARIS, fold=fold).astimezone(UTC)  # type: ignore[misc,arg-type]


def simulate_scheduler(
    cron: str, start: datetime, end: datetime, tick: timedelta
) -> list[datetime]:
    """What a scheduler waking every ``tick`` would launch: one launch per due check."""
    launched: list[datetime] = []
    entry = TaskSchedule("0290009C", "lycee", "sync", cron)
    last = start
    while last < end:
        now = last + tick
        if due([entry], last, now, "Europe/Paris"):
            launched.append(now)
        last = now
    return launched


def test_daily_job_runs_once_on_the_spring_forward_day() -> None:
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that night.
    times = list(
        fire_times("30 2 * * *", paris(2026, 3, 27, 12), paris(2026, 3, 31, 12), "Europe/Paris")
    )
    local = [t.astimezone(PARIS) for t in times]
    assert [t.date().day for t in local] == [28, 29, 30, 31]
    assert local[1].hour == 3
    assert local[1].minute == 0
    assert [t.strftime("%H:%M") for t in (local[0], local[2], local[3])] == ["02:30"] * 3


def test_daily_job_runs_once_on_the_fall_back_day() -> None:
    # 25 October 2026: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    times = list(
        fire_times("30 2 * * *", paris(2026, 10, 23, 12), paris(2026, 10, 27, 12), "Europe/Paris")
    )
    local = [t.astimezone(PARIS) for t in times]
    assert [t.date().day for t in local] == [24, 25, 26, 27]
    assert all(t.strftime("%H:%M") == "02:30" for t in local)
    # The 25th fires at the first 02:30 (CEST, 00:30 UTC), not again an hour later.
    assert times[1] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (paris(2026, 3, 28, 0), paris(2026, 3, 31, 0)),
        (paris(2026, 10, 24, 0), paris(2026, 10, 27, 0)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_scheduler_ticking_each_minute_launches_the_0230_job_exactly_once_a_day(
    start: datetime, end: datetime
) -> None:
    launched = simulate_scheduler("30 2 * * *", start, end, timedelta(minutes=1))
    days = [t.astimezone(PARIS).date() for t in launched]
    assert len(days) == 3
    assert len(set(days)) == 3


def test_a_scheduler_that_slept_through_several_firings_launches_once() -> None:
    # Asleep from 01:00 to 05:00 on the fall-back night: one launch, not two.
    entry = TaskSchedule("0290009C", "lycee", "sync", "*/30 * * * *")
    assert due([entry], paris(2026, 10, 25, 1), paris(2026, 10, 25, 5), "Europe/Paris") == [entry]


def test_a_disabled_task_never_fires() -> None:
    entry = TaskSchedule("0290009C", "lycee", "delta", DISABLED)
    assert entry.disabled
    assert next_run(DISABLED, paris(2026, 1, 1, 0), "Europe/Paris") is None
    assert due([entry], paris(2026, 1, 1, 0), paris(2027, 1, 1, 0), "Europe/Paris") == []
    assert next_wakeup([entry], paris(2026, 1, 1, 0), "Europe/Paris") is None


def test_next_wakeup_is_the_earliest_task() -> None:
    entries = [
        TaskSchedule("a", "s", "sync", "30 2 * * *"),
        TaskSchedule("b", "s", "delta", "*/30 7-19 * * 1-5"),
    ]
    # Monday 2 March 2026, 06:10 in Paris: the delta at 07:00 comes first.
    assert next_wakeup(entries, paris(2026, 3, 2, 6, 10), "Europe/Paris") == paris(2026, 3, 2, 7, 0)


def test_farm_defaults_site_and_tenant_overrides(tmp_path: Path) -> None:
    farm = load_farm(write_farm(tmp_path))
    by_key = {(s.tenant, s.task): s.cron for s in schedules(farm)}
    # The lycée keeps the farm defaults.
    assert by_key[("0290009C", "users")] == "30 2 * * *"
    assert by_key[("0290009C", "delta")] == DISABLED
    # NetYpareo tenants have their connector's tasks; one moves its students to 04:00.
    assert by_key[("cfa-brest", "students")] == "45 2 * * *"
    assert by_key[("cfa-quimper", "students")] == "0 4 * * *"
    assert ("cfa-quimper", "users") not in by_key
    assert ("0290009C", "pdgroups") not in by_key


def test_task_names_follow_moodle_scheduled_tasks() -> None:
    assert tasks_of("establishment") == ("users", "cohorts", "roles", "groups", "delta")
    assert "pdgroups" in tasks_of("netypareo")
    assert "caches" in tasks_of("netypareo")
    assert task_options("students").profiles == {Profile.STUDENT}
    assert task_options("delta").to_json() == {"delta": True, "task": "delta"}


def test_every_task_says_what_it_does_and_each_netypareo_task_plans_its_own_entities() -> None:
    assert all(task_does(task) for task in (*tasks_of("establishment"), *tasks_of("netypareo")))
    groups, pdgroups = task_options("groups"), task_options("pdgroups")
    assert groups.cohort_scope == "netypareo:*:group:*"
    assert pdgroups.cohort_scope == "netypareo:*:pdgroup:*"
    assert task_options("teachers").entities == frozenset({Entity.USERS, Entity.ENROLMENTS})
    assert task_options("tutors").entities == frozenset({Entity.USERS, Entity.ROLES})
    assert task_options("caches").entities == frozenset()
    # Two tasks never stand for each other, though both plan cohorts.
    assert not Ground.of_run(groups).covers(Ground.of_run(pdgroups))
    assert Ground.of_run(groups).covers(Ground.of_run(groups))
    caches = Ground.of_run(task_options("caches"))
    assert not Ground.of_run(task_options("users")).covers(caches)
    assert Ground().covers(caches)  # a full sync reads everything, the tables with it
    assert Ground.parse(caches.text) == caches
    assert Ground.parse(Ground.of_run(task_options("users")).text).task == "users"


class FakeClock:
    """Time that jumps to wherever the scheduler wants to wake; stops at ``end``."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.moment = start
        self.end = end
        self.wakeups: list[datetime] = []

    def now(self) -> datetime:
        return self.moment

    async def sleep_until(self, moment: datetime, stop: anyio.Event) -> None:
        # Launches started at the last wakeup run before time moves on.
        await anyio.wait_all_tasks_blocked()
        self.wakeups.append(moment)
        if moment > self.end:
            stop.set()
            return
        self.moment = max(self.moment, moment)


async def test_the_scheduler_launches_each_due_task_once_with_its_tenants() -> None:
    entries = [
        TaskSchedule("0290009C", "lycee", "users", "30 2 * * *"),
        TaskSchedule("0291595B", "lycee", "users", "30 2 * * *"),
        TaskSchedule("0290009C", "lycee", "cohorts", "0 3 * * *"),
        TaskSchedule("0290009C", "lycee", "delta", DISABLED),
    ]
    clock = FakeClock(paris(2026, 3, 2, 1, 0), paris(2026, 3, 2, 5, 0))
    launched: list[tuple[str, list[str], datetime]] = []

    async def launch(task: str, tenants: list[str]) -> None:
        launched.append((task, tenants, clock.now()))

    await run_scheduler(entries, "Europe/Paris", launch, anyio.Event(), clock=clock)

    assert launched == [
        ("users", ["0290009C", "0291595B"], paris(2026, 3, 2, 2, 30)),
        ("cohorts", ["0290009C"], paris(2026, 3, 2, 3, 0)),
    ]


async def test_the_scheduler_stops_when_asked_and_waits_for_running_launches() -> None:
    entries = [TaskSchedule("0290009C", "lycee", "users", "* * * * *")]
    clock = FakeClock(paris(2026, 3, 2, 1, 0), paris(2026, 3, 9, 0, 0))
    stop = anyio.Event()
    finished: list[str] = []

    async def launch(task: str, tenants: list[str]) -> None:
        stop.set()  # the operator's SIGTERM arrives while the first task runs
        await anyio.sleep(0.01)
        finished.append(task)

    with anyio.fail_after(5):
        await run_scheduler(entries, "Europe/Paris", launch, stop, clock=clock)

    assert finished == ["users"]


def test_a_firing_waits_for_its_site_until_the_task_fires_again() -> None:
    entries = [
        TaskSchedule("0290009C", "lycee", "delta", "*/30 7-19 * * 1-5"),
        TaskSchedule("0291595B", "lycee", "delta", "*/20 7-19 * * 1-5"),  # a site's override
        TaskSchedule("0290009C", "lycee", "users", "30 2 * * *"),
    ]
    fired = paris(2026, 3, 2, 8, 0)  # a Monday
    bound = wait_bound(entries, "delta", ["0290009C", "0291595B"], fired, "Europe/Paris")
    assert bound.seconds == 20 * 60  # the sooner of the tenants' next firings
    assert bound.why == "at the task's next firing (2026-03-02 08:20 Europe/Paris)"
    one = wait_bound(entries, "delta", ["0290009C"], fired, "Europe/Paris")
    assert one.seconds == 30 * 60


def test_a_configured_maximum_shortens_the_wait() -> None:
    entries = [TaskSchedule("0290009C", "lycee", "users", "30 2 * * *")]
    fired = paris(2026, 3, 2, 2, 30)
    nightly = wait_bound(entries, "users", ["0290009C"], fired, "Europe/Paris")
    assert nightly.seconds == 24 * 3600
    capped = wait_bound(
        entries, "users", ["0290009C"], fired, "Europe/Paris", max_wait=timedelta(minutes=90)
    )
    assert (capped.seconds, capped.why) == (5400, "after the longest wait allowed (1h30m)")
    later = wait_bound(
        entries, "users", ["0290009C"], fired, "Europe/Paris", max_wait=timedelta(days=2)
    )
    assert later.seconds == 24 * 3600


def test_a_task_with_no_next_firing_waits_the_fallback() -> None:
    entries = [TaskSchedule("0290009C", "lycee", "delta", DISABLED)]
    bound = wait_bound(entries, "delta", ["0290009C"], paris(2026, 3, 2, 8, 0), "Europe/Paris")
    assert bound.seconds == FALLBACK_WAIT.total_seconds()
