#!/usr/bin/env python3
"""Dashboard cost with 1,000 tenants and a running batch: fold + redraw per tick, poll time.

    .venv/bin/python tools/bench_tui.py                      # 1,000 tenants, 20 s
    .venv/bin/python tools/bench_tui.py --tenants 3000 --seconds 30 --rate 4000

A writer thread plays a batch into a SQLite registry through the real
EventBus (queued, reading, planning, applying with progress, succeeded with
counts), ``--rate`` events per second for the whole measure (the batch
starts again when it ends), while the dashboard runs headless at a fixed
terminal size and follows the registry on its tick. Prints the rate the
writer reached against the rate asked (it shares the GIL with the
dashboard; a shortfall is said), the per-tick cost of folding and
redrawing, the registry poll time, and how far behind the writer the
dashboard was at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from farm.config import Farm, FarmSettings, SiteConfig, TenantConfig
from farm.engine.bus import EventBus
from farm.engine.events import Event, EventKind, Phase
from farm.moodle.settings import MoodleLimits
from farm.registry import Registry, RunTrigger
from farm.secrets import SecretRef
from farm.tui.app import FarmDashboard
from farm.tui.feed import RegistryFeed


def build_farm(root: Path, tenants: int, per_site: int = 20) -> Farm:
    sites: dict[str, SiteConfig] = {}
    by_id: dict[str, TenantConfig] = {}
    for number in range(0, tenants, per_site):
        name = f"site-{number // per_site:03d}"
        mine = tuple(
            TenantConfig(
                id=f"{9000000 + k:07d}X",
                kind="establishment",
                name=f"Établissement {k}",
                site=name,
                source="ent",
                tags=frozenset({f"academie:a{k % 7}"}),
            )
            for k in range(number, min(number + per_site, tenants))
        )
        sites[name] = SiteConfig(
            name=name,
            file=root / f"{name}.toml",
            url=f"http://127.0.0.1:9/{name}",
            token=SecretRef("env", "UNUSED"),
            limits=MoodleLimits(),
            tags=frozenset(),
            tenants=mine,
            removal="suspend",
            mass_removal_threshold=0.5,
        )
        by_id.update((t.id, t) for t in mine)
    return Farm(
        root=root,
        settings=FarmSettings(name="bench", registry_url="sqlite:///unused"),
        directories={},
        netypareo={},
        sites=sites,
        tenants=by_id,
    )


class Writer:
    """A batch played into the registry through the EventBus, ``rate`` events per second.

    Waves of 20 tenants go through their phases (queued, reading, planning,
    applying with progress, succeeded with counts); when every tenant is
    done, the waves start again, until the benchmark stops the writer: the
    rate is held for the whole measure, not only while one batch lasts.
    Events are paced against the clock: a writer that fell behind (the GIL
    is shared with the dashboard) sends at once what it owes, and
    :attr:`reached` says what it really sent per second.
    """

    def __init__(self, bus: EventBus, farm: Farm, rate: float, stop: threading.Event) -> None:
        self.bus, self.farm, self.rate, self.stop = bus, farm, rate, stop
        self.sent = 0
        self.started = self.ended = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def reached(self) -> float:
        """Events per second sent over the writer's own run time."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def play(self) -> None:
        self.started = time.perf_counter()
        interval = 1.0 / self.rate
        next_at = self.started

        def emit(event: Event) -> None:
            nonlocal next_at
            self.bus.publish(event)
            self.sent += 1
            next_at += interval
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)

        run = 1
        tenants = list(self.farm.tenants.values())
        emit(Event(run, EventKind.RUN_STARTED, counts={"tenants": len(tenants)}))
        try:
            while not self.stop.is_set():
                for t in tenants:
                    emit(Event(run, EventKind.PHASE, site=t.site, tenant=t.id, phase=Phase.QUEUED))
                for start in range(0, len(tenants), 20):
                    if self.stop.is_set():
                        return
                    self._wave(emit, run, tenants[start : start + 20])
        finally:
            emit(Event(run, EventKind.RUN_FINISHED, message="succeeded"))
            self.ended = time.perf_counter()

    def _wave(self, emit: Callable[[Event], None], run: int, wave: list[TenantConfig]) -> None:
        for phase in (Phase.READING, Phase.PLANNING, Phase.APPLYING):
            for t in wave:
                emit(Event(run, EventKind.PHASE, site=t.site, tenant=t.id, phase=phase))
        for step in range(0, 101, 10):
            for t in wave:
                emit(Event(run, EventKind.PROGRESS, site=t.site, tenant=t.id, done=step, total=100))
        counts = {"person.create": 90, "person.update": 8, "person.suspend": 2}
        for t in wave:
            emit(
                Event(
                    run,
                    EventKind.PHASE,
                    site=t.site,
                    tenant=t.id,
                    phase=Phase.SUCCEEDED,
                    counts=counts,
                )
            )


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        farm = build_farm(root, args.tenants)
        registry = Registry.open(f"sqlite:///{root / 'registry.db'}", check=False, create=True)
        registry.upgrade()
        registry.load_farm(farm)
        registry.start_run(trigger=RunTrigger.BATCH, selection={"tenants": list(farm.tenants)})
        feed = RegistryFeed(registry, farm)
        polls: list[float] = []
        original = feed.poll

        def timed_poll(limit: int = 5000) -> list[Event]:
            started = time.perf_counter()
            events = original(limit)
            polls.append(time.perf_counter() - started)
            return events

        feed.poll = timed_poll  # type: ignore[method-assign]
        app = FarmDashboard(feed, None, tick=args.tick)
        bus = EventBus(registry)
        bus.start()
        stop = threading.Event()
        writer = Writer(bus, farm, args.rate, stop)
        async with app.run_test(size=(200, 50)) as pilot:
            while not app.loaded:
                await pilot.pause(0.05)
            load_started = time.perf_counter()
            thread = threading.Thread(target=writer.play)
            thread.start()
            await pilot.pause(args.seconds)
            stop.set()
            thread.join()
            await asyncio.to_thread(bus.close)
            await pilot.pause(args.tick * 3)
            elapsed = time.perf_counter() - load_started
            folded = sum(1 for r in app.view.rows.values() if r.state.value != "never")
            ticks = [t * 1000 for t in app.tick_times]
            cpu = [t * 1000 for t in app.tick_cpu]
            table = app.table
        registry.close()
    p = statistics.quantiles(ticks, n=20, method="inclusive") if len(ticks) > 2 else ticks
    short = writer.reached < 0.95 * args.rate
    print(
        f"tenants {args.tenants}, tick {args.tick}s, {elapsed:.1f}s; writer: asked "
        f"{args.rate:.0f} events/s, reached {writer.reached:.0f}/s ({writer.sent} events in "
        f"{writer.seconds:.1f} s)"
        + (
            " SHORT of the rate asked: the writer shares the GIL with the dashboard"
            if short
            else ""
        )
        + f"; recorded {bus.recorded}"
    )
    print(
        f"ticks {len(ticks)}: fold+redraw median {statistics.median(ticks):.1f} ms, "
        f"p95 {p[-1]:.1f} ms, max {max(ticks):.1f} ms; table rebuilds {table.rebuilds}"
    )
    print(
        f"fold+redraw CPU of the UI thread: median {statistics.median(cpu):.1f} ms, "
        f"max {max(cpu):.1f} ms"
    )
    print(
        f"registry poll median {statistics.median(polls) * 1000:.1f} ms, "
        f"max {max(polls) * 1000:.1f} ms; rows touched {folded}/{args.tenants}"
    )
    budget = statistics.median(ticks) / (args.tick * 1000)
    print(f"share of the tick spent drawing: {budget:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="events per second")
    parser.add_argument("--tick", type=float, default=0.5)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
