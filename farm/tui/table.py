"""The tenants table and the summary bar: widgets that draw a :class:`FarmView`.

:meth:`TenantTable.show` is called on the dashboard's tick. When the visible
rows and their order did not change it rewrites only the cells that did;
otherwise it rebuilds the table, keeping the cursor on the same tenant.

The table moves as k9s, lazygit and htop do: ``j``/``k`` a row, ``g``/``G``
and Home/End the first and last, Ctrl-D/Ctrl-U half a page; the sorted
column says so in its header (``▲`` ascending, ``▼`` descending).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Sparkline, Static
from textual.widgets.data_table import ColumnKey

from farm.tui.rows import DashboardRow, RowState, age_text, progress_text, reason_text
from farm.tui.view import FarmView, Summary

#: Column keys, headers and widths, in order. Widths are fixed: cells change on every
#: tick and a column that resized itself would make the whole table jump.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "Tenant", 12),
    ("name", "Name", 22),
    ("site", "Moodle site", 18),
    ("state", "State", 12),
    ("phase", "Phase", 9),
    ("progress", "Progress", 11),
    ("age", "Age", 4),
    ("created", "Created", 7),
    ("updated", "Updated", 7),
    ("suspended", "Suspended", 9),
    ("errors", "Errors", 6),
    ("reason", "Reason", 24),
)

#: Which columns stay when the terminal is narrow, first kept first: the tenant, its state
#: and why always; then what a run is doing, where, and the name; the counts go first. The reason
#: takes the width left over (at least its own).
PRIORITY: tuple[str, ...] = (
    "id",
    "state",
    "reason",
    "progress",
    "age",
    "errors",
    "site",
    "name",
    "created",
    "updated",
    "suspended",
    "phase",
)

#: What the table draws around each cell: one column of padding on each side.
PADDING = 2


def fit_columns(width: int, id_width: int) -> tuple[tuple[str, str, int], ...]:
    """The columns that fit in ``width``, in table order, the reason widened to fill it."""
    sizes = {key: (id_width if key == "id" else w) + PADDING for key, _, w in COLUMNS}
    chosen: set[str] = set()
    used = 0
    for key in PRIORITY:
        if key in ("id", "state", "reason") or used + sizes[key] <= width:
            chosen.add(key)
            used += sizes[key]
    spare = max(0, width - used)
    return tuple(
        (key, label, (id_width if key == "id" else w) + (spare if key == "reason" else 0))
        for key, label, w in COLUMNS
        if key in chosen
    )


STATE_STYLES: dict[RowState, str] = {
    RowState.NEVER: "dim",
    RowState.QUEUED: "cyan",
    RowState.WAITING: "magenta",
    RowState.RUNNING: "bold yellow",
    RowState.SUCCEEDED: "green",
    RowState.PARTIAL: "dark_orange",
    RowState.FAILED: "bold red",
    RowState.INTERRUPTED: "red",
    RowState.SKIPPED: "magenta",
}

Cells = tuple[str | Text, ...]


def cells(row: DashboardRow, now: datetime, marked: bool) -> Cells:
    """The table cells of one row, one per :data:`COLUMNS` entry."""
    style = STATE_STYLES[row.state]
    number: Callable[[int], str | Text] = lambda n: Text(str(n), justify="right") if n else ""  # noqa: E731
    return (
        Text(("● " if marked else "  ") + row.id, style="bold" if marked else ""),
        _cut(row.name, 22),
        _cut(row.site, 18),
        Text(row.state.value + ("*" if row.simulated else ""), style=style),
        row.phase if row.state.active else "",
        progress_text(row, width=6),
        age_text(row.last_run_at, now),
        number(row.created),
        number(row.updated),
        number(row.suspended),
        Text(str(row.errors), style="bold red", justify="right") if row.errors else "",
        Text(
            reason_text(row),
            style="red" if row.problem is not None else "dim",
            no_wrap=True,
            overflow="ellipsis",
        ),
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class TenantTable(DataTable[str | Text]):
    """One row per visible tenant, keyed by tenant id; see the module docstring for its keys.

    Its columns fit its width (:func:`fit_columns`): on a resize the ones
    that no longer fit drop, by :data:`PRIORITY`, and the reason takes the
    rest. The tenant column is frozen: it stays in view under horizontal
    scroll. The vertical scrollbar's room is always kept, so that a scrollbar
    appearing (a longer list, the log pane opening) never cuts a column.
    """

    DEFAULT_CSS = """
    TenantTable { scrollbar-gutter: stable; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "scroll_top", "First", show=False),
        Binding("G,end", "scroll_bottom", "Last", show=False),
        Binding("ctrl+d", "half_page(1)", "Half a page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half a page up", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, fixed_columns=1, **kwargs)  # type: ignore[arg-type]
        self.order: list[str] = []
        self._drawn: dict[str, Cells] = {}
        self._id_width = COLUMNS[0][2]
        self.shown: tuple[tuple[str, str, int], ...] = ()
        self._sort = ("id", False)
        self._last: tuple[FarmView, set[str], datetime] | None = None
        self._pending_cursor: str | None = None  # kept across a change of columns
        self.rebuilds = 0

    def on_mount(self) -> None:
        self._refit()

    def on_resize(self) -> None:
        order = list(self.order)
        if self._refit() and self._last is not None:
            view, marked, now = self._last
            self._rebuild(view, order, marked, now)

    def _refit(self) -> bool:
        """Choose the columns for the current width; True when they changed."""
        width = self.scrollable_content_region.width or self.size.width
        wanted = fit_columns(width, self._id_width) if width else COLUMNS
        if wanted == self.shown:
            return False
        self.shown = wanted
        current = self.current()
        self.clear(columns=True)
        for key, label, size in wanted:
            self.add_column(label, key=key, width=size)
        self._drawn = {}
        self.order = []
        self.show_sort(*self._sort)
        if current is not None:
            self._pending_cursor = current
        return True

    def action_half_page(self, direction: int) -> None:
        """Move the cursor half a screen of rows down (1) or up (-1)."""
        rows = max(1, (self.scrollable_content_region.height - self.header_height) // 2)
        target = self.cursor_row + direction * rows
        self.move_cursor(row=max(0, min(target, self.row_count - 1)))

    def show_sort(self, key: str, reverse: bool) -> None:
        """Mark the sorted column's header with its direction, and only that one."""
        self._sort = (key, reverse)
        for column_key, label, width in self.shown:
            column = self.columns.get(ColumnKey(column_key))
            if column is None:
                continue
            wanted = f"{label} {'▼' if reverse else '▲'}" if column_key == key else label
            if str(column.label) != wanted:
                column.label = Text(wanted, style="bold" if column_key == key else "")
                column.width = max(width, len(wanted))
                self._require_update_dimensions = True
        self.refresh()

    def current(self) -> str | None:
        """The tenant id under the cursor."""
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.order[self.cursor_row]

    def show(
        self,
        view: FarmView,
        order: list[str],
        dirty: Iterable[str],
        marked: set[str],
        now: datetime,
        *,
        ages: bool = False,
    ) -> None:
        """Draw ``order``'s rows; ``dirty`` ones changed, ``ages`` redraws every age."""
        self._last = (view, marked, now)
        if self._fit_ids(view) or order != self.order:
            self._rebuild(view, order, marked, now)
            return
        wanted = set(self._drawn) if ages else set(dirty)
        keys = [k for k, _, _ in self.shown]
        for tenant in wanted:
            if tenant not in self._drawn:
                continue
            new = self._cells(view.rows[tenant], now, tenant in marked)
            old = self._drawn[tenant]
            for key, before, after in zip(keys, old, new, strict=True):
                if before != after:
                    self.update_cell(tenant, key, after)
            self._drawn[tenant] = new

    def _cells(self, row: DashboardRow, now: datetime, marked: bool) -> Cells:
        every = dict(zip((k for k, _, _ in COLUMNS), cells(row, now, marked), strict=True))
        return tuple(every[k] for k, _, _ in self.shown)

    def _rebuild(self, view: FarmView, order: list[str], marked: set[str], now: datetime) -> None:
        current = self._pending_cursor or self.current()
        self._pending_cursor = None
        self.rebuilds += 1
        self.clear()
        self._drawn = {}
        for tenant in order:
            drawn = self._cells(view.rows[tenant], now, tenant in marked)
            self._drawn[tenant] = drawn
            self.add_row(*drawn, key=tenant)
        self.order = list(order)
        if current in self._drawn:
            self.move_cursor(row=self.order.index(current), animate=False)

    def _fit_ids(self, view: FarmView) -> bool:
        # A tenant id is never cut (cfa-demo-31 and cfa-demo-34 must stay apart): the
        # column grows to the longest id of the farm, not of the rows shown, so that
        # filtering never makes it jump. True when the columns were laid out again.
        needed = 2 + max((len(tenant) for tenant in view.rows), default=0)
        if needed <= self._id_width:
            return False
        self._id_width = needed
        return self._refit()


class SummaryBar(Horizontal):
    """Running, queued, succeeded, failed; overall progress; a throughput sparkline."""

    DEFAULT_CSS = """
    SummaryBar { height: 1; }
    SummaryBar > #figures { width: auto; }
    SummaryBar > Sparkline { width: 30; margin: 0 1; }
    SummaryBar > #rate { width: auto; }
    """

    def compose(self) -> ComposeResult:
        self.figures = Static(id="figures")
        self.sparkline = Sparkline([0.0], id="throughput")
        self.rate = Static(id="rate")
        yield self.figures
        yield self.sparkline
        yield self.rate

    def show(
        self, summary: Summary, samples: list[float], shown: int, total: int, *, marked: int = 0
    ) -> None:
        text = Text()
        # Running, succeeded and failed always; the other states only when some tenant is in
        # one, so that the line fits 80 columns.
        for label, count, state, always in (
            ("running", summary.running, RowState.RUNNING, True),
            ("queued", summary.queued, RowState.QUEUED, False),
            ("succeeded", summary.succeeded, RowState.SUCCEEDED, True),
            ("partial", summary.partial, RowState.PARTIAL, False),
            ("failed", summary.failed, RowState.FAILED, True),
            ("interrupted", summary.interrupted, RowState.INTERRUPTED, False),
            ("skipped", summary.skipped, RowState.SKIPPED, False),
            ("never", summary.never, RowState.NEVER, False),
        ):
            if always or count:
                text.append(f" {label} {count} ", style=STATE_STYLES[state])
        if summary.progress is not None:
            runs = ",".join(str(r) for r in summary.active_runs)
            text.append(f"│ run {runs}: {summary.progress:4.0%} ", style="bold")
        if shown != total:
            text.append(f"│ {shown}/{total} shown ")
        if marked:
            text.append(f"│ {marked} marked (U unmarks) ", style="bold")
        text.append("│ ops/s")
        self.figures.update(text)
        self.sparkline.data = samples
        self.rate.update(f"{samples[-1]:.0f}" if samples else "0")
