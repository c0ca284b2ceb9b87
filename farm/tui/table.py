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
    ("reason", "Reason", 40),
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
    """The table cells of one row."""
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
        Text(reason_text(row), style="red" if row.problem is not None else "dim"),
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class TenantTable(DataTable[str | Text]):
    """One row per visible tenant, keyed by tenant id; see the module docstring for its keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "scroll_top", "First", show=False),
        Binding("G,end", "scroll_bottom", "Last", show=False),
        Binding("ctrl+d", "half_page(1)", "Half a page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half a page up", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.order: list[str] = []
        self._drawn: dict[str, Cells] = {}
        self._id_width = COLUMNS[0][2]
        self.rebuilds = 0

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def action_half_page(self, direction: int) -> None:
        """Move the cursor half a screen of rows down (1) or up (-1)."""
        rows = max(1, (self.scrollable_content_region.height - self.header_height) // 2)
        target = self.cursor_row + direction * rows
        self.move_cursor(row=max(0, min(target, self.row_count - 1)))

    def show_sort(self, key: str, reverse: bool) -> None:
        """Mark the sorted column's header with its direction, and only that one."""
        for column_key, label, width in COLUMNS:
            column = self.columns.get(ColumnKey(column_key))
            if column is None:
                continue
            wanted = f"{label} {'▼' if reverse else '▲'}" if column_key == key else label
            if str(column.label) != wanted:
                column.label = Text(wanted, style="bold" if column_key == key else "")
                base = self._id_width if column_key == "id" else width
                column.width = max(base, len(wanted))
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
        if order != self.order:
            self._rebuild(view, order, marked, now)
            return
        wanted = set(self._drawn) if ages else set(dirty)
        for tenant in wanted:
            if tenant not in self._drawn:
                continue
            new = cells(view.rows[tenant], now, tenant in marked)
            old = self._drawn[tenant]
            for (key, _, _), before, after in zip(COLUMNS, old, new, strict=True):
                if before != after:
                    self.update_cell(tenant, key, after)
            self._drawn[tenant] = new

    def _rebuild(self, view: FarmView, order: list[str], marked: set[str], now: datetime) -> None:
        current = self.current()
        self.rebuilds += 1
        self._fit_ids(view)
        self.clear()
        self._drawn = {}
        for tenant in order:
            drawn = cells(view.rows[tenant], now, tenant in marked)
            self._drawn[tenant] = drawn
            self.add_row(*drawn, key=tenant)
        self.order = list(order)
        if current in self._drawn:
            self.move_cursor(row=self.order.index(current), animate=False)

    def _fit_ids(self, view: FarmView) -> None:
        # A tenant id is never cut (cfa-demo-31 and cfa-demo-34 must stay apart): the
        # column grows to the longest id of the farm, not of the rows shown, so that
        # filtering never makes it jump.
        column = self.columns.get(ColumnKey("id"))
        needed = 2 + max((len(tenant) for tenant in view.rows), default=0)
        self._id_width = max(self._id_width, needed)
        if column is not None and column.width < needed:
            column.width = needed
            self._require_update_dimensions = True


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
        text.append(f" running {summary.running}", style=STATE_STYLES[RowState.RUNNING])
        text.append(f"  queued {summary.queued}", style=STATE_STYLES[RowState.QUEUED])
        text.append(f"  succeeded {summary.succeeded}", style=STATE_STYLES[RowState.SUCCEEDED])
        text.append(f"  partial {summary.partial}", style=STATE_STYLES[RowState.PARTIAL])
        text.append(f"  failed {summary.failed}", style=STATE_STYLES[RowState.FAILED])
        text.append(
            f"  interrupted {summary.interrupted}", style=STATE_STYLES[RowState.INTERRUPTED]
        )
        text.append(f"  skipped {summary.skipped}", style=STATE_STYLES[RowState.SKIPPED])
        text.append(f"  never {summary.never}", style=STATE_STYLES[RowState.NEVER])
        if summary.progress is not None:
            runs = ",".join(str(r) for r in summary.active_runs)
            text.append(f"  │ run {runs}: {summary.progress:4.0%}", style="bold")
        if shown != total:
            text.append(f"  │ {shown}/{total} shown")
        if marked:
            text.append(f"  │ {marked} marked (U unmarks)", style="bold")
        text.append("  │ ops/s")
        self.figures.update(text)
        self.sparkline.data = samples
        self.rate.update(f"{samples[-1]:.0f}" if samples else "0")
