"""The history's pictures: bars per night with axes (textual-plotext), result strips, a heat-map.

:class:`NightBars` draws one value per night (records written, minutes of
runs, tenants not ok) as bars on a plotext plot, with a y axis, the day of
the month under the bars and, in its title, the last night's value and the
largest. :func:`result_strip` is one coloured cell per night with the days
under it; :func:`heat_map` is one strip per tenant (tenants × nights), worst
first. Empty nights stay empty: no run that night.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.console import Group, RenderableType
from rich.text import Text
from textual_plotext import PlotextPlot

from farm.tui.nights import RESULT_STYLES, WORST_FIRST, Night

Value = Callable[[Night], float]


def _ticks(nights: Sequence[Night], every: int = 5) -> tuple[list[int], list[str]]:
    """Day-of-month labels every ``every`` nights, the last night always, for the x axis."""
    positions = [n for n in range(len(nights)) if (len(nights) - 1 - n) % every == 0]
    return positions, [f"{nights[n].day:%d/%m}" for n in positions]


class NightBars(PlotextPlot):
    """One bar per night, with axes; see the module docstring."""

    DEFAULT_CSS = """
    NightBars { height: 12; min-width: 30; }
    """

    def __init__(
        self, title: str, unit: str, *, color: str = "blue", id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.unit = unit
        self.color = color
        self.values: list[float] = []

    def draw(self, nights: Sequence[Night], value: Value) -> None:
        """Draw ``value`` of each night (0 for a night without a run)."""
        self.values = [0.0 if night.empty else value(night) for night in nights]
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        last = self.values[-1] if self.values else 0.0
        top = max(self.values, default=0.0)
        plt.title(f"{self.title_text}: {_number(last)} (max {_number(top)})")
        plt.ylabel(self.unit)
        if self.values:
            plt.bar(list(range(len(self.values))), self.values, color=self.color, width=0.6)
            positions, labels = _ticks(nights, every=10)
            plt.xticks([float(p) for p in positions], labels)
        plt.ylim(0, top * 1.1 if top > 0 else 1)
        self.refresh()


def _number(value: float) -> str:
    if value >= 10 or value == int(value):
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:.1f}"


def result_strip(nights: Sequence[Night], *, width: int = 2) -> RenderableType:
    """One coloured cell per night, the day of the month every five nights under it."""
    strip = Text()
    for night in nights:
        if night.empty:
            strip.append("·" * width, style="dim")
        else:
            strip.append("█" * width, style=RESULT_STYLES.get(night.status, ""))
    axis = Text(style="dim")
    positions, labels = _ticks(nights)
    line = [" "] * (len(nights) * width + 5)
    for position, label in zip(positions, labels, strict=True):
        for k, char in enumerate(label):
            line[position * width + k] = char
    axis.append("".join(line).rstrip())
    return Group(strip, axis, legend())


def legend() -> Text:
    text = Text()
    for status in reversed(WORST_FIRST):
        text.append("█ ", style=RESULT_STYLES[status])
        text.append(f"{status}  ")
    text.append("· no run", style="dim")
    return text


def heat_map(rows: Mapping[str, Sequence[Night]], *, limit: int | None = None) -> RenderableType:
    """Tenants × nights, one cell a night, the tenants with the most bad nights first."""
    if not rows:
        return Text("No run in these nights.", style="dim")

    def badness(tenant: str) -> tuple[int, int, str]:
        nights = rows[tenant]
        bad = sum(1 for n in nights if not n.empty and n.status != "succeeded")
        last = nights[-1]
        latest_bad = 0 if last.empty or last.status == "succeeded" else 1
        return (-latest_bad, -bad, tenant)

    width = max(len(t) for t in rows) + 2
    lines: list[RenderableType] = []
    any_nights = next(iter(rows.values()))
    positions, labels = _ticks(any_nights)
    axis = [" "] * (len(any_nights) + 6)
    for position, label in zip(positions, labels, strict=True):
        for k, char in enumerate(label[:2]):
            axis[position + k] = char
    lines.append(Text(" " * width + "".join(axis).rstrip() + "   bad nights", style="dim"))
    ordered = sorted(rows, key=badness)
    for tenant in ordered[:limit] if limit else ordered:
        line = Text(tenant.ljust(width))
        bad = 0
        for night in rows[tenant]:
            if night.empty:
                line.append("·", style="dim")
            else:
                bad += night.status != "succeeded"
                line.append("█", style=RESULT_STYLES.get(night.status, ""))
        line.append(f"   {bad}" if bad else "", style="bold red" if bad else "")
        lines.append(line)
    if limit and len(ordered) > limit:
        lines.append(Text(f"and {len(ordered) - limit} more tenants", style="dim"))
    return Group(*lines)
