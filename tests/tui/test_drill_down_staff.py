"""The drill-down counts a tenant's staff CSV people and what is left to reconcile (issue 16)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from farm.registry import StaffScan
from farm.staff import StaffKind, check_staff_file, plan_roster
from farm.tui.detail import TenantScreen
from tests.staff_files import TEACHERS, TEACHERS_HEADER, write_csv
from tests.tui.conftest import SIZE, DashFarm
from tests.tui.test_drill_down import TENANT, open_drill_down

TODAY = date(2026, 9, 1)


def import_teachers(dash_farm: DashFarm, tmp_path: Path) -> None:
    """The five teachers of the shared staff file, imported as ``farm staff import`` does."""
    path = write_csv(tmp_path / "enseignants.csv", TEACHERS_HEADER, TEACHERS)
    rows = list(check_staff_file(path, StaffKind.TEACHERS, tenant=TENANT, today=TODAY).rows)
    logins = {row.sync_key: row.login or row.lastname.lower() for row in rows}
    registry = dash_farm.registry
    current = registry.staff_roster([TENANT], retired=True)
    plan = plan_roster(StaffKind.TEACHERS, rows, logins, current, file=path.name, tenants=[TENANT])
    registry.apply_roster_plan(plan)


def staff_text(screen: TenantScreen) -> str:
    console = Console(width=120, record=True)
    console.print(screen.query_one("#staff", Static).content)
    return console.export_text()


async def test_a_tenant_without_staff_csv_says_so(dash_farm: DashFarm) -> None:
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_drill_down(app, pilot)

        assert "Staff CSV: no one imported, never reconciled" in staff_text(screen)


async def test_imported_people_are_counted_before_any_reconciliation(
    dash_farm: DashFarm, tmp_path: Path
) -> None:
    import_teachers(dash_farm, tmp_path)
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_drill_down(app, pilot)

        assert "Staff CSV: 5 people imported · never reconciled" in staff_text(screen)


async def test_pending_pairs_and_ghosts_of_the_last_scan_are_shown_with_the_command(
    dash_farm: DashFarm, tmp_path: Path
) -> None:
    import_teachers(dash_farm, tmp_path)
    dash_farm.registry.record_staff_scan(
        StaffScan(TENANT, datetime(2026, 9, 1, 1, 30, tzinfo=UTC), 3, 0, 0, 1)
    )
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_drill_down(app, pilot)
        text = staff_text(screen)

        assert "5 people imported · 3 pending reconciliations · 1 ghost" in text
        assert "ambiguous" not in text  # nothing ambiguous: not said
        # When the registry recorded the scan, in the farm's zone, to the minute.
        assert re.search(r"\(last scan \d{4}-\d\d-\d\d \d\d:\d\d\)", text)
        assert f"review with: farm reconcile --tenant {TENANT}" in text


async def test_a_clean_scan_asks_for_nothing(dash_farm: DashFarm, tmp_path: Path) -> None:
    import_teachers(dash_farm, tmp_path)
    dash_farm.registry.record_staff_scan(
        StaffScan(TENANT, datetime(2026, 9, 1, 1, 30, tzinfo=UTC), 0, 0, 0, 0)
    )
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_drill_down(app, pilot)
        text = staff_text(screen)

        assert "5 people imported · 0 pending reconciliations · 0 ghosts" in text
        assert "farm reconcile" not in text
