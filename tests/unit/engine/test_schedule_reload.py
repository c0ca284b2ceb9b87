"""A running scheduler follows the farm's files (issue 13).

Before issue 13, ``run_scheduler`` kept the entries it started with: the
edit below changed nothing and ``delta`` kept firing (the first test failed
on its "no delta after the edit" assertion; ``reload`` did not exist).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from farm.cli.schedule import FarmReload
from farm.config import load_farm
from farm.engine.schedule import run_scheduler, schedule_changes
from farm.registry import Registry

SHIPPED = Path(__file__).resolve().parents[3] / "tenants"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}", check=False, create=True)
    opened.upgrade()
    try:
        yield opened
    finally:
        opened.close()


class EditingClock:
    """Jumps to each wake-up; after the first one, runs ``edit`` (an operator's commit)."""

    def __init__(self, start: datetime, end: datetime, edit: object) -> None:
        self.moment, self.end, self.edit = start, end, edit
        self.wakeups = 0

    def now(self) -> datetime:
        return self.moment

    async def sleep_until(self, moment: datetime, stop: anyio.Event) -> None:
        await anyio.wait_all_tasks_blocked()
        self.wakeups += 1
        if self.wakeups == 2 and callable(self.edit):
            self.edit()
        if moment > self.end:
            stop.set()
            return
        self.moment = max(self.moment, moment)


async def test_an_edited_farm_file_is_used_at_the_next_tick(
    tmp_path: Path, registry: Registry
) -> None:
    farm_dir = tmp_path / "tenants"
    shutil.copytree(SHIPPED, farm_dir, ignore=shutil.ignore_patterns("var"))
    farm = load_farm(farm_dir)
    registry.load_farm(farm)
    reload = FarmReload(farm, registry, None)
    site_file = farm_dir / "farm.toml"

    def disable_delta() -> None:
        text = site_file.read_text(encoding="utf-8")
        site_file.write_text(text.replace('delta = "*/30 7-19 * * 1-5"', 'delta = "disabled"'))

    # Monday 2026-11-23, 06:59 Paris (05:59 UTC): delta fires at 07:00, then every 30 min.
    clock = EditingClock(
        datetime(2026, 11, 23, 5, 59, tzinfo=UTC),
        datetime(2026, 11, 23, 7, 1, tzinfo=UTC),
        disable_delta,
    )
    fired: list[tuple[datetime, str, list[str]]] = []

    async def launch(task: str, tenants: list[str]) -> None:
        fired.append((clock.now(), task, tenants))

    with capture_logs() as logs:
        await run_scheduler(
            reload.entries, "Europe/Paris", launch, anyio.Event(), clock=clock, reload=reload
        )

    deltas = [(at, tenants) for at, task, tenants in fired if task == "delta"]
    first_at, first = deltas[0]
    assert first_at == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert "0310024H" in first  # Lycée Bellevue runs on the farm's delta
    # After the edit, only tenants whose own file sets delta still run it.
    later = [tenants for at, tenants in deltas if at > first_at]
    assert later
    assert all("0310024H" not in tenants for tenants in later)
    reloaded = [e for e in logs if e["event"] == "farm files reloaded"]
    assert len(reloaded) == 1
    assert any("0310024H delta: */30 7-19 * * 1-5 -> disabled" in c for c in reloaded[0]["changes"])


def test_a_broken_edit_keeps_the_previous_configuration(tmp_path: Path, registry: Registry) -> None:
    farm_dir = tmp_path / "tenants"
    shutil.copytree(SHIPPED, farm_dir, ignore=shutil.ignore_patterns("var"))
    farm = load_farm(farm_dir)
    reload = FarmReload(farm, registry, None)
    (farm_dir / "farm.toml").write_text("[farm\nbroken", encoding="utf-8")

    with capture_logs() as logs:
        assert reload() is None
    assert any("do not load" in e["event"] for e in logs)
    assert reload.entries  # still the start-up schedules
    assert reload() is None  # one log per change, not per tick


def test_schedule_changes_name_each_task() -> None:
    from farm.engine.schedule import TaskSchedule

    old = [TaskSchedule("A", "s", "users", "30 2 * * *")]
    new = [
        TaskSchedule("A", "s", "users", "disabled"),
        TaskSchedule("B", "s", "users", "0 1 * * *"),
    ]
    assert schedule_changes(old, new) == [
        "A users: 30 2 * * * -> disabled",
        "B users: absent -> 0 1 * * *",
    ]
