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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from farm.clock import clock_text, zone
from farm.engine.events import Event, EventKind, Phase
from farm.engine.health import NOT_OK, PROBLEMS, SEVERITY, outcome_state, state_matches
from farm.engine.health import State as Health


class State(StrEnum):
    """What the state column says about a tenant.

    The final states are :class:`farm.engine.health.State`'s, with the same
    values and meaning; queued, waiting and running are what a run is doing.
    """

    NEVER = "never"  # never synced
    QUEUED = "queued"
    WAITING = "waiting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    @property
    def active(self) -> bool:
        return self in (State.QUEUED, State.WAITING, State.RUNNING)


_FROM_PHASE: Mapping[Phase, State] = {
    Phase.QUEUED: State.QUEUED,
    Phase.WAITING: State.WAITING,
    Phase.READING: State.RUNNING,
    Phase.PLANNING: State.RUNNING,
    Phase.APPLYING: State.RUNNING,
    Phase.SUCCEEDED: State.SUCCEEDED,
    Phase.FAILED: State.FAILED,
    Phase.INTERRUPTED: State.INTERRUPTED,
    Phase.SKIPPED: State.SKIPPED,
}

#: Report statuses (``TenantStatus`` values) as states.
_FROM_STATUS: Mapping[str, State] = {
    "succeeded": State.SUCCEEDED,
    "partial": State.PARTIAL,
    "failed": State.FAILED,
    "interrupted": State.INTERRUPTED,
    "skipped": State.SKIPPED,
}

# Which counts of a report make the created / updated / suspended columns:
# the people of the site, since accounts are what operators watch.
_CREATED = ("person.create", "person.adopt")
_UPDATED = ("person.update", "person.revive")
_SUSPENDED = ("person.suspend", "person.delete")


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """A tenant as the registry knows it."""

    id: str
    name: str
    site: str
    kind: str = "establishment"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TenantHealth:
    """A tenant's state and level as :mod:`farm.engine.status` decides them, and why."""

    tenant: str
    state: str
    level: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class LastReport:
    """A tenant's last report, reduced to what the table shows."""

    tenant: str
    run_id: int
    status: str
    at: datetime
    counts: Mapping[str, int] = field(default_factory=dict)
    reason: str | None = None
    simulated: bool = False


def flat_counts(counts: Mapping[str, Mapping[str, int]], errors: int = 0) -> dict[str, int]:
    """A report's ``{kind: {action: n}}`` as the ``{"kind.action": n}`` events carry."""
    out = {
        f"{kind}.{action}": n for kind, actions in counts.items() for action, n in actions.items()
    }
    if errors:
        out["errors"] = errors
    return out


@dataclass
class TenantRow:
    """One line of the tenants table."""

    id: str
    name: str
    site: str
    kind: str = "establishment"
    tags: tuple[str, ...] = ()
    state: State = State.NEVER
    phase: str = ""
    done: int = 0
    total: int = 0
    last_run_at: datetime | None = None
    run_id: int | None = None
    created: int = 0
    updated: int = 0
    suspended: int = 0
    errors: int = 0
    message: str = ""
    simulated: bool = False
    # The worst open problem the registry knows (farm.engine.status): a success of this
    # run may not cover its ground, so only the registry's next answer clears it.
    problem: State | None = None
    level: str = ""
    why: str = ""

    @property
    def progress(self) -> float | None:
        """Share of the current run's operations done, None when unknown."""
        if self.state is State.SUCCEEDED or self.state is State.PARTIAL:
            return 1.0
        if self.state is State.RUNNING and self.total:
            return min(1.0, self.done / self.total)
        return None

    def take_counts(self, counts: Mapping[str, int]) -> None:
        self.created = sum(counts.get(k, 0) for k in _CREATED)
        self.updated = sum(counts.get(k, 0) for k in _UPDATED)
        self.suspended = sum(counts.get(k, 0) for k in _SUSPENDED)
        self.errors = counts.get("errors", 0)


@dataclass(frozen=True, slots=True)
class Filter:
    """What ``/`` typed: words that must all match; ``tag:`` and ``state:`` words match exactly."""

    words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Filter:
        words: list[str] = []
        tags: list[str] = []
        states: list[str] = []
        for word in text.lower().split():
            if word.startswith("tag:") and len(word) > 4:
                tags.append(word[4:])
            elif word.startswith("state:") and len(word) > 6:
                states.append(word[6:])
            else:
                words.append(word)
        return cls(tuple(words), tuple(tags), tuple(states))

    @property
    def empty(self) -> bool:
        return not (self.words or self.tags or self.states)

    def matches(self, row: TenantRow) -> bool:
        if self.states and not any(_state_matches(row.state, s) for s in self.states):
            return False
        lowered = [t.lower() for t in row.tags]
        if not all(tag in lowered for tag in self.tags):
            return False
        haystack = " ".join((row.id, row.name, row.site, *row.tags)).lower()
        return all(word in haystack for word in self.words)


def _state_matches(state: State, wanted: str) -> bool:
    # One vocabulary with `farm runs --status` and `farm status`: a state's name matches
    # that state only; "not-ok" is failed, interrupted or partial; "active" is any run going.
    if wanted == "active":
        return state.active
    if wanted == NOT_OK:
        return state_matches(state.value, NOT_OK)
    return state.value == wanted or (
        wanted not in _NAMES and state.value.startswith(wanted)  # "state:fail", "state:part"
    )


_NAMES = frozenset(s.value for s in State) | {NOT_OK, "active"}
_PROBLEM_STATES = frozenset(State(s.value) for s in PROBLEMS)


#: Columns a table can be sorted by, with the key that sorts them.
SORT_KEYS: Mapping[str, Callable[[TenantRow], tuple[object, ...]]] = {
    "id": lambda r: (r.id,),
    "name": lambda r: (r.name.lower(), r.id),
    "site": lambda r: (r.site, r.id),
    "state": lambda r: (list(State).index(r.state), r.id),
    "phase": lambda r: (r.phase, r.id),
    "progress": lambda r: (-1.0 if r.progress is None else r.progress, r.id),
    "age": lambda r: (
        -(r.last_run_at.timestamp()) if r.last_run_at else float("inf"),
        r.id,
    ),
    "created": lambda r: (r.created, r.id),
    "updated": lambda r: (r.updated, r.id),
    "suspended": lambda r: (r.suspended, r.id),
    "errors": lambda r: (r.errors, r.id),
}


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
        self.rows: dict[str, TenantRow] = {
            t.id: TenantRow(id=t.id, name=t.name, site=t.site, kind=t.kind, tags=t.tags)
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
        row.state = _FROM_STATUS.get(report.status, State.FAILED)
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
            state = State(item.state)
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

    def _phase(self, row: TenantRow, event: Event, phase: Phase) -> None:
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
        ended = State(outcome_state(phase, event.counts) or Health.FAILED)
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
        rows: Iterable[TenantRow] = self.rows.values()
        if chosen is not None and not chosen.empty:
            rows = (r for r in rows if chosen.matches(r))
        key = SORT_KEYS[sort]
        return [r.id for r in sorted(rows, key=key, reverse=reverse)]

    def summary(self) -> Summary:
        counts = dict.fromkeys(State, 0)
        for row in self.rows.values():
            counts[row.state] += 1
        total = sum(p.total for p in self._runs.values())
        done = sum(len(p.finished) for p in self._runs.values())
        return Summary(
            running=counts[State.RUNNING],
            queued=counts[State.QUEUED] + counts[State.WAITING],
            succeeded=counts[State.SUCCEEDED],
            partial=counts[State.PARTIAL],
            failed=counts[State.FAILED],
            never=counts[State.NEVER],
            interrupted=counts[State.INTERRUPTED],
            skipped=counts[State.SKIPPED],
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


def age_text(moment: datetime | None, now: datetime) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``: how long ago, for the age column."""
    if moment is None:
        return "—"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def progress_text(row: TenantRow, width: int = 10) -> str:
    """A small bar with the percentage, or the operations count while they are unknown."""
    share = row.progress
    if share is None:
        return ""
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled) + f" {share:4.0%}"


def duration_text(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds))) if seconds >= 60 else f"{seconds:.1f}s"
