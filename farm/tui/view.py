"""The dashboard's view-model: events folded into one row per tenant. Pure.

:class:`FarmView` starts from the tenants the registry knows and their last
reports, then folds :class:`~farm.engine.events.Event` values in as they
come, from this process or from a batch started anywhere else. Folding only
changes values and remembers which rows changed; the screen redraws those
rows on its own steady tick, so a stream of thousands of events costs a few
dictionary updates each, never a redraw.

Nothing here imports Textual or touches the registry: it is unit-tested with
plain values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from farm.clock import clock_text, zone
from farm.engine.events import Event, EventKind, Phase
from farm.engine.health import PROBLEMS, SEVERITY, outcome_state
from farm.engine.health import State as Health
from farm.tui.filter import SORT_KEYS, Filter
from farm.tui.rows import DashboardRow, LastReport, RowState, TenantHealth, TenantInfo

_FROM_PHASE: Mapping[Phase, RowState] = {
    Phase.QUEUED: RowState.QUEUED,
    Phase.WAITING: RowState.WAITING,
    Phase.READING: RowState.RUNNING,
    Phase.PLANNING: RowState.RUNNING,
    Phase.APPLYING: RowState.RUNNING,
    Phase.SUCCEEDED: RowState.SUCCEEDED,
    Phase.FAILED: RowState.FAILED,
    Phase.INTERRUPTED: RowState.INTERRUPTED,
    Phase.SKIPPED: RowState.SKIPPED,
}

#: Report statuses (``TenantStatus`` values) as states.
_FROM_STATUS: Mapping[str, RowState] = {
    "succeeded": RowState.SUCCEEDED,
    "partial": RowState.PARTIAL,
    "failed": RowState.FAILED,
    "interrupted": RowState.INTERRUPTED,
    "skipped": RowState.SKIPPED,
}

_PROBLEM_STATES = frozenset(RowState(s.value) for s in PROBLEMS)


@dataclass(frozen=True, slots=True)
class Summary:
    """The summary bar's figures."""

    running: int
    queued: int
    succeeded: int
    partial: int
    failed: int
    never: int
    progress: float | None  # share of the active runs' tenants that are done
    active_runs: tuple[int, ...]
    interrupted: int = 0
    skipped: int = 0


@dataclass
class _RunProgress:
    total: int
    finished: set[str] = field(default_factory=set)


class FarmView:
    """Every tenant's row, kept current by folding events; see the module docstring."""

    def __init__(
        self,
        tenants: Iterable[TenantInfo],
        reports: Iterable[LastReport] = (),
        *,
        log_size: int = 500,
        samples: int = 60,
        health: Iterable[TenantHealth] = (),
        where: ZoneInfo | None = None,
    ) -> None:
        self.zone = where or zone(None)
        self.rows: dict[str, DashboardRow] = {
            t.id: DashboardRow(id=t.id, name=t.name, site=t.site, kind=t.kind, tags=t.tags)
            for t in tenants
        }
        self.dirty: set[str] = set(self.rows)
        self.log: deque[str] = deque(maxlen=log_size)
        self.new_log: list[str] = []
        self.throughput: deque[float] = deque([0.0] * samples, maxlen=samples)
        self._ops = 0
        self._runs: dict[int, _RunProgress] = {}
        self.finished_runs: list[int] = []
        for report in reports:
            self.take_report(report)
        self.take_health(health)

    # -- folding -------------------------------------------------------------------------

    def take_report(self, report: LastReport) -> None:
        """Show ``report`` as the tenant's last result (at start, or after a run elsewhere)."""
        row = self.rows.get(report.tenant)
        if row is None:
            return
        row.state = _FROM_STATUS.get(report.status, RowState.FAILED)
        row.phase = report.status
        row.run_id = report.run_id
        row.last_run_at = report.at
        row.message = report.reason or ""
        row.simulated = report.simulated
        row.done = row.total = 0
        row.take_counts(report.counts)
        self.dirty.add(row.id)

    def take_health(self, health: Iterable[TenantHealth]) -> None:
        """The registry's word on tenants' states: it decides, a run's last phase does not."""
        for item in health:
            row = self.rows.get(item.tenant)
            if row is None:
                continue
            state = RowState(item.state)
            row.problem = state if state in _PROBLEM_STATES else None
            row.level, row.why = item.level, item.why
            if not row.state.active:
                row.state = state
            self.dirty.add(row.id)

    def fold(self, events: Iterable[Event]) -> None:
        """Fold events in, oldest first."""
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        kind = event.kind
        if kind is EventKind.RUN_STARTED:
            self._runs[event.run_id] = _RunProgress(total=int(event.counts.get("tenants", 0)))
            self._say(
                event, f"run {event.run_id} started: {event.counts.get('tenants', 0)} tenants"
            )
            return
        if kind is EventKind.RUN_FINISHED:
            self._runs.pop(event.run_id, None)
            self.finished_runs.append(event.run_id)
            self._say(event, f"run {event.run_id} finished: {event.message}")
            return
        row = self.rows.get(event.tenant or "")
        if row is None:
            return
        if kind is EventKind.PROGRESS:
            done = event.done or 0
            if row.run_id == event.run_id and done > row.done:
                self._ops += done - row.done
            row.run_id = event.run_id
            row.done, row.total = done, event.total or 0
            self.dirty.add(row.id)
        elif kind is EventKind.PHASE and event.phase is not None:
            self._phase(row, event, event.phase)
        elif kind is EventKind.WARNING:
            self._say(event, f"{row.id}: {event.message}")

    def _phase(self, row: DashboardRow, event: Event, phase: Phase) -> None:
        if row.run_id != event.run_id:
            row.done = row.total = 0
        row.run_id = event.run_id
        row.state = _FROM_PHASE[phase]
        row.phase = phase.value
        self.dirty.add(row.id)
        if phase is Phase.QUEUED:
            row.message = ""
        if phase is Phase.WAITING:
            row.message = event.message
        if not phase.final:
            return
        row.last_run_at = event.at
        row.message = event.message
        ended = RowState(outcome_state(phase, event.counts) or Health.FAILED)
        row.phase = ended.value
        if ended in _PROBLEM_STATES and (
            row.problem is None or SEVERITY[Health(ended)] < SEVERITY[Health(row.problem)]
        ):
            row.problem = ended
        # A run that succeeded may be a delta after a failed full sync: the open problem
        # stays until the registry (take_health) says a covering run cleared it.
        row.state = row.problem if row.problem is not None else ended
        if event.counts or phase is Phase.SUCCEEDED:
            row.take_counts(event.counts)
        progress = self._runs.get(event.run_id)
        if progress is not None:
            progress.finished.add(row.id)
        if phase is not Phase.SUCCEEDED or event.message:
            self._say(
                event, f"{row.id}: {row.phase}" + (f": {event.message}" if event.message else "")
            )

    def recall(self, events: Iterable[Event]) -> None:
        """Write past events (from before the dashboard opened) to the log, rows untouched.

        The rows start from the registry's reports; these lines only tell the
        story of the recent runs in the log pane, as :meth:`apply` would have.
        """
        for event in events:
            text = _past_text(event)
            if text:
                self._say(event, text)

    def _say(self, event: Event, text: str) -> None:
        line = f"{clock_text(event.at, self.zone)} {text}"
        self.log.append(line)
        self.new_log.append(line)

    # -- reading -------------------------------------------------------------------------

    def sample(self, seconds: float) -> float:
        """Close a throughput sample: operations applied per second since the last one."""
        rate = self._ops / seconds if seconds > 0 else 0.0
        self._ops = 0
        self.throughput.append(rate)
        return rate

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    def take_log(self) -> list[str]:
        lines, self.new_log = self.new_log, []
        return lines

    def visible(
        self, chosen: Filter | None = None, sort: str = "id", reverse: bool = False
    ) -> list[str]:
        """Ids of the rows ``chosen`` keeps, sorted by the ``sort`` column."""
        rows: Iterable[DashboardRow] = self.rows.values()
        if chosen is not None and not chosen.empty:
            rows = (r for r in rows if chosen.matches(r))
        key = SORT_KEYS[sort]
        return [r.id for r in sorted(rows, key=key, reverse=reverse)]

    def summary(self) -> Summary:
        counts = dict.fromkeys(RowState, 0)
        for row in self.rows.values():
            counts[row.state] += 1
        total = sum(p.total for p in self._runs.values())
        done = sum(len(p.finished) for p in self._runs.values())
        return Summary(
            running=counts[RowState.RUNNING],
            queued=counts[RowState.QUEUED] + counts[RowState.WAITING],
            succeeded=counts[RowState.SUCCEEDED],
            partial=counts[RowState.PARTIAL],
            failed=counts[RowState.FAILED],
            never=counts[RowState.NEVER],
            interrupted=counts[RowState.INTERRUPTED],
            skipped=counts[RowState.SKIPPED],
            progress=(done / total) if total else None,
            active_runs=tuple(sorted(self._runs)),
        )

    def running_runs(self, ids: Sequence[str]) -> set[int]:
        """The runs the given tenants are active in."""
        return {
            row.run_id
            for i in ids
            if (row := self.rows.get(i)) is not None and row.state.active and row.run_id
        }


def _past_text(event: Event) -> str | None:
    """The log line :meth:`FarmView.apply` writes for ``event``, or None when it writes none."""
    kind = event.kind
    if kind is EventKind.RUN_STARTED:
        return f"run {event.run_id} started: {event.counts.get('tenants', 0)} tenants"
    if kind is EventKind.RUN_FINISHED:
        return f"run {event.run_id} finished: {event.message}"
    if kind is EventKind.WARNING and event.tenant:
        return f"{event.tenant}: {event.message}"
    if kind is EventKind.PHASE and event.phase is not None and event.phase.final and event.tenant:
        ended = outcome_state(event.phase, event.counts) or Health.FAILED
        if event.phase is Phase.SUCCEEDED and not event.message:
            return None
        return f"{event.tenant}: {ended.value}" + (f": {event.message}" if event.message else "")
    return None
