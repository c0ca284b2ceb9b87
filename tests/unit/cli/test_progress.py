"""``farm sync``'s progress on a farm of 163 tenants, drawn on an 80x24 terminal (issue 19)."""

from __future__ import annotations

from rich.console import Console

from farm.cli.progress import ProgressBoard, clock_span
from farm.config import TenantConfig
from farm.engine.events import Event, EventKind, Phase
from tests.farms import establishment

TENANTS = tuple(
    establishment(f"09{n:05d}X", f"site-{n // 2}", f"Établissement {n}") for n in range(163)
)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def phase(tenant: TenantConfig, to: Phase, **counts: int) -> Event:
    return Event(1, EventKind.PHASE, site=tenant.site, tenant=tenant.id, phase=to, counts=counts)


def screen(board: ProgressBoard, height: int = 24, width: int = 80) -> list[str]:
    console = Console(record=True, height=height, width=width, color_system=None)
    console.print(board)
    return console.export_text().splitlines()


def night(clock: Clock) -> ProgressBoard:
    """59 tenants finished (two failed, one partial), 8 running, the rest queued."""
    board = ProgressBoard(TENANTS, clock=clock)
    for n, tenant in enumerate(TENANTS[:59]):
        board.update(phase(tenant, Phase.READING))
        clock.now += 5
        ending = Phase.FAILED if n in (3, 40) else Phase.SUCCEEDED
        board.update(phase(tenant, ending, errors=2 if n == 7 else 0))
    for n, tenant in enumerate(TENANTS[59:67]):
        board.update(phase(tenant, Phase.READING))
        if n % 2:
            board.update(phase(tenant, Phase.APPLYING))
            board.update(Event(1, EventKind.PROGRESS, tenant=tenant.id, done=40 * n, total=400 + n))
        clock.now += 1
    return board


def test_running_tenants_stay_in_view_and_finished_ones_fold_into_a_count() -> None:
    clock = Clock()
    board = night(clock)

    lines = screen(board)

    text = "\n".join(lines)
    assert len(lines) <= 24
    for tenant in TENANTS[59:67]:
        assert tenant.id in text, f"running tenant {tenant.id} is off screen"
    for tenant in [*TENANTS[:59], *TENANTS[67:]]:
        assert tenant.id not in text  # finished and queued tenants have no line of their own
    assert "56 succeeded, 1 partial, 2 failed" in text
    assert "96 queued" in text
    # An applying tenant shows how far its applier got; one still reading has no bar.
    applying = next(line for line in lines if TENANTS[60].id in line)
    assert "40/401" in applying
    assert "━" in applying
    reading = next(line for line in lines if TENANTS[59].id in line)
    assert "━" not in reading


def test_rate_and_time_left_come_from_the_tenants_done_so_far() -> None:
    clock = Clock()
    board = ProgressBoard(TENANTS, clock=clock)
    assert board.rate() is None
    assert "once a tenant ends" in "\n".join(screen(board))
    night_board = night(clock)

    # 59 tenants in 303 s: 11.7 a minute; 104 left at that rate.
    rate = night_board.rate()
    assert rate is not None
    assert round(rate, 1) == 11.7
    assert night_board.eta() == 104 / (59 / 303)
    headline = "\n".join(screen(night_board))
    assert "59/163 tenants" in headline
    assert "11.7/min" in headline
    assert f"about {clock_span(104 / (59 / 303))} left" in headline


def test_more_running_tenants_than_lines_say_how_many_are_hidden() -> None:
    clock = Clock()
    board = ProgressBoard(TENANTS, clock=clock)
    for tenant in TENANTS[:40]:
        board.update(phase(tenant, Phase.READING))
        clock.now += 1

    lines = screen(board, height=12)

    assert len(lines) <= 12
    text = "\n".join(lines)
    assert "more running" in text
    shown = [t.id for t in TENANTS[:40] if t.id in text]
    # The longest running first, and every line but the fixed ones used.
    assert shown == [t.id for t in TENANTS[: len(shown)]]
    assert f"… {40 - len(shown)} more running" in text
    assert len(shown) == 12 - 3 - 1


def test_a_tenant_waiting_for_a_site_says_for_what() -> None:
    board = ProgressBoard(TENANTS[:3], clock=Clock())
    board.update(
        Event(
            1,
            EventKind.PHASE,
            tenant=TENANTS[0].id,
            phase=Phase.WAITING,
            message="site:site-0 held by run 4",
        )
    )

    text = "\n".join(screen(board, width=120))

    assert "held by run 4" in text
    assert "2 queued, 1 waiting for a site" in text
