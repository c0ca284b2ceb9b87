"""The live progress ``farm sync`` draws in a terminal, from the run's event stream."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from farm.config import TenantConfig
from farm.engine.events import Event, EventKind


class ProgressView:
    """A line per tenant and an overall bar, drawn from the event stream (for terminals)."""

    def __init__(self, tenants: tuple[TenantConfig, ...]) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[phase]}"),
        )
        self.overall = self.progress.add_task("all tenants", total=len(tenants), phase="")
        self.rows: dict[str, TaskID] = {
            t.id: self.progress.add_task(f"  {t.id} {t.site}", total=None, phase="queued")
            for t in tenants
        }
        self.finished: set[str] = set()

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()

    def update(self, event: Event) -> None:
        row = self.rows.get(event.tenant or "")
        if row is None:
            return
        if event.kind is EventKind.PROGRESS and event.total:
            self.progress.update(row, completed=event.done or 0, total=event.total)
        elif event.kind is EventKind.PHASE and event.phase is not None:
            text = event.phase.value
            if event.phase.final or event.phase.value == "waiting":
                text += f": {event.message}" if event.message else ""
            self.progress.update(row, phase=text)
            if event.phase.final and event.tenant not in self.finished:
                self.finished.add(event.tenant or "")
                total = self.progress.tasks[row].total or 1
                self.progress.update(row, total=total, completed=total)
                self.progress.advance(self.overall)
