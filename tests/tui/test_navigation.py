"""Moving, sorting and marking the way k9s, lazygit and htop users expect (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey

from farm.registry import RunStatus, RunTrigger, TenantReport, TenantStatus
from farm.tui.rows import TenantInfo
from farm.tui.table import TenantTable
from farm.tui.view import FarmView
from tests.tui.conftest import SIZE, DashFarm
from tests.tui.test_pilot import until

MANY = [TenantInfo(f"{n:07d}A", f"Collège {n}", f"site-{n % 5}") for n in range(60)]


class ManyApp(App[None]):
    """The table alone, with sixty tenants: more than a screen."""

    def compose(self) -> ComposeResult:
        yield TenantTable()

    def on_mount(self) -> None:
        table = self.query_one(TenantTable)
        view = FarmView(MANY)
        table.show(view, view.visible(), (), set(), datetime.now(UTC))
        table.focus()


async def test_j_k_g_shift_g_home_end_and_half_pages_move_the_cursor() -> None:
    app = ManyApp()
    async with app.run_test(size=(100, 24)) as pilot:
        table = app.query_one(TenantTable)
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 59
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("end")
        assert table.current() == "0000059A"
        await pilot.press("home")
        assert table.current() == "0000000A"
        await pilot.press("ctrl+d")
        half = table.cursor_row
        assert 5 <= half <= 15  # half of a 24-line screen's rows
        await pilot.press("ctrl+d")
        assert table.cursor_row == 2 * half
        await pilot.press("ctrl+u", "ctrl+u", "ctrl+u")
        assert table.cursor_row == 0


def header(table: TenantTable, key: str) -> str:
    return str(table.columns[ColumnKey(key)].label)


async def test_the_sorted_column_shows_its_direction(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        assert header(app.table, "id") == "Tenant ▲"
        assert header(app.table, "name") == "Name"
        await pilot.press("o")
        assert header(app.table, "name") == "Name ▲"
        assert header(app.table, "id") == "Tenant"
        await pilot.press("O")
        assert header(app.table, "name") == "Name ▼"
        assert app.table.order == ["0340041K", "0310024H", "0341921D"]


async def test_marks_are_counted_in_the_summary_and_u_clears_them(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("space", "space")
        assert app.marked == {"0310024H", "0340041K"}
        figures = str(app.summary_bar.figures.render())
        assert "2 marked (U unmarks)" in figures
        await pilot.press("U")
        assert app.marked == set()
        assert "marked" not in str(app.summary_bar.figures.render())
        assert str(app.table.get_row("0310024H")[0]).strip() == "0310024H"  # no ● left


async def test_the_reason_column_says_why_a_tenant_is_not_ok(dash_farm: DashFarm) -> None:
    registry = dash_farm.registry
    run = registry.start_run(trigger=RunTrigger.BATCH, selection={"tenants": ["0341921D"]})
    registry.record_tenant_report(
        run,
        TenantReport(
            tenant="0341921D",
            site="cite-clemenceau",
            status=TenantStatus.FAILED,
            reason="source ent: directory unreachable (connection refused)",
        ),
    )
    registry.finish_run(run, RunStatus.FAILED)
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        reason = str(app.table.get_row("0341921D")[-1])
        assert "directory unreachable" in reason
        assert str(app.table.get_row("0310024H")[-1]) == "never synced successfully"
        await pilot.press("slash", *"state:failed", "enter")
        assert app.table.order == ["0341921D"]
