"""Snapshots of the dashboard's main screens at a fixed terminal size.

The registry holds two runs written through its own API, as any process
would, with their times pinned so that ages and dates do not move; the
dashboard's clock is pinned too. Update with ``pytest --snapshot-update``
after checking the new SVGs under ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from textual.pilot import Pilot

from farm.registry import RefusedRecord, ReportWarning, RunStatus, RunTrigger, TenantReport
from farm.registry import TenantStatus as S
from farm.tui.app import FarmDashboard
from farm.tui.detail import TenantScreen
from tests.tui.conftest import SIZE, DashFarm

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
Compare = Callable[..., bool]


def report(tenant: str, site: str, status: S, **fields: Any) -> TenantReport:
    return TenantReport(tenant=tenant, site=site, status=status, **fields)


def write_history(farm: DashFarm) -> None:
    """Run 1 (yesterday) synced everyone; run 2 (08:50) had a partial and a failure."""
    registry = farm.registry
    runs = [
        [
            report("0310024H", "lycee-bellevue", S.SUCCEEDED, counts={"person": {"create": 5}}),
            report("0340041K", "cite-clemenceau", S.SUCCEEDED, counts={"person": {"create": 6}}),
            report("0341921D", "cite-clemenceau", S.SUCCEEDED, counts={"person": {"create": 4}}),
        ],
        [
            report(
                "0310024H",
                "lycee-bellevue",
                S.SUCCEEDED,
                counts={"person": {"update": 2}, "cohort_member": {"add": 1}},
                durations={"read": 0.4, "plan": 0.1, "apply": 1.2, "total": 1.8},
            ),
            report(
                "0340041K",
                "cite-clemenceau",
                S.PARTIAL,
                reason="Moodle refused 1 record(s); see the errors",
                counts={"person": {"create": 3, "update": 1, "suspend": 2}},
                errors=(
                    RefusedRecord(
                        "sdet:0340041K9", "Invalid parameter value detected (email)", "person"
                    ),
                ),
                warnings=(ReportWarning("skipped: no firstname [givenName]", "uid=E0007"),),
                durations={"read": 0.6, "plan": 0.2, "apply": 2.5, "total": 3.4},
            ),
            report(
                "0341921D",
                "cite-clemenceau",
                S.FAILED,
                reason="source ent: directory unreachable (connection refused)",
            ),
        ],
    ]
    times = [
        ("2026-11-20 02:30:00", "2026-11-20 02:31:10"),
        ("2026-11-21 08:48:00", "2026-11-21 08:50:00"),
    ]
    for reports in runs:
        run_id = registry.start_run(
            trigger=RunTrigger.BATCH, selection={"tenants": [r.tenant for r in reports]}
        )
        for item in reports:
            registry.record_tenant_report(run_id, item)
        status = RunStatus.SUCCEEDED if run_id == 1 else RunStatus.PARTIAL
        registry.finish_run(run_id, status)
    path = str(registry.url).removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        for number, (started, finished) in enumerate(times, start=1):
            db.execute(
                "UPDATE run SET started_at = ?, finished_at = ? WHERE id = ?",
                (started, finished, number),
            )


def loaded(app: FarmDashboard) -> Callable[[Pilot[None]], Any]:
    async def wait(pilot: Pilot[None]) -> None:
        with anyio.fail_after(10):
            while not app.loaded:
                await pilot.pause(0.05)

    return wait


@pytest.fixture
def history_app(dash_farm: DashFarm) -> FarmDashboard:
    write_history(dash_farm)
    return dash_farm.app(commander=False, clock_at=NOW)


def test_main_screen(history_app: FarmDashboard, snap_compare: Compare) -> None:
    assert snap_compare(history_app, terminal_size=SIZE, run_before=loaded(history_app))


def test_main_screen_filtered_by_tag(history_app: FarmDashboard, snap_compare: Compare) -> None:
    assert snap_compare(
        history_app,
        terminal_size=SIZE,
        run_before=loaded(history_app),
        press=["slash", *"tag:academie:montpellier", "enter"],
    )


def test_drill_down_of_a_partial_tenant(history_app: FarmDashboard, snap_compare: Compare) -> None:
    async def open_it(pilot: Pilot[None]) -> None:
        await loaded(history_app)(pilot)
        await pilot.press("down", "enter")
        with anyio.fail_after(10):
            while not (isinstance(history_app.screen, TenantScreen) and history_app.screen.detail):
                await pilot.pause(0.05)

    assert snap_compare(history_app, terminal_size=(140, 44), run_before=open_it)


def test_help_screen(history_app: FarmDashboard, snap_compare: Compare) -> None:
    assert snap_compare(
        history_app,
        terminal_size=(140, 40),
        run_before=loaded(history_app),
        press=["question_mark"],
    )


#: The pictures of the dashboard in the docs: the snapshots of these tests, copied.
DOCS = Path(__file__).resolve().parents[2] / "docs"
SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__" / "test_snapshots"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_main_screen_at_the_documented_sizes(
    history_app: FarmDashboard, snap_compare: Compare, size: tuple[int, int]
) -> None:
    assert snap_compare(history_app, terminal_size=size, run_before=loaded(history_app))


@pytest.mark.parametrize("size", ["80x24", "120x40"])
def test_the_docs_pictures_are_the_snapshots(size: str) -> None:
    """docs/dashboard-SIZE.svg is the snapshot; after updating it: copy it over, as named here."""
    snapshot = SNAPSHOTS / f"test_main_screen_at_the_documented_sizes[{size}].svg"
    picture = DOCS / f"dashboard-{size}.svg"
    assert picture.read_bytes() == snapshot.read_bytes(), f"cp '{snapshot}' '{picture}'"
