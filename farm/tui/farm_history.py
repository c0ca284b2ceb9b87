"""The farm's last 30 nights (``h``): records written, run time, tenants not ok, and a heat-map.

Three bar charts with axes (:class:`~farm.tui.charts.NightBars`), the farm's
result strip, then one strip per tenant (tenants × nights), the tenants with
a bad last night and the most bad nights first. Read from the registry in a
worker thread when the screen opens (F5 reads again).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import anyio.to_thread
from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from farm.clock import label
from farm.tui.charts import NightBars, heat_map, result_strip
from farm.tui.feed import FarmHistory, RegistryFeed
from farm.tui.nights import NIGHTS, Night, farm_nights, tenant_nights


class FarmHistoryScreen(Screen[None]):
    """See the module docstring; Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f5", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    FarmHistoryScreen #farm-charts { height: 12; }
    FarmHistoryScreen NightBars { width: 1fr; }
    FarmHistoryScreen Static.section { margin: 1 1 0 1; }
    """

    def __init__(self, feed: RegistryFeed, now: datetime) -> None:
        super().__init__()
        self.feed = feed
        self.now = now
        self.nights: list[Night] = []
        self.tenants: dict[str, list[Night]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Loading the last 30 nights…", style="dim"), id="farm-title")
        with VerticalScroll():
            with Horizontal(id="farm-charts"):
                yield NightBars("Records written", "records", color="blue", id="farm-written")
                yield NightBars("Minutes", "min", color="cyan", id="farm-minutes")
                yield NightBars("Tenants not ok", "tenants", color="red", id="farm-failed")
            yield Static(id="farm-strip", classes="section")
            yield Static(id="farm-heat", classes="section")
        yield Footer()

    async def on_mount(self) -> None:
        await self.action_reload()

    async def action_reload(self) -> None:
        history = await anyio.to_thread.run_sync(self.feed.farm_history, NIGHTS)
        self.show(history)

    def show(self, history: FarmHistory) -> None:
        where = history.zone
        self.tenants = {
            t: tenant_nights(points, where, self.now) for t, points in history.tenants.items()
        }
        self.nights = farm_nights(history.tenants, history.runs, where, self.now)
        self.query_one("#farm-written", NightBars).draw(self.nights, lambda n: n.written)
        self.query_one("#farm-minutes", NightBars).draw(self.nights, lambda n: n.seconds / 60)
        self.query_one("#farm-failed", NightBars).draw(self.nights, lambda n: n.failed)
        ran = sum(1 for n in self.nights if not n.empty)
        title = Text(" The farm's last 30 nights", style="bold")
        title.append(
            f"   {len(self.tenants)} tenants, {ran} nights with runs, days in {label(where)}"
        )
        self.query_one("#farm-title", Static).update(title)
        strip = Text("Result per night (the worst tenant's)\n", style="bold")
        self.query_one("#farm-strip", Static).update(_titled(strip, result_strip(self.nights)))
        heading = Text("Tenants × nights (worst first)\n", style="bold")
        self.query_one("#farm-heat", Static).update(_titled(heading, heat_map(self.tenants)))

    def action_back(self) -> None:
        self.app.pop_screen()


def _titled(title: Text, body: RenderableType) -> RenderableType:
    return Group(title, body)
