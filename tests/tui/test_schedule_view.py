"""The scheduled tasks view (``T``), Moodle-like, and running one task of one tenant (issue 19)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from textual.widgets import DataTable

from farm.tui.dialogs import ConfirmScreen
from farm.tui.schedule_view import ScheduleScreen
from tests.tui.conftest import SIZE, DashFarm
from tests.tui.test_pilot import until

TENANT = "0310024H"


def override_users(dash_farm: DashFarm) -> None:
    """0310024H's file runs its users task at 05:00 on weekdays: an override."""
    farm = dash_farm.farm
    tenant = dataclasses.replace(
        farm.tenants[TENANT], schedules=MappingProxyType({"users": "0 5 * * 1-5"})
    )
    dash_farm.farm = dataclasses.replace(farm, tenants={**farm.tenants, TENANT: tenant})


def row_of(screen: ScheduleScreen, tenant: str, task: str) -> int:
    (index,) = [n for n, (t, line) in enumerate(screen.shown) if (t, line.task) == (tenant, task)]
    return index


def cells(screen: ScheduleScreen, tenant: str, task: str) -> list[str]:
    table = screen.query_one("#tasks", DataTable)
    return [str(cell) for cell in table.get_row_at(row_of(screen, tenant, task))]


async def test_t_lists_every_task_with_cron_fields_results_next_runs_and_overrides(
    dash_farm: DashFarm,
) -> None:
    override_users(dash_farm)
    app = dash_farm.app(commander=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen) and bool(app.screen.rows))
        screen = app.screen
        assert isinstance(screen, ScheduleScreen)
        assert len(screen.rows) == 3 * 5  # three establishments, five tasks each
        users = cells(screen, TENANT, "users")
        assert users[:7] == [TENANT, "users", "0", "5", "*", "*", "1-5"]
        assert users[7:9] == ["-", "—"]  # never run
        assert users[10] == "override"
        other = cells(screen, "0340041K", "users")
        assert other[2:4] == ["30", "2"]
        assert other[10] == ""
        delta = cells(screen, TENANT, "delta")
        assert delta[9] == "CLI only"
        assert delta[2:7] == ["", "", "", "", ""]
        await pilot.press("slash", *"bellevue")  # no tenant id has it: nothing shown
        assert screen.shown == []
        await pilot.press("escape")
        assert len(screen.shown) == 15  # Esc in the filter clears it


async def test_enter_runs_one_task_of_one_tenant_after_asking(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen) and bool(app.screen.rows))
        screen = app.screen
        assert isinstance(screen, ScheduleScreen)
        table = screen.query_one("#tasks", DataTable)
        (index,) = [
            n for n, (t, line) in enumerate(screen.shown) if (t, line.task) == (TENANT, "users")
        ]
        table.move_cursor(row=index)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        asking = app.screen
        assert isinstance(asking, ConfirmScreen)
        assert asking.question == f"Run the task users of {TENANT} now?"
        await pilot.press("y")
        commander = app.commander
        assert commander is not None
        await until(pilot, lambda: bool(dash_farm.registry.list_runs()) and not commander.busy)
        (run,) = dash_farm.registry.list_runs()
        assert run.selection["task"] == "users"
        assert run.selection["tenants"] == [TENANT]
        assert run.options["entities"] == ["users"]
        assert dash_farm.accounts("lycee-bellevue") == 5
        await pilot.press("f5")
        await until(pilot, lambda: cells(screen, TENANT, "users")[8] == "succeeded")
