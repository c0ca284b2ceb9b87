"""The farm dashboard: a Textual app on the registry.

It follows the registry on a steady tick (events since the last one, folded
into a :class:`~farm.tui.view.FarmView`) and redraws only then, never per
event, so a batch of a thousand tenants costs one small redraw per tick.
Its actions on runs (:class:`~farm.tui.run_actions.RunActions`) go through
a :class:`~farm.tui.commands.Commander`, which runs the real coordinator
under the same leases as ``farm sync``; without one the dashboard only
watches. This module keeps the layout, the tick, the keys and navigation.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import anyio
import anyio.to_thread
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Log

from farm.engine.events import Event, EventKind
from farm.registry import RegistryError
from farm.tui.commands import Commander
from farm.tui.detail import TenantScreen
from farm.tui.dialogs import ConfirmScreen, HelpScreen
from farm.tui.farm_history import FarmHistoryScreen
from farm.tui.feed import RegistryFeed
from farm.tui.filter import SORT_KEYS, Filter
from farm.tui.footer import DashboardFooter
from farm.tui.rows import LastReport, TenantHealth, TenantInfo
from farm.tui.run_actions import RunActions
from farm.tui.schedule_view import ScheduleScreen
from farm.tui.table import COLUMNS, SummaryBar, TenantTable
from farm.tui.view import FarmView

Clock = Callable[[], datetime]

_TABLE_ACTIONS = frozenset(
    {
        "filter",
        "mark",
        "clear_marks",
        "resync",
        "simulate",
        "cancel",
        "sync_tag",
        "sync_all",
        "sort",
        "sort_reverse",
        "toggle_log",
        "history",
        "schedule",
    }
)

#: The actions that start or stop runs: none of them in watch-only.
_RUN_ACTIONS = frozenset({"resync", "simulate", "cancel", "sync_tag", "sync_all"})

#: Seconds a quit waits for runs started here to stop cleanly before cancelling them.
QUIT_GRACE = 20.0

#: Redraw every age at most this often (seconds); dirty rows redraw every tick.
AGES_EVERY = 10.0


class FarmDashboard(RunActions):
    """See the module docstring."""

    TITLE = "farm dashboard"
    CSS = """
    #filter { display: none; }
    #filter.shown { display: block; }
    #log { height: 10; dock: bottom; border-top: solid $accent; display: none; }
    #log.shown { display: block; }
    TenantTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("space", "mark", "Mark", show=False),
        Binding("U", "clear_marks", "Unmark all", show=False),
        Binding("r", "resync", "Re-sync"),
        Binding("s", "simulate", "Simulate"),
        Binding("c", "cancel", "Cancel run"),
        Binding("t", "sync_tag", "Sync tag"),
        Binding("a", "sync_all", "Sync all"),
        Binding("o", "sort", "Sort"),
        Binding("O", "sort_reverse", "Reverse", show=False),
        Binding("l", "toggle_log", "Log"),
        Binding("h", "history", "Nights"),
        Binding("T", "schedule", "Tasks"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        feed: RegistryFeed,
        commander: Commander | None = None,
        *,
        tick: float = 0.5,
        clock: Clock | None = None,
        title: str | None = None,
        on_ready: Callable[[FarmDashboard], object] | None = None,
    ) -> None:
        super().__init__()
        self.feed = feed
        self.commander = commander
        self.tick_seconds = tick
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.view = FarmView([])
        self.filter = Filter()
        self.sort = "id"
        self.reverse = False
        self.marked: set[str] = set()
        # Wall and CPU seconds of each tick's fold and redraw, for tools/bench_tui.py.
        self.tick_times: list[float] = []
        self.tick_cpu: list[float] = []
        self._polling = False
        self._last_sample = time.monotonic()
        self._last_ages = 0.0
        self._on_ready = on_ready
        self.loaded = False
        if title:
            self.sub_title = title
        if commander is None:
            self.sub_title = f"{self.sub_title} — watch only" if self.sub_title else "watch only"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Table actions belong to the main screen: hidden on the drill-down and dialogs.

        In watch-only (no :class:`Commander`) the keys that start or stop runs
        are gone: not in the footer, the help or the palette.
        """
        if action in _RUN_ACTIONS and self.commander is None:
            return False
        return not (action in _TABLE_ACTIONS and len(self.screen_stack) > 1)

    # -- layout and start --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept by reference: ``query_one`` searches the active screen, maybe a drill-down.
        self.filter_input = Input(
            placeholder="filter: words, tag:…, state:…  (Esc clears)", id="filter"
        )
        self.summary_bar = SummaryBar()
        self.table = TenantTable(id="tenants")
        self.log_pane = Log(id="log", max_lines=500)
        yield Header()
        yield self.filter_input
        yield self.summary_bar
        yield self.table
        yield self.log_pane
        yield DashboardFooter()

    async def on_mount(self) -> None:
        try:
            tenants, reports, health, recent = await anyio.to_thread.run_sync(self._load)
        except RegistryError as error:
            # Nothing to show: leave the terminal as it was and say why.
            self.exit(return_code=1, message=f"cannot read the registry: {error}")
            return
        self.view = FarmView(tenants, reports, health=health, where=self.feed.zone)
        self.view.recall(recent)  # the log pane opens on the recent runs' story
        self.redraw(full=True)
        self.loaded = True
        self.set_interval(self.tick_seconds, self.on_tick)
        self.table.focus()
        if self._on_ready is not None:
            self._on_ready(self)

    def _load(
        self,
    ) -> tuple[list[TenantInfo], list[LastReport], list[TenantHealth], list[Event]]:
        tenants = self.feed.tenants()
        reports = self.feed.last_reports([t.id for t in tenants])
        health = self.feed.health(tenants)
        self.feed.start()
        return tenants, reports, health, self.feed.recent()

    def _poll(self) -> tuple[list[Event], list[TenantHealth]]:
        """New events, and the registry's word on the tenants whose run just ended."""
        events = self.feed.poll()
        ended = {
            e.tenant
            for e in events
            if e.tenant and e.kind is EventKind.PHASE and e.phase is not None and e.phase.final
        }
        rows = self.view.rows
        chosen = [
            TenantInfo(id=t, name=rows[t].name, site=rows[t].site) for t in ended if t in rows
        ]
        return events, self.feed.health(chosen) if chosen else []

    # -- the tick ----------------------------------------------------------------------

    async def on_tick(self) -> None:
        """Poll the registry, fold what came, redraw what changed."""
        if self._polling:
            return  # the registry is slow: skip a tick rather than pile up
        self._polling = True
        try:
            events, health = await anyio.to_thread.run_sync(self._poll)
        except RegistryError as error:
            self.notify(f"registry: {error}", severity="error", timeout=5)
            return
        finally:
            self._polling = False
        if not self.table.is_attached:
            return  # the app closed while the registry answered
        started, cpu = time.perf_counter(), time.thread_time()
        self.view.fold(events)
        self.view.take_health(health)
        now = time.monotonic()
        self.view.sample(now - self._last_sample)
        self._last_sample = now
        self.redraw()
        self.tick_times.append(time.perf_counter() - started)
        self.tick_cpu.append(time.thread_time() - cpu)

    def redraw(self, *, full: bool = False) -> None:
        """Draw the table, the summary and new log lines from the view."""
        table = self.table
        order = self.view.visible(self.filter, self.sort, self.reverse)
        now = time.monotonic()
        ages = full or now - self._last_ages > AGES_EVERY
        if ages:
            self._last_ages = now
        table.show(self.view, order, self.view.take_dirty(), self.marked, self.clock(), ages=ages)
        table.show_sort(self.sort, self.reverse)
        summary = self.view.summary()
        self.summary_bar.show(
            summary,
            list(self.view.throughput),
            len(order),
            len(self.view.rows),
            marked=len(self.marked),
        )
        lines = self.view.take_log()
        if lines:
            self.log_pane.write_lines(lines)

    # -- navigation ----------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        tenant = event.row_key.value
        row = self.view.rows.get(tenant or "")
        if row is None:
            return
        info = TenantInfo(id=row.id, name=row.name, site=row.site, kind=row.kind, tags=row.tags)
        self.push_screen(TenantScreen(self.feed, info))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        self.reverse = not self.reverse if key == self.sort else False
        self.sort = key
        self.redraw()

    def action_sort(self) -> None:
        keys = [k for k, _, _ in self.table.shown or COLUMNS]
        self.sort = keys[(keys.index(self.sort) + 1) % len(keys)]
        self.notify(f"sorted by {self.sort}", timeout=1.5)
        self.redraw()

    def action_sort_reverse(self) -> None:
        self.reverse = not self.reverse
        self.redraw()

    def action_filter(self) -> None:
        field = self.filter_input
        field.add_class("shown")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter = Filter.parse(event.value)
            self.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.remove_class("shown")
            self.table.focus()

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        field = self.filter_input
        if key == "escape" and self.focused is field:
            field.value = ""
            field.remove_class("shown")
            self.table.focus()

    def action_mark(self) -> None:
        tenant = self.table.current()
        if tenant is None:
            return
        self.marked.symmetric_difference_update({tenant})
        self.view.dirty.add(tenant)
        self.redraw()
        table = self.table
        table.move_cursor(row=min(table.cursor_row + 1, len(table.order) - 1))

    def action_clear_marks(self) -> None:
        """Unmark every tenant (htop's ``U``)."""
        if not self.marked:
            return
        self.view.dirty.update(self.marked)
        self.marked.clear()
        self.redraw()

    def action_toggle_log(self) -> None:
        self.log_pane.toggle_class("shown")

    def action_history(self) -> None:
        """The farm's last 30 nights: charts with axes and the tenants × nights heat-map."""
        self.push_screen(FarmHistoryScreen(self.feed, self.clock()))

    def action_schedule(self) -> None:
        """The scheduled tasks of every tenant, as Moodle's page shows them; Enter runs one."""
        self.push_screen(ScheduleScreen(self.feed))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(watch_only=self.commander is None))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen under the farm folder (or here), and say where.

        Textual's own saves to ~/Downloads, which a server often does not have.
        """
        farm = self.feed.farm
        folder = Path(path) if path else (farm.root / "screenshots" if farm else Path.cwd())
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(folder))
        except OSError as error:
            self.notify(f"screenshot not saved: {error}", severity="error", timeout=8)
            return
        self.notify(f"screenshot saved to {saved}", title="Screenshot", timeout=8)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":
                command = SystemCommand(
                    "Screenshot",
                    "Save an SVG of the screen under the farm folder (the current one without)",
                    lambda: self.set_timer(0.1, self.action_screenshot),
                )
            yield command
        for title, help_text, action in (
            ("Re-sync", "Re-sync the marked tenants or the one under the cursor", "resync"),
            ("Simulate", "Simulate, show the plan, then apply it", "simulate"),
            (
                "Cancel run",
                "Stop the run of the marked tenants or the one under the cursor",
                "cancel",
            ),
            ("Sync a tag", "Sync every tenant with a tag", "sync_tag"),
            ("Sync all", "Sync the whole farm", "sync_all"),
            ("Filter", "Filter tenants by text, tag:… or state:…", "filter"),
            ("Sort", "Sort by the next column", "sort"),
            ("Unmark all", "Clear every mark", "clear_marks"),
            ("Toggle log", "Show or hide the log pane", "toggle_log"),
            ("Farm history", "The last 30 nights: charts and tenants × nights", "history"),
            (
                "Scheduled tasks",
                "Every tenant's tasks: cron, last and next run, run now",
                "schedule",
            ),
            ("Help", "Keys and filter syntax", "help"),
        ):
            if action in _RUN_ACTIONS and self.commander is None:
                continue
            yield SystemCommand(title, help_text, _runner(self, action))

    async def action_quit(self) -> None:
        """Quit; with runs started here going, ask first and say what will stop."""
        asked = self.quit_question()
        if asked is None:
            await self.quit_now()
            return
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking (q pressed twice)
        question, detail = asked

        def answered(yes: bool | None) -> None:
            if yes:  # in a worker: the screen stays live while the runs stop
                self.run_worker(self.quit_now(), group="quit", exclusive=True)

        self.push_screen(ConfirmScreen(question, detail, danger=True), answered)

    async def quit_now(self) -> None:
        """Quit without asking; runs started here stop cleanly first (batches recorded)."""
        commander = self.commander
        if commander is not None and commander.busy:
            commander.stop_all()
            self.notify("stopping the runs started here after their current batches…")
            with anyio.move_on_after(QUIT_GRACE):
                await commander.wait_idle()
        self.exit()

    def run_with_signals(self) -> None:
        """:meth:`run`, with SIGTERM quitting at once (runs started here stop cleanly)."""

        def terminate(signum: int, frame: object) -> None:
            asyncio.get_running_loop().create_task(self.quit_now())

        previous = signal.signal(signal.SIGTERM, terminate)
        try:
            self.run()
        finally:
            signal.signal(signal.SIGTERM, previous)

    async def on_unmount(self) -> None:
        if self.commander is not None:
            await self.commander.aclose()


def _runner(app: FarmDashboard, action: str) -> Callable[[], object]:
    return lambda: app.run_action(action)


__all__ = ["SORT_KEYS", "FarmDashboard"]
