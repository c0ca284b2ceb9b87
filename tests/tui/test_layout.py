"""The dashboard at 80x24 and with scrollbars: what stays, what drops, what is never cut."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult
from textual.widgets import Log

from farm.tui.detail import HISTORY_COLUMNS, history_cells
from farm.tui.feed import HistoryPoint
from farm.tui.footer import DashboardFooter
from farm.tui.rows import LastReport, TenantInfo
from farm.tui.table import PADDING, TenantTable
from farm.tui.view import FarmView
from tests.tui.conftest import DashFarm
from tests.tui.test_pilot import until

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
MANY = [TenantInfo(f"{n:07d}A", f"Collège {n}", f"site-{n % 5}") for n in range(60)]


class TableApp(App[None]):
    """The table over sixty tenants (more than a screen), and a log pane that can open."""

    CSS = """
    TenantTable { height: 1fr; }
    Log { height: 8; dock: bottom; display: none; }
    Log.shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        reports = [LastReport(t.id, 1, "succeeded", NOW, {"person.update": 130}) for t in MANY]
        self.view = FarmView(MANY, reports)

    def compose(self) -> ComposeResult:
        yield TenantTable()
        yield Log()

    def draw(self) -> None:
        table = self.query_one(TenantTable)
        table.show(self.view, self.view.visible(), (), set(), NOW)


def line(table: TenantTable, y: int) -> str:
    return str(table.render_line(y).text)


async def test_at_80_columns_the_id_state_and_reason_stay_and_every_column_fits(
    dash_farm: DashFarm,
) -> None:
    app = dash_farm.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        shown = [key for key, _, _ in app.table.shown]
        assert shown[:2] == ["id", "state"]
        assert shown[-1] == "reason"
        assert {"progress", "age"} <= set(shown)
        assert "name" not in shown  # dropped first, by priority
        width = sum(w + PADDING for _, _, w in app.table.shown)
        assert width <= app.table.scrollable_content_region.width
        assert app.table.max_scroll_x == 0  # nothing to scroll to
        # The footer keeps help and quit whatever else it has to cut.
        footer = app.query_one(DashboardFooter)
        kept = [k for k in footer.query("FooterKey") if k.has_class("-kept")]
        assert [getattr(k, "action", "") for k in kept] == ["help", "quit"]
        for key in kept:
            assert key.region.width > 0
            assert key.region.right <= 80


async def test_at_120_columns_more_columns_come_back() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.draw()
        await pilot.pause()
        table = app.query_one(TenantTable)
        shown = [key for key, _, _ in table.shown]
        assert {"site", "created"} <= set(shown)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "site" not in [key for key, _, _ in table.shown]
        assert line(table, 1).strip().startswith("0000000A")  # the rows were drawn again


async def test_updated_is_never_cut_by_a_scrollbar_or_the_log_pane() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 40)) as pilot:
        app.draw()
        await pilot.pause()
        table = app.query_one(TenantTable)
        assert table.max_scroll_y > 0  # sixty rows: the scrollbar is there
        assert "updated" in [key for key, _, _ in table.shown]
        assert "130" in line(table, 1)
        app.query_one(Log).add_class("shown")
        await pilot.pause()
        assert "130" in line(table, 1)
        assert table.max_scroll_x == 0


async def test_the_tenant_column_stays_under_horizontal_scroll() -> None:
    app = TableApp()
    async with app.run_test(size=(36, 20)) as pilot:
        app.draw()
        await pilot.pause()
        table = app.query_one(TenantTable)
        assert table.fixed_columns == 1
        assert table.max_scroll_x > 0  # id, state and reason do not fit 36 columns
        table.scroll_to(x=table.max_scroll_x, animate=False)
        await pilot.pause()
        assert line(table, 1).strip().startswith("0000000A")
        assert "succeeded" not in line(table, 1)  # the state column scrolled away


def test_history_rows_fit_80_columns_on_one_line() -> None:
    point = HistoryPoint(12345, NOW, "interrupted", 1234, 3725.0, True, "scheduled", 123456)
    cells = history_cells(point, True, None)
    assert all("\n" not in cell.plain for cell in cells)
    for cell, (_, _, width) in zip(cells, HISTORY_COLUMNS, strict=True):
        assert cell.cell_len <= width, cell
    assert sum(width + PADDING for _, _, width in HISTORY_COLUMNS) <= 78
