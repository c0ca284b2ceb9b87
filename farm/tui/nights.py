"""Runs folded into nights: what the history charts draw, per tenant and for the farm. Pure.

A night is a calendar day in the farm's zone (the nightly runs at 02:30
belong to the day they end on). Each night keeps the worst result of its
real runs (a simulation writes nothing and is left out; a run refused
before it began counts, as ``skipped``), the records they wrote and how
long they took. A night without a run has ``runs == 0`` and no status: the
charts show it empty, which is itself information (the scheduler did not
fire).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from farm.tui.feed import HistoryPoint, RunSpan

#: Results from the worst down: a night shows the worst of its runs.
WORST_FIRST: tuple[str, ...] = ("failed", "interrupted", "partial", "skipped", "succeeded")

#: The colour of each result, on the strips and the heat-map.
RESULT_STYLES: Mapping[str, str] = {
    "succeeded": "green",
    "partial": "dark_orange",
    "failed": "bold red",
    "interrupted": "red",
    "skipped": "magenta",
}

NIGHTS = 30


@dataclass(frozen=True, slots=True)
class Night:
    """One night of one tenant, or of the farm."""

    day: date
    runs: int = 0
    status: str = ""  # the worst result of the night's runs; "" without a run
    seconds: float = 0.0
    written: int = 0
    failed: int = 0  # for the farm: tenants whose night was not a success

    @property
    def empty(self) -> bool:
        return self.runs == 0


def days(last: date, count: int = NIGHTS) -> list[date]:
    """The ``count`` days up to ``last``, oldest first."""
    return [last - timedelta(days=count - 1 - n) for n in range(count)]


def worst(statuses: Iterable[str]) -> str:
    found = set(statuses)
    return next((s for s in WORST_FIRST if s in found), "succeeded")


def tenant_nights(
    points: Iterable[HistoryPoint], where: ZoneInfo, now: datetime, count: int = NIGHTS
) -> list[Night]:
    """One tenant's last ``count`` nights, oldest first."""
    by_day: dict[date, list[HistoryPoint]] = {}
    for point in points:
        if not point.simulated:
            by_day.setdefault(point.at.astimezone(where).date(), []).append(point)
    out: list[Night] = []
    for day in days(now.astimezone(where).date(), count):
        runs = by_day.get(day)
        out.append(
            Night(day)
            if not runs
            else Night(
                day=day,
                runs=len(runs),
                status=worst(p.status for p in runs),
                seconds=sum(p.seconds for p in runs),
                written=sum(p.written for p in runs),
            )
        )
    return out


def farm_nights(
    tenants: Mapping[str, Sequence[HistoryPoint]],
    runs: Iterable[RunSpan],
    where: ZoneInfo,
    now: datetime,
    count: int = NIGHTS,
) -> list[Night]:
    """The farm's last ``count`` nights: records written, the runs' wall time, tenants not ok."""
    per_tenant = {t: tenant_nights(p, where, now, count) for t, p in tenants.items()}
    wall: dict[date, float] = {}
    for run in runs:
        day = run.at.astimezone(where).date()
        wall[day] = wall.get(day, 0.0) + run.seconds
    out: list[Night] = []
    for n, day in enumerate(days(now.astimezone(where).date(), count)):
        nights = [night for rows in per_tenant.values() if not (night := rows[n]).empty]
        if not nights:
            out.append(Night(day))
            continue
        out.append(
            Night(
                day=day,
                runs=sum(x.runs for x in nights),
                status=worst(x.status for x in nights),
                seconds=wall.get(day, 0.0),
                written=sum(x.written for x in nights),
                failed=sum(1 for x in nights if x.status != "succeeded"),
            )
        )
    return out
