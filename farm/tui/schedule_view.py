"""The scheduled tasks (``T``), as Moodle's scheduled-task page shows them, per tenant and task.

One row per tenant and task: the five cron fields (minute, hour, day,
month, day of week), the last run that did the task and how it ended, the
next run, whether a site or tenant file overrides the farm's schedule, and
``CLI only`` for a disabled task (it runs only when asked). Enter on a row
runs that one task of that one tenant now, after asking (not in
watch-only). ``/`` filters the rows by tenant or task as on the main screen.
The tenant and task columns stay in view under horizontal scroll.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import anyio.to_thread
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from farm.clock import label, local_text
from farm.engine.schedule import DISABLED
from farm.tui.feed import RegistryFeed, ScheduleLine
from farm.tui.nights import RESULT_STYLES

#: Columns: key, header, width.
SCHEDULE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("tenant", "Tenant", 10),
    ("task", "Task", 9),
    ("minute", "Min", 4),
    ("hour", "Hour", 5),
    ("day", "Day", 3),
    ("month", "Mon", 3),
    ("weekday", "Wday", 4),
    ("last", "Last run", 16),
    ("result", "Result", 11),
    ("next", "Next run", 16),
    ("override", "Override", 8),
)

Row = tuple[str, ScheduleLine]


def cron_fields(cron: str) -> tuple[str, str, str, str, str]:
    """The five fields of a cron expression; a disabled task has none."""
    parts = cron.split()
    if cron == DISABLED or len(parts) != 5:
        return ("", "", "", "", "")
    minute, hour, day, month, weekday = parts
    return minute, hour, day, month, weekday


def schedule_cells(tenant: str, line: ScheduleLine, feed: RegistryFeed) -> tuple[Text, ...]:
    """One row of the scheduled tasks."""
    where = feed.zone
    disabled = line.cron == DISABLED
    result = line.result or "—"
    next_run = (
        Text("CLI only", style="dim italic") if disabled else Text(local_text(line.next, where))
    )
    return (
        Text(tenant),
        Text(line.task, style="dim" if disabled else ""),
        *(Text(field) for field in cron_fields(line.cron)),
        Text(local_text(line.last, where)),
        Text(result, style=RESULT_STYLES.get(result, "")),
        next_run,
        Text(line.override, style="yellow" if line.override else ""),
    )


@runtime_checkable
class TaskRunner(Protocol):
    """What the schedule view asks of the dashboard: one task of one tenant, now."""

    def run_task(self, tenant: str, task: str) -> None: ...


class ScheduleScreen(Screen[None]):
    """See the module docstring; Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("enter", "run_now", "Run now"),
        Binding("slash", "filter", "Filter"),
        Binding("f5", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    ScheduleScreen #schedule-filter { display: none; }
    ScheduleScreen #schedule-filter.shown { display: block; }
    ScheduleScreen #tasks { height: 1fr; }
    """

    def __init__(self, feed: RegistryFeed) -> None:
        super().__init__()
        self.feed = feed
        self.rows: tuple[Row, ...] = ()
        self.shown: list[Row] = []
        self.words = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Loading the scheduled tasks…", style="dim"), id="schedule-title")
        yield Input(placeholder="filter: tenant or task (Esc clears)", id="schedule-filter")
        table: DataTable[Text] = DataTable(
            id="tasks", cursor_type="row", zebra_stripes=True, fixed_columns=2
        )
        widest = max((len(t) for t in self.feed.farm.tenants), default=0) if self.feed.farm else 0
        for key, header, width in SCHEDULE_COLUMNS:
            table.add_column(
                header, key=key, width=max(width, widest) if key == "tenant" else width
            )
        yield table
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_now":
            return getattr(self.app, "commander", None) is not None
        return True

    async def on_mount(self) -> None:
        await self.action_reload()
        self.query_one("#tasks", DataTable).focus()

    async def action_reload(self) -> None:
        self.rows = await anyio.to_thread.run_sync(self.feed.farm_schedule)
        self.draw()

    def draw(self) -> None:
        words = self.words.lower().split()
        self.shown = [
            row for row in self.rows if all(w in f"{row[0]} {row[1].task}".lower() for w in words)
        ]
        table: DataTable[Text] = self.query_one("#tasks", DataTable)
        table.clear()
        for index, (tenant, line) in enumerate(self.shown):
            table.add_row(*schedule_cells(tenant, line, self.feed), key=str(index))
        title = Text(" Scheduled tasks", style="bold")
        if not self.rows:
            title.append("   none known: the farm configuration is not loaded", style="dim")
        else:
            off = sum(1 for _, line in self.rows if line.cron == DISABLED)
            title.append(
                f"   {len(self.shown)} of {len(self.rows)} tasks, {off} CLI only;"
                f" times {label(self.feed.zone)}"
            )
            if getattr(self.app, "commander", None) is not None:
                title.append("   Enter runs the task now", style="dim")
        self.query_one("#schedule-title", Static).update(title)

    def current(self) -> Row | None:
        table: DataTable[Text] = self.query_one("#tasks", DataTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_run_now()

    def action_run_now(self) -> None:
        row = self.current()
        app = self.app
        if row is None or not isinstance(app, TaskRunner):
            return
        app.run_task(row[0], row[1].task)

    def action_filter(self) -> None:
        field = self.query_one("#schedule-filter", Input)
        field.add_class("shown")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.words = event.value
        self.draw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#tasks", DataTable).focus()

    def action_back(self) -> None:
        field = self.query_one("#schedule-filter", Input)
        if self.focused is field:
            field.value = ""
            field.remove_class("shown")
            self.query_one("#tasks", DataTable).focus()
            return
        self.app.pop_screen()
