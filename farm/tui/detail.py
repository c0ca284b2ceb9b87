"""The drill-down: one tenant's last report, its run history and its schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import anyio.to_thread
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from farm.clock import label, local_text, zone
from farm.registry import JournalEntry, StaffTally, TenantReport
from farm.tui.charts import NightBars, result_strip
from farm.tui.feed import HistoryPoint, RegistryFeed, TenantDetail
from farm.tui.nights import Night, tenant_nights
from farm.tui.rows import TenantInfo, duration_text


def _when(moment: datetime | None, where: ZoneInfo | None = None) -> str:
    """A time in the farm's zone (the default zone without a farm); the title names the zone."""
    if moment is None:
        return "—"
    return local_text(moment, where or zone(None))


def _zone_title(title: str, where: ZoneInfo | None) -> str:
    return f"{title} (times {label(where or zone(None))})"


def report_view(report: TenantReport | None, run_id: int | None) -> RenderableType:
    """Counts per entity and action, errors with Moodle's reasons, warnings, durations."""
    if report is None:
        return Text("No report yet: this tenant was never synced.", style="dim")
    head = Text()
    head.append(f"Run {run_id}: ", style="bold")
    head.append(report.status.value + (" (simulation)" if report.simulated else ""))
    if report.reason:
        head.append(f" — {report.reason}", style="red")
    counts = Table(title="Operations", title_justify="left", show_edge=False)
    actions = sorted({a for entity in report.counts.values() for a in entity})
    counts.add_column("entity")
    for action in actions:
        counts.add_column(action, justify="right")
    for entity, done in sorted(report.counts.items()):
        counts.add_row(entity, *(str(done.get(a, "")) for a in actions))
    parts: list[RenderableType] = [head, counts if report.counts else Text("No operation.")]
    if report.errors:
        errors = Table(
            title=f"Errors ({len(report.errors)})", title_justify="left", show_edge=False
        )
        for header in ("record", "entity", "why not written"):
            errors.add_column(header)
        for error in report.errors[:50]:
            errors.add_row(error.key, error.entity or "", Text(error.reason, style="red"))
        parts.append(errors)
    if report.warnings:
        lines = Text(f"Warnings ({len(report.warnings)})\n", style="bold")
        for warning in report.warnings[:20]:
            key = f"{warning.key}: " if warning.key else ""
            lines.append(f"  {key}{warning.message}\n", style="yellow")
        parts.append(lines)
    if report.durations:
        durations = Text("Durations: ", style="bold")
        durations.append(
            "  ".join(f"{phase} {duration_text(s)}" for phase, s in report.durations.items())
        )
        parts.append(durations)
    return Group(*parts)


#: The run history's columns: key, header, width.
HISTORY_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("run", "Run", 8),
    ("finished", "Finished", 16),
    ("trigger", "Trigger", 15),
    ("status", "Status", 11),
    ("written", "Written", 7),
    ("duration", "Duration", 8),
)


def history_cells(point: HistoryPoint, shown: bool, where: ZoneInfo | None) -> tuple[Text, ...]:
    """One run of the history, one line: ``▶`` marks the run whose report is shown."""
    trigger = point.trigger + (" (sim)" if point.simulated else "")
    return (
        Text(("▶ " if shown else "  ") + str(point.run_id), style="bold" if shown else ""),
        Text(_when(point.at, where)),
        Text(trigger, style="dim" if point.simulated else ""),
        Text(point.status, style=_STATUS_STYLES.get(point.status, "")),
        Text(str(point.written), justify="right"),
        Text(duration_text(point.seconds), justify="right"),
    )


_STATUS_STYLES = {
    "succeeded": "green",
    "partial": "dark_orange",
    "failed": "bold red",
    "interrupted": "red",
    "skipped": "magenta",
}


def staff_view(tally: StaffTally | None, tenant: str, where: ZoneInfo | None) -> Text:
    """The tenant's staff CSV people, and what ``farm reconcile`` last found to review.

    ``Staff CSV: 12 people imported · 3 pending reconciliations · 1 ghost``,
    then when the scan was; a count that asks for work is coloured, and the
    command that does that work is named under it.
    """
    line = Text("Staff CSV: ", style="bold")
    people = tally.people if tally is not None else 0
    scan = tally.scan if tally is not None else None
    if people == 0 and scan is None:
        line.append("no one imported, never reconciled", style="dim")
        return line
    line.append(f"{people} {'person' if people == 1 else 'people'} imported")
    if scan is None:
        line.append(" · never reconciled", style="dim")
        return line
    pending = f"{scan.pending} pending reconciliation{'' if scan.pending == 1 else 's'}"
    line.append(" · ")
    line.append(pending, style="dark_orange" if scan.pending else "")
    line.append(" · ")
    ghosts = f"{scan.ghosts} ghost{'' if scan.ghosts == 1 else 's'}"
    line.append(ghosts, style="dark_orange" if scan.ghosts else "")
    if scan.ambiguous or scan.duplicates:
        line.append(f" · {scan.ambiguous} ambiguous · {scan.duplicates} duplicates", style="red")
    line.append(f"   (last scan {_when(scan.at, where)})", style="dim")
    if scan.pending or scan.ghosts or scan.ambiguous or scan.duplicates:
        line.append(f"\n  review with: farm reconcile --tenant {tenant}", style="dim")
    return line


def schedule_view(detail: TenantDetail) -> RenderableType:
    if not detail.schedule:
        return Text("No schedule known (the farm configuration is not loaded).", style="dim")
    table = Table(title=_zone_title("Schedule", detail.zone), title_justify="left", show_edge=False)
    for header in ("task", "cron", "last run", "last result", "next run"):
        table.add_column(header, no_wrap=True, overflow="ellipsis")
    for line in detail.schedule:
        table.add_row(
            line.task,
            line.cron + (f" ({line.override})" if line.override else ""),
            _when(line.last, detail.zone),
            line.result or "—",
            _when(line.next, detail.zone),
        )
    return table


#: The journal's columns: key, header, width.
JOURNAL_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("at", "When", 16),
    ("run", "Run", 5),
    ("what", "What", 20),
    ("key", "Record", 22),
    ("change", "Change", 60),
)


def change_text(entry: JournalEntry) -> str:
    """What a journal line changed, ``field: old → new`` for each field that changed."""
    old, new = entry.old or {}, entry.new or {}
    fields = [k for k in sorted({*old, *new}) if old.get(k) != new.get(k)]
    if entry.old is None or entry.new is None:
        shown = new if entry.new is not None else old
        return ", ".join(f"{k}={shown[k]}" for k in sorted(shown))
    return "; ".join(f"{k}: {old.get(k, '—')} → {new.get(k, '—')}" for k in fields)


def journal_cells(entry: JournalEntry, where: ZoneInfo | None) -> tuple[Text, ...]:
    return (
        Text(_when(entry.at, where)),
        Text(str(entry.run_id)),
        Text(f"{entry.entity} {entry.action}"),
        Text(entry.key, overflow="ellipsis", no_wrap=True),
        Text(change_text(entry), overflow="ellipsis", no_wrap=True),
    )


class TenantScreen(Screen[None]):
    """Enter on a tenant opens this; Esc goes back.

    It opens on the last real run's report (:class:`TenantDetail`); Enter
    on a row of the run history opens that run's. ``r`` and ``s`` re-sync and
    simulate this tenant as on the main screen (not in watch-only), and the
    screen reloads itself when a run of the tenant ends. Its journal section
    lists the tenant's latest changes (``farm journal --tenant``), or one
    person's once a login, idnumber or source key is entered.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "resync", "Re-sync"),
        Binding("s", "simulate", "Simulate"),
        Binding("f5", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    TenantScreen #charts { height: 12; }
    TenantScreen NightBars { width: 1fr; }
    TenantScreen Static.section { margin: 1 1 0 1; }
    TenantScreen #history { height: auto; max-height: 16; margin: 0 1; }
    TenantScreen #journal { height: auto; max-height: 20; margin: 0 1; }
    TenantScreen #person { margin: 0 1; width: 60; }
    """

    def __init__(self, feed: RegistryFeed, tenant: TenantInfo) -> None:
        super().__init__()
        self.feed = feed
        self.tenant = tenant
        self.detail: TenantDetail | None = None
        self.shown_run: int | None = None
        self.nights: list[Night] = []
        self.journal: list[JournalEntry] = []
        self.person = ""  # whose journal is shown; "" for the whole tenant's
        self._seen: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        title = Text(f" {self.tenant.id}  {self.tenant.name}", style="bold")
        title.append(f"   site {self.tenant.site}   tags {', '.join(self.tenant.tags) or '—'}")
        yield Static(title, id="title")
        with VerticalScroll():
            yield Static(Text("Loading…", style="dim"), id="report", classes="section")
            yield Static(id="staff", classes="section")
            yield Static(id="strip", classes="section")
            with Horizontal(id="charts"):
                yield NightBars("Records written", "records", color="blue", id="written")
                yield NightBars("Seconds", "s", color="cyan", id="durations")
            yield Static(id="history-title", classes="section")
            history: DataTable[Text] = DataTable(id="history", cursor_type="row")
            for key, header, width in HISTORY_COLUMNS:
                history.add_column(header, key=key, width=width)
            yield history
            yield Static(id="schedule", classes="section")
            yield Static(id="journal-title", classes="section")
            yield Input(placeholder="person: login, idnumber or source key (Enter)", id="person")
            journal: DataTable[Text] = DataTable(id="journal", cursor_type="row")
            for key, header, width in JOURNAL_COLUMNS:
                journal.add_column(header, key=key, width=width)
            yield journal
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``r`` and ``s`` only where the dashboard can start runs."""
        if action in ("resync", "simulate"):
            return getattr(self.app, "commander", None) is not None
        return True

    async def on_mount(self) -> None:
        await self.action_reload()
        self.query_one("#history", DataTable).focus()
        self.set_interval(1.0, self._follow)

    async def action_reload(self) -> None:
        person = self.person

        def read() -> tuple[TenantDetail, list[JournalEntry] | None]:
            detail = self.feed.detail(self.tenant)
            return detail, self.feed.journal(self.tenant.id, person) if person else None

        detail, theirs = await anyio.to_thread.run_sync(read)
        self.show(detail)
        if theirs is not None:
            self.show_journal(theirs, person)  # a reload keeps the person asked for

    async def _follow(self) -> None:
        # The dashboard's view knows when a run of this tenant moves; reload when it ends.
        row = getattr(self.app, "view", None)
        found = None if row is None else row.rows.get(self.tenant.id)
        if found is None:
            return
        seen = (found.state, found.run_id, found.last_run_at)
        moved = self._seen is not None and seen != self._seen
        # The run's final event can come before its report is readable: try again next time.
        behind = self.detail is not None and found.run_id not in (None, *self.detail.reports)
        self._seen = seen
        if not found.state.active and (moved or behind):
            await self.action_reload()

    def show(self, detail: TenantDetail, run_id: int | None = None) -> None:
        """Show ``detail``, with run ``run_id``'s report (the last real run's by default)."""
        self.detail = detail
        if run_id is None or run_id not in detail.reports:
            run_id = None if detail.last_run is None else detail.last_run.id
        self.shown_run = run_id
        report = detail.reports.get(run_id) if run_id is not None else None
        self.query_one("#report", Static).update(report_view(report or detail.last, run_id))
        self.query_one("#staff", Static).update(
            staff_view(detail.staff, self.tenant.id, detail.zone)
        )
        now = getattr(self.app, "clock", lambda: datetime.now(UTC))()
        nights = tenant_nights(detail.points, detail.zone or zone(None), now)
        self.nights = nights
        self.query_one("#strip", Static).update(
            Group(Text("The last 30 nights: result of each", style="bold"), result_strip(nights))
        )
        self.query_one("#written", NightBars).draw(nights, lambda n: n.written)
        self.query_one("#durations", NightBars).draw(nights, lambda n: n.seconds)
        title = "Run history" if detail.history else "No run yet."
        hint = "   Enter opens a run's report" if detail.history else ""
        self.query_one("#history-title", Static).update(
            Text(_zone_title(title, detail.zone) if detail.history else title, style="bold")
            + Text(hint, style="dim")
        )
        table: DataTable[Text] = self.query_one("#history", DataTable)
        cursor = table.cursor_row
        table.clear()
        for point in reversed(detail.history):
            table.add_row(
                *history_cells(point, point.run_id == run_id, detail.zone), key=str(point.run_id)
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        self.query_one("#schedule", Static).update(schedule_view(detail))
        self.show_journal(detail.journal)

    def show_journal(self, entries: Sequence[JournalEntry], person: str = "") -> None:
        """The journal section: the tenant's latest changes, or one person's."""
        self.journal = list(entries)
        who = f" of {person}" if person else ""
        title = Text(f"Journal{who}: the latest {len(entries)} changes", style="bold")
        if not entries:
            title = Text(f"Journal{who}: no change recorded", style="bold")
        self.query_one("#journal-title", Static).update(title)
        table: DataTable[Text] = self.query_one("#journal", DataTable)
        table.clear()
        where = self.detail.zone if self.detail else None
        for n, entry in enumerate(entries):
            table.add_row(*journal_cells(entry, where), key=str(n))

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "person":
            return
        person = event.value.strip()
        self.person = person
        entries = await anyio.to_thread.run_sync(
            lambda: self.feed.journal(self.tenant.id, person or None)
        )
        self.show_journal(entries, person)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "history" or self.detail is None:
            event.stop()
            return
        event.stop()
        key = event.row_key.value
        if key is not None:
            self.show(self.detail, int(key))

    def _actions(self) -> TenantActions | None:
        app = self.app
        return app if isinstance(app, TenantActions) else None

    def action_resync(self) -> None:
        actions = self._actions()
        if actions is not None:
            actions.resync_tenant(self.tenant.id)

    def action_simulate(self) -> None:
        actions = self._actions()
        if actions is not None:
            actions.simulate_tenant(self.tenant.id)

    def action_back(self) -> None:
        self.app.pop_screen()


@runtime_checkable
class TenantActions(Protocol):
    """What the drill-down asks of the dashboard: a run of one tenant."""

    def resync_tenant(self, tenant: str) -> None: ...

    def simulate_tenant(self, tenant: str) -> None: ...
