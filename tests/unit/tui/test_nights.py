"""Runs folded into nights for the history charts: the farm's days, the worst result, the farm."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from farm.tui.feed import HistoryPoint, RunSpan
from farm.tui.nights import farm_nights, tenant_nights

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def point(
    at: datetime, status: str, written: int, seconds: float, simulated: bool = False
) -> HistoryPoint:
    return HistoryPoint(1, at, status, written, seconds, simulated, "schedule", written)


def test_a_tenant_night_keeps_the_worst_real_run_and_sums_the_rest() -> None:
    points = [
        point(datetime(2026, 11, 20, 1, 30, tzinfo=UTC), "failed", 0, 12.0),
        point(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "succeeded", 40, 30.0),
        point(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), "failed", 999, 1.0, simulated=True),
        # 23:30 UTC on the 19th is 00:30 on the 20th in Paris: the same night.
        point(datetime(2026, 11, 19, 23, 30, tzinfo=UTC), "partial", 5, 3.0),
    ]
    nights = tenant_nights(points, PARIS, NOW)
    assert len(nights) == 30
    assert nights[-1].empty  # the 21st: no run yet
    night = nights[-2]
    assert (night.day.isoformat(), night.runs, night.status) == ("2026-11-20", 3, "failed")
    assert (night.written, night.seconds) == (45, 45.0)
    assert all(n.empty for n in nights[:-2])
    assert nights[0].day.isoformat() == "2026-10-23"


def test_the_farm_night_counts_tenants_not_ok_and_the_runs_wall_time() -> None:
    at = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    tenants = {
        "0340041K": [point(at, "succeeded", 10, 5.0)],
        "0341921D": [point(at, "failed", 0, 1.0)],
        "0310024H": [point(at, "partial", 7, 4.0)],
    }
    nights = farm_nights(tenants, [RunSpan(at, 120.0), RunSpan(at, 60.0)], PARIS, NOW)
    last = nights[-1]
    assert (last.status, last.failed, last.written, last.seconds) == ("failed", 2, 17, 180.0)
    assert nights[-2].empty
