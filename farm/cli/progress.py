"""The live progress ``farm sync`` draws in a terminal, from the run's event stream.

On a farm of a few hundred tenants the screen holds a tenth of them, so the
board shows what an operator watches for, top to bottom, and never more
lines than the terminal has:

- one line for the whole run: a bar, tenants done of the total, the rate
  (tenants per minute) and the time left at that rate, both from the work
  done so far (nothing is guessed before the first tenant ends);
- one line counting the finished tenants by state (``57 succeeded, 2
  failed``): finished tenants leave the screen, the failed ones are named
  at the end of the run;
- a line per running tenant, the longest running first: its phase, a bar
  once the applier knows how many operations it has, and how long it has
  been at it; when they do not all fit, the last line says how many more;
- one line counting the queued tenants (and those waiting for a site
  another run holds): a queued tenant has no bar, it has not started.

:class:`ProgressBoard` is the state and the drawing (a rich renderable,
tested on a fixed-height console); :class:`ProgressView` puts it on screen
with ``rich.live``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from farm.config import TenantConfig
from farm.engine.events import Event, EventKind, Phase
from farm.engine.health import State, counts_text, outcome_state, state_counts

#: Lines the board keeps for itself: the run, the finished, the queued.
_FIXED_LINES = 3
#: Width of a progress bar, in characters.
_BAR = 16
_STATE_STYLE = {
    State.FAILED: "red",
    State.PARTIAL: "yellow",
    State.INTERRUPTED: "yellow",
    State.SKIPPED: "yellow",
}


@dataclass(slots=True)
class TenantProgress:
    """Where one tenant's job stands, as the board draws it."""

    id: str
    site: str
    phase: Phase = Phase.QUEUED
    done: int = 0
    total: int | None = None
    started: float | None = None  # when it left the queue (the board's clock)
    message: str = ""
    state: State | None = None  # once finished


@dataclass
class ProgressBoard:
    """The run's progress from its events; see the module docstring.

    ``clock`` is monotonic seconds (:func:`time.monotonic`); tests pass their own.
    """

    tenants: tuple[TenantConfig, ...]
    clock: Callable[[], float] = time.monotonic
    rows: dict[str, TenantProgress] = field(init=False)
    began: float = field(init=False)
    finished_at: list[float] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.rows = {t.id: TenantProgress(t.id, t.site) for t in self.tenants}
        self.began = self.clock()

    def update(self, event: Event) -> None:
        """Take one event of the run; events of other tenants are ignored."""
        row = self.rows.get(event.tenant or "")
        if row is None or row.state is not None:
            return
        if event.kind is EventKind.PROGRESS and event.total:
            row.done, row.total = event.done or 0, event.total
        elif event.kind is EventKind.PHASE and event.phase is not None:
            if row.started is None and event.phase is not Phase.QUEUED:
                row.started = self.clock()
            row.phase = event.phase
            row.message = event.message
            if event.phase.final:
                row.state = outcome_state(event.phase, event.counts)
                self.finished_at.append(self.clock())

    # -- what the board says -------------------------------------------------------------

    def finished(self) -> list[TenantProgress]:
        return [r for r in self.rows.values() if r.state is not None]

    def running(self) -> list[TenantProgress]:
        """Tenants started and not finished, the longest running first."""
        found = [r for r in self.rows.values() if r.state is None and r.phase is not Phase.QUEUED]
        return sorted(found, key=lambda r: (r.started or 0.0, r.id))

    def queued(self) -> list[TenantProgress]:
        return [r for r in self.rows.values() if r.phase is Phase.QUEUED]

    def rate(self) -> float | None:
        """Tenants finished per minute so far; None before the first one ends."""
        elapsed = self.clock() - self.began
        if not self.finished_at or elapsed <= 0:
            return None
        return len(self.finished_at) / elapsed * 60

    def eta(self) -> float | None:
        """Seconds left at the rate so far; None before the first tenant ends."""
        rate = self.rate()
        left = len(self.rows) - len(self.finished_at)
        if rate is None or rate <= 0:
            return None
        return left / rate * 60

    def headline(self) -> Text:
        done, total = len(self.finished_at), len(self.rows)
        rate, eta = self.rate(), self.eta()
        parts = [f"{done}/{total} tenants"]
        if rate is not None and eta is not None:
            parts += [f"{rate:.1f}/min", f"about {clock_span(eta)} left"]
        else:
            parts.append("rate and time left once a tenant ends")
        parts.append(f"elapsed {clock_span(self.clock() - self.began)}")
        return Text("  ".join(parts))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or console.height
        top = Table.grid(padding=(0, 1))
        top.add_column(width=_BAR)
        top.add_column(no_wrap=True, overflow="ellipsis")
        bar = ProgressBar(total=max(len(self.rows), 1), completed=len(self.finished_at), width=_BAR)
        top.add_row(bar, self.headline())
        finished = state_counts(r.state.value for r in self.finished() if r.state is not None)
        said = counts_text(finished) if any(finished.values()) else "none yet"
        top.add_row(Text("finished"), Text(said, style=_worst(finished)))
        yield top
        running = self.running()
        room = max(0, height - _FIXED_LINES)
        shown = running if len(running) <= room else running[: max(0, room - 1)]
        if shown:
            now = self.clock()
            width = max(len(row.id) for row in shown)
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=width + 2, no_wrap=True)  # the tenant: never cut
            grid.add_column(width=8, no_wrap=True)  # its phase
            grid.add_column(width=_BAR)  # its bar, once the applier counts
            grid.add_column(no_wrap=True, overflow="ellipsis")  # figures, time, site
            for row in shown:
                grid.add_row(*self._running_cells(row, now))
            yield grid
        if len(shown) < len(running):
            yield Text(f"  … {len(running) - len(shown)} more running", no_wrap=True)
        waiting = sum(1 for r in running if r.phase is Phase.WAITING)
        tail = f"{len(self.queued())} queued" + (
            f", {waiting} waiting for a site" if waiting else ""
        )
        yield Text(tail, style="dim", no_wrap=True)

    def _running_cells(
        self, row: TenantProgress, now: float
    ) -> tuple[Text, Text, RenderableType, Text]:
        since = clock_span(now - (row.started or now))
        bar: RenderableType = Text("")
        detail = Text(since)
        if row.total:
            bar = ProgressBar(total=row.total, completed=row.done, width=_BAR)
            detail = Text(f"{row.done}/{row.total}  {since}")
        if row.phase is Phase.WAITING and row.message:
            detail.append(f"  {row.message}")
        detail.append(f"  {row.site}", style="dim")
        return Text(f"  {row.id}", style="bold"), Text(row.phase.value), bar, detail


def _worst(counts: dict[State, int]) -> str:
    for state in (State.FAILED, State.INTERRUPTED, State.PARTIAL, State.SKIPPED):
        if counts.get(state):
            return _STATE_STYLE[state]
    return "green" if any(counts.values()) else ""


def clock_span(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: a duration on a progress line."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class ProgressView:
    """The board on screen, redrawn a few times a second while the run goes (terminals only)."""

    def __init__(self, tenants: tuple[TenantConfig, ...], console: Console | None = None) -> None:
        self.board = ProgressBoard(tenants)
        self.live = Live(
            self.board,
            console=console,
            refresh_per_second=4,
            # Taller than the screen never happens (the board counts its lines), but a
            # resized terminal must not scroll half-drawn frames into the history.
            vertical_overflow="crop",
        )

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()

    def update(self, event: Event) -> None:
        self.board.update(event)
