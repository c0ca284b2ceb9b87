#!/usr/bin/env python3
"""Benchmark of a farm-wide sync: many tenants on many simulated sites.

    tools/bench_farm.py                          # 200 tenants, 50 sites, 100,000 people
    tools/bench_farm.py --sites 5 --tenants 20 --people 10000
    tools/bench_farm.py --registry postgresql+psycopg://postgres@127.0.0.1/bench
    tools/bench_farm.py --in-process             # simulator in the engine's process

Every site is a Moodle simulator site with the cost model (30 ms per call +
10 ms per record, 4 workers). The simulator runs in a process of its own
(uvicorn on a loopback port, started by this script with ``--serve``) so
that its CPU does not compete with the engine's event loop, and the engine
talks to it over real HTTP; ``--in-process`` serves it in-process instead.
People come from a static source; the registry is a new SQLite file unless
``--registry`` names an empty database; the real coordinator, leases, event
bus and job run.

It prints the wall time of the first sync and of a no-change rerun, the
ideal time from the cost model (the busiest site's work divided by its
workers), their ratio, the speed-up over syncing the sites one after
another (the sum of the sites' job durations, which is what a one-at-a-time
run would take), the writes the rerun made, and peak memory.

It also prints what bounds the ratio when it falls short:

- the engine's CPU seconds per 1,000 records written, and the "engine CPU
  floor" they imply: one process runs its Python on one core at a time (the
  GIL), so the first sync cannot take less wall time than its CPU time, and
  the best ratio it allows is the ideal divided by that floor;
- the share of that CPU spent in the garbage collector (``--gc-tuned``
  freezes the source's records and raises the young-generation threshold,
  as a batch process may);
- the simulator's time serving calls against the cost model's work: above
  1.0, calls took longer than the model says (loaded cores, late answers);
- the slowest site's phases, in seconds from the run's start.

``--calls-in-flight`` sets the sites' ``calls_in_flight`` apart from the
simulated workers (default: equal).
Aims: ratio >= 0.9, rerun writes = 0, peak memory <= 1 GB.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from farm.config import Farm, FarmSettings, SiteConfig, TenantConfig
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, SyncRequest
from farm.engine.events import Event, EventKind
from farm.engine.wiring import Sources, client_provider
from farm.model import Cohort, CohortMembership, Person, Profile, TenantSnapshot
from farm.moodle.settings import MoodleLimits
from farm.registry import Registry
from farm.secrets import SecretRef
from farm.simulators.moodle import CostModel, MoodleSimulator
from farm.sources.static import StaticSource

TOKEN = "b3nch-t0ken-0123456789"  # noqa: S105  (the simulated sites' token)
READS = ("get_", "search_")


@dataclass
class MeteredCost(CostModel):
    """The cost model, also adding up each site's work (seconds) and records written."""

    work: float = 0.0
    records: int = 0

    def delay(self, records: int, function: str = "") -> float:
        seconds = super().delay(records, function)
        self.work += seconds
        if not any(r in function for r in READS):
            self.records += records
        return seconds


def simulator(sites: int, workers: int, per_call: float, per_record: float) -> MoodleSimulator:
    sim = MoodleSimulator()
    for s in range(sites):
        cost = MeteredCost(per_call, per_record, workers)
        sim.add_site(f"site-{s:03d}", token=TOKEN, profile_fields=("uai",), cost=cost)
    return sim


def stats_of(sim: MoodleSimulator) -> dict[str, Any]:
    """Per-site work, records and write calls, and the simulator process's CPU and memory."""
    sites: dict[str, Any] = {}
    for name, site in sim.sites.items():
        assert isinstance(site.cost, MeteredCost)
        sites[name] = {
            "work": site.cost.work,
            "records": site.cost.records,
            "writes": sum(n for f, n in site.calls.items() if not any(r in f for r in READS)),
            "users": len(site.live_users()),
            "peak_working": site.peak_working,
        }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "sites": sites,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


class StatsApp:
    """The simulator, plus ``GET /_bench/stats`` for the benchmark's figures."""

    def __init__(self, sim: MoodleSimulator) -> None:
        self.sim = sim
        self.served = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/stats":
            stats = stats_of(self.sim)
            stats["served"] = self.served
            body = json.dumps(stats).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        started = time.monotonic()
        try:
            await self.sim(scope, receive, send)
        finally:
            self.served += time.monotonic() - started


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    sim = simulator(args.sites, args.workers, args.per_call, args.per_record)
    sim.rebase(f"http://127.0.0.1:{args.port}")
    uvicorn.run(
        StatsApp(sim),
        host="127.0.0.1",
        port=args.port,
        lifespan="off",
        log_level="warning",
        backlog=4096,
        timeout_keep_alive=120,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def build(
    root: Path, base_url: str, sites: int, tenants: int, people: int, in_flight: int
) -> tuple[Farm, list[TenantSnapshot]]:
    per_tenant = people // tenants
    site_configs: dict[str, SiteConfig] = {}
    all_tenants: dict[str, TenantConfig] = {}
    snapshots: list[TenantSnapshot] = []
    for t in range(tenants):
        site = f"site-{t % sites:03d}"
        uai = f"{1000000 + t:07d}B"
        all_tenants[uai] = TenantConfig(uai, "establishment", uai, site, "ent", frozenset())
        members = tuple(
            Person(
                source_key=f"sdet:{uai}-{i}",
                username=f"u{uai.lower()}x{i}",
                idnumber=f"{uai}-{i}",
                firstname=f"Prénom{i}",
                lastname=f"NOM{t}",
                email=f"u{uai.lower()}x{i}@example.org",
                profiles=frozenset({Profile.STUDENT}),
                establishments=frozenset({uai}),
            )
            for i in range(per_tenant)
        )
        cohort = Cohort(f"farm:{uai}:student", f"Élèves {uai}")
        snapshots.append(
            TenantSnapshot(
                tenant=uai,
                people=members,
                cohorts=(cohort,),
                cohort_members=tuple(
                    CohortMembership(cohort.idnumber, p.source_key) for p in members
                ),
            )
        )
    for s in range(sites):
        name = f"site-{s:03d}"
        site_configs[name] = SiteConfig(
            name=name,
            file=root / f"{name}.toml",
            url=f"{base_url}/{name}",
            token=SecretRef("env", "FARM_BENCH_TOKEN"),
            limits=MoodleLimits(calls_in_flight=in_flight, records_per_batch=100),
            tags=frozenset(),
            tenants=tuple(t for t in all_tenants.values() if t.site == name),
            removal="suspend",
            mass_removal_threshold=0.5,
        )
    farm = Farm(
        root=root,
        settings=FarmSettings(
            name="bench", registry_url=f"sqlite:///{root / 'registry.db'}", jobs_in_flight=sites
        ),
        directories={},
        netypareo={},
        sites=site_configs,
        tenants=all_tenants,
    )
    return farm, snapshots


class GcClock:
    """Time the process spends in the cyclic garbage collector."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


class SiteClock:
    """Each site's job duration, from its first event to its last final phase, and its phases."""

    def __init__(self) -> None:
        self.origin = time.monotonic()
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = defaultdict(float)
        self.phases: dict[str, dict[str, float]] = defaultdict(dict)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def publish(self, event: Event) -> None:
        if event.site is None:
            return
        now = time.monotonic()
        if event.kind is EventKind.PHASE and event.phase is not None:
            self.phases[event.site].setdefault(event.phase.value, now - self.origin)
            if event.phase.value == "reading":
                self.start.setdefault(event.site, now)
            if event.phase.final:
                self.end[event.site] = now
                self.phases[event.site]["done"] = now - self.origin

    def total(self) -> float:
        return sum(self.end[s] - self.start[s] for s in self.start if s in self.end)

    def timeline(self, site: str) -> str:
        """When the site's job entered each phase, in seconds from the run's start."""
        marks = self.phases.get(site, {})
        return ", ".join(f"{name} {at:.1f}" for name, at in marks.items())


async def sync(coordinator: Coordinator, farm: Farm) -> tuple[float, str]:
    started = time.perf_counter()
    result = await coordinator.run(SyncRequest(tenants=tuple(farm.tenants.values())))
    return time.perf_counter() - started, result.status.value


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def remote_stats(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{url}/_bench/stats", timeout=60)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def spawn_simulator(args: argparse.Namespace, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [
        sys.executable,
        __file__,
        "--serve",
        f"--port={port}",
        f"--sites={args.sites}",
        f"--workers={args.workers}",
        f"--per-call={args.per_call}",
        f"--per-record={args.per_record}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    return process, port


async def start_simulator(
    args: argparse.Namespace, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    process, port = spawn_simulator(args, log)
    url = f"http://127.0.0.1:{port}"
    with anyio.fail_after(60):
        while True:
            try:
                await remote_stats(url)
                return process, url
            except httpx.TransportError:
                if process.poll() is not None:
                    raise SystemExit(f"the simulator did not start; see {log}") from None
                await anyio.sleep(0.2)


def figures(before: dict[str, Any], after: dict[str, Any], key: str) -> dict[str, float]:
    return {name: after["sites"][name][key] - before["sites"][name][key] for name in after["sites"]}


async def main(args: argparse.Namespace) -> None:
    os.environ["FARM_BENCH_TOKEN"] = TOKEN
    root = Path(tempfile.mkdtemp(prefix="bench-farm-"))
    process: subprocess.Popen[bytes] | None = None
    sim: MoodleSimulator | None = None
    stats: Callable[[], Awaitable[dict[str, Any]]]
    if args.in_process:
        local = sim = simulator(args.sites, args.workers, args.per_call, args.per_record)
        base_url = sim.base_url

        async def stats() -> dict[str, Any]:
            return stats_of(local)

    else:
        process, base_url = await start_simulator(args, root / "simulator.log")

        async def stats() -> dict[str, Any]:
            return await remote_stats(base_url)

    try:
        await bench(args, root, base_url, sim, stats)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)


async def bench(
    args: argparse.Namespace,
    root: Path,
    base_url: str,
    sim: MoodleSimulator | None,
    stats: Callable[[], Awaitable[dict[str, Any]]],
) -> None:
    in_flight = args.calls_in_flight or args.workers
    farm, snapshots = build(root, base_url, args.sites, args.tenants, args.people, in_flight)
    registry_url = args.registry or farm.settings.registry_url
    registry = Registry.open(registry_url, check=False, create=True)
    registry.upgrade()
    registry.load_farm(farm)
    source = StaticSource("ent", snapshots)
    del snapshots
    if args.gc_tuned:
        # The source's records live through the run: keep the collector from scanning
        # them, and collect the young generation every 50,000 allocations, not 700.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
    collections = GcClock()
    clock = SiteClock()
    transport = sim.transport() if sim is not None else None
    async with EventBus(registry) as bus:
        bus.subscribe(clock.publish)
        coordinator = Coordinator(
            farm=farm,
            registry=registry,
            events=bus,
            sources=Sources(farm, {"ent": source}),
            clients=client_provider(transport=transport),
        )
        start = await stats()
        clock.reset()
        cpu_start = cpu_seconds()
        gc_start = collections.seconds
        first, first_status = await sync(coordinator, farm)
        cpu_first = cpu_seconds() - cpu_start
        gc_first = collections.seconds - gc_start
        sequential = clock.total()
        slowest = max(clock.end, key=lambda name: clock.end[name] - clock.start[name])
        timeline = clock.timeline(slowest)
        after_first = await stats()
        rerun, rerun_status = await sync(coordinator, farm)
        after_rerun = await stats()
    registry.close()

    work = figures(start, after_first, "work")
    records = sum(figures(start, after_first, "records").values())
    rerun_writes = int(sum(figures(after_first, after_rerun, "writes").values()))
    users = sum(site["users"] for site in after_rerun["sites"].values())
    busiest = max(work, key=lambda name: work[name])
    ideal = work[busiest] / args.workers
    floor = sum(work.values()) / args.workers
    busy = work[busiest] / first
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_k = 1000 * cpu_first / max(1, records)
    mode = "in-process" if sim is not None else "own process, HTTP over loopback"
    backend = registry_url.split(":", 1)[0]
    print(
        f"farm: {args.tenants} tenants on {args.sites} sites, {args.people} people "
        f"({users} accounts), registry {backend}, simulator {mode}"
    )
    print(
        f"cost model: {args.per_call * 1000:.0f} ms/call + {args.per_record * 1000:.0f} "
        f"ms/record, {args.workers} workers per site, calls_in_flight {in_flight}; "
        f"{os.cpu_count()} CPUs"
    )
    print(f"first sync wall time:    {first:8.2f} s  ({first_status})")
    print(f"ideal (busiest site):    {ideal:8.2f} s")
    print(f"ratio ideal/wall:        {ideal / first:8.2f}  (aim >= 0.9)")
    print(f"busiest site's workers:  {busy:8.2f} busy on average, of {args.workers}")
    print(f"slowest site's job:      {slowest}: {timeline}")
    print(f"sites one after another: {sequential:8.2f} s  (sum of per-site job durations)")
    print(f"  cost-model floor:      {floor:8.2f} s  (sum of the sites' ideal times)")
    print(f"speed-up:                {sequential / first:8.1f} x")
    print(f"no-change rerun:         {rerun:8.2f} s  ({rerun_status})")
    print(f"rerun writes:            {rerun_writes:8d}    (aim = 0)")
    print(f"peak memory (engine):    {peak_mb:8.0f} MB  (aim <= 1024)")
    print(f"records written:         {records:8d}")
    print(
        f"engine CPU, first sync:  {cpu_first:8.2f} s  = {per_k:.2f} CPU s per 1,000 records, "
        f"{cpu_first / first:.2f} CPU s per wall s"
    )
    print(
        f"  of which the garbage collector: {gc_first:.2f} s"
        + (" (--gc-tuned)" if args.gc_tuned else " (default thresholds)")
    )
    if sim is None:
        served = after_first["served"] - start["served"]
        print(
            f"simulator's time serving: {served:7.2f} s  for {sum(work.values()):.2f} s of "
            f"cost-model work ({served / max(sum(work.values()), 1e-9):.2f} x)"
        )
        sim_cpu = after_first["cpu"] - start["cpu"]
        print(
            f"simulator CPU:           {sim_cpu:8.2f} s  = "
            f"{1000 * sim_cpu / max(1, records):.2f} CPU s per 1,000 records; "
            f"peak {after_rerun['peak_mb']:.0f} MB"
        )
    bound = records * per_k / 1000
    print(
        f"engine CPU floor:        {bound:8.2f} s  (wall time if the engine had one core to "
        f"itself; best ratio it allows: {min(1.0, ideal / max(bound, 1e-9)):.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--calls-in-flight",
        type=int,
        default=0,
        help="the sites' calls_in_flight limit (default: --workers)",
    )
    parser.add_argument("--per-call", type=float, default=0.030)
    parser.add_argument("--per-record", type=float, default=0.010)
    parser.add_argument("--registry", help="an empty registry URL (default: a new SQLite file)")
    parser.add_argument(
        "--in-process", action="store_true", help="serve the simulator in the engine's process"
    )
    parser.add_argument(
        "--gc-tuned",
        action="store_true",
        help="freeze the objects built before the first sync and raise the collector's "
        "young-generation threshold to 50,000",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments)
    else:
        anyio.run(main, arguments)
    sys.exit(0)
