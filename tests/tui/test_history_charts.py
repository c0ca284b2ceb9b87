"""The history charts carry information: per night, with axes and values (issue 19)."""

from __future__ import annotations

from rich.console import Console
from textual.widgets import Static

from farm.tui.charts import NightBars
from farm.tui.detail import TenantScreen
from farm.tui.farm_history import FarmHistoryScreen
from tests.tui.conftest import DashFarm
from tests.tui.test_pilot import until
from tests.tui.test_snapshots import NOW, write_history


def text_of(static: Static) -> str:
    console = Console(width=120, record=True)
    console.print(static.content)
    return console.export_text()


async def test_h_opens_the_farm_s_nights_with_values_and_the_worst_tenants_first(
    dash_farm: DashFarm,
) -> None:
    write_history(dash_farm)
    app = dash_farm.app(commander=False, clock_at=NOW)
    async with app.run_test(size=(120, 50)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("h")
        await until(
            pilot, lambda: isinstance(app.screen, FarmHistoryScreen) and bool(app.screen.nights)
        )
        screen = app.screen
        assert isinstance(screen, FarmHistoryScreen)
        written = screen.query_one("#farm-written", NightBars)
        assert len(written.values) == 30
        # Run 1 (the 20th) created 15 people; run 2 (the 21st) wrote 3 + 6.
        assert written.values[-2:] == [15.0, 9.0]
        failed = screen.query_one("#farm-failed", NightBars)
        assert failed.values[-2:] == [0.0, 2.0]
        minutes = screen.query_one("#farm-minutes", NightBars)
        assert minutes.values[-1] == 2.0  # 08:48 to 08:50
        heat = text_of(screen.query_one("#farm-heat", Static)).splitlines()
        assert "bad nights" in heat[2]  # the axis line
        rows = [line.split()[0] for line in heat[3:6]]
        assert rows[-1] == "0310024H"  # the only tenant whose nights were all good comes last
        assert heat[3].rstrip().endswith("1")  # one bad night
        strip = text_of(screen.query_one("#farm-strip", Static))
        assert "21/11" in strip
        assert "failed" in strip  # the legend


async def test_the_drill_down_charts_the_tenant_s_nights(dash_farm: DashFarm) -> None:
    write_history(dash_farm)
    app = dash_farm.app(commander=False, clock_at=NOW)
    async with app.run_test(size=(120, 50)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("down", "enter")
        await until(
            pilot, lambda: isinstance(app.screen, TenantScreen) and app.screen.detail is not None
        )
        screen = app.screen
        assert isinstance(screen, TenantScreen)
        assert [n.status for n in screen.nights[-2:]] == ["succeeded", "partial"]
        assert screen.query_one("#written", NightBars).values[-2:] == [6.0, 6.0]
        assert screen.query_one("#durations", NightBars).values[-1] == 3.4
