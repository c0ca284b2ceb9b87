"""The drill-down: one tenant's last report, its run history and its schedule."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

import anyio.to_thread
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Sparkline, Static

from farm.clock import label, local_text, zone
from farm.registry import TenantReport
from farm.tui.feed import RegistryFeed, TenantDetail
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


def history_view(detail: TenantDetail) -> RenderableType:
    table = Table(
        title=_zone_title("Run history", detail.zone), title_justify="left", show_edge=False
    )
    for header in ("run", "finished", "trigger", "status", "people", "duration"):
        table.add_column(
            header,
            justify="right" if header in ("people", "duration") else "left",
            no_wrap=True,
            overflow="ellipsis",
        )
    for point in reversed(detail.history[-12:]):
        table.add_row(
            str(point.run_id),
            _when(point.at, detail.zone),
            point.trigger + (" (sim)" if point.simulated else ""),
            point.status,
            str(point.people),
            duration_text(point.seconds),
        )
    return table if detail.history else Text("No run yet.", style="dim")


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


class TenantScreen(Screen[None]):
    """Enter on a tenant opens this; Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f5", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    TenantScreen #charts { height: 5; }
    TenantScreen .chart { width: 1fr; height: 5; margin: 0 1; }
    TenantScreen .chart Sparkline { height: 3; }
    TenantScreen Static.section { margin: 1 1 0 1; }
    """

    def __init__(self, feed: RegistryFeed, tenant: TenantInfo) -> None:
        super().__init__()
        self.feed = feed
        self.tenant = tenant
        self.detail: TenantDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        title = Text(f" {self.tenant.id}  {self.tenant.name}", style="bold")
        title.append(f"   site {self.tenant.site}   tags {', '.join(self.tenant.tags) or '—'}")
        yield Static(title, id="title")
        with VerticalScroll():
            yield Static(Text("Loading…", style="dim"), id="report", classes="section")
            with Horizontal(id="charts"):
                with Vertical(classes="chart"):
                    yield Static("People synced per run")
                    yield Sparkline([0.0], id="people")
                with Vertical(classes="chart"):
                    yield Static("Duration per run")
                    yield Sparkline([0.0], id="durations")
            yield Static(id="history", classes="section")
            yield Static(id="schedule", classes="section")
        yield Footer()

    async def on_mount(self) -> None:
        await self.action_reload()

    async def action_reload(self) -> None:
        detail = await anyio.to_thread.run_sync(self.feed.detail, self.tenant)
        self.show(detail)

    def show(self, detail: TenantDetail) -> None:
        self.detail = detail
        run_id = None if detail.last_run is None else detail.last_run.id
        self.query_one("#report", Static).update(report_view(detail.last, run_id))
        people = [float(p.people) for p in detail.history] or [0.0]
        durations = [p.seconds for p in detail.history] or [0.0]
        self.query_one("#people", Sparkline).data = people
        self.query_one("#durations", Sparkline).data = durations
        self.query_one("#history", Static).update(history_view(detail))
        self.query_one("#schedule", Static).update(schedule_view(detail))

    def action_back(self) -> None:
        self.app.pop_screen()
