"""The tenant table: what an operator reads in each cell."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult

from farm.tui.rows import TenantInfo
from farm.tui.table import TenantTable
from farm.tui.view import FarmView

TENANTS = [
    TenantInfo("0340041K", "Lycée Clemenceau", "cite-clemenceau"),
    TenantInfo("cfa-occ-montpellier", "CFA Montpellier", "cfa-occitanie", kind="netypareo"),
    TenantInfo("cfa-occ-monteux", "CFA Monteux", "cfa-occitanie", kind="netypareo"),
]


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TenantTable()


async def test_long_tenant_ids_are_shown_whole_and_stay_apart() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 20)) as pilot:
        table = app.query_one(TenantTable)
        view = FarmView(TENANTS)
        table.show(view, view.visible(), (), set(), datetime.now(UTC))
        await pilot.pause()

        shown = {str(table.get_row_at(row)[0]).strip() for row in range(table.row_count)}
        assert shown == {t.id for t in TENANTS}
        rendered = "\n".join(str(table.render_line(y).text) for y in range(table.row_count + 1))
        assert "cfa-occ-montpellier" in rendered
        assert "cfa-occ-monteux" in rendered
