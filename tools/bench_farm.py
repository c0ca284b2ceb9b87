#!/usr/bin/env python3
"""Benchmark of a farm-wide sync: many tenants on many simulated sites, one process.

    tools/bench_farm.py                          # 200 tenants, 50 sites, 100,000 people
    tools/bench_farm.py --sites 5 --tenants 20 --people 10000

Every site is a Moodle simulator site with the cost model (30 ms per call +
10 ms per record, 4 workers), served in-process; people come from a static
source; the registry is a SQLite file; the real coordinator, leases, event
bus and job run. It prints the wall time of the first sync and of a
no-change rerun, the ideal time from the cost model (the busiest site's
work divided by its workers), their ratio, the speed-up over syncing the
sites one after another (the sum of the sites' job durations, which is what
a one-at-a-time run would take), the writes the rerun made, and peak memory.
Aims: ratio >= 0.9, rerun writes = 0, peak memory <= 1 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import anyio

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
    """The cost model, also adding up the work (seconds) each site was asked for."""

    work: float = 0.0

    def delay(self, records: int, function: str = "") -> float:
        seconds = super().delay(records, function)
        self.work += seconds
        return seconds


def build(
    root: Path, sites: int, tenants: int, people: int, workers: int
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
            url=f"http://moodle.test/{name}",
            token=SecretRef("env", "FARM_BENCH_TOKEN"),
            limits=MoodleLimits(calls_in_flight=workers, records_per_batch=100),
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


class SiteClock:
    """Each site's job duration, from its first event to its last final phase."""

    def __init__(self) -> None:
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = defaultdict(float)

    def publish(self, event: Event) -> None:
        if event.site is None:
            return
        now = time.monotonic()
        if event.kind is EventKind.PHASE and event.phase is not None:
            if event.phase.value == "reading":
                self.start.setdefault(event.site, now)
            if event.phase.final:
                self.end[event.site] = now

    def total(self) -> float:
        return sum(self.end[s] - self.start[s] for s in self.start if s in self.end)


def writes(sim: MoodleSimulator) -> int:
    return sum(
        n
        for site in sim.sites.values()
        for name, n in site.calls.items()
        if not any(r in name for r in READS)
    )


async def sync(coordinator: Coordinator, farm: Farm) -> tuple[float, str]:
    started = time.perf_counter()
    result = await coordinator.run(SyncRequest(tenants=tuple(farm.tenants.values())))
    return time.perf_counter() - started, result.status.value


async def main(args: argparse.Namespace) -> None:
    os.environ["FARM_BENCH_TOKEN"] = TOKEN
    root = Path(tempfile.mkdtemp(prefix="bench-farm-"))
    farm, snapshots = build(root, args.sites, args.tenants, args.people, args.workers)
    registry_url = args.registry or farm.settings.registry_url
    sim = MoodleSimulator()
    costs = {}
    for name in farm.sites:
        costs[name] = MeteredCost(args.per_call, args.per_record, args.workers)
        sim.add_site(name, token=TOKEN, profile_fields=("uai",), cost=costs[name])
    registry = Registry.open(registry_url, check=False, create=True)
    registry.upgrade()
    registry.load_farm(farm)
    source = StaticSource("ent", snapshots)
    del snapshots
    clock = SiteClock()
    async with EventBus(registry) as bus:
        bus.subscribe(clock.publish)
        coordinator = Coordinator(
            farm=farm,
            registry=registry,
            events=bus,
            sources=Sources(farm, {"ent": source}),
            clients=client_provider(transport=sim.transport()),
        )
        first, first_status = await sync(coordinator, farm)
        sequential = clock.total()
        ideal = max(c.work for c in costs.values()) / args.workers
        before = writes(sim)
        rerun, rerun_status = await sync(coordinator, farm)
        rerun_writes = writes(sim) - before
    users = sum(len(site.live_users()) for site in sim.sites.values())
    busiest = max(costs, key=lambda name: costs[name].work)
    busy = costs[busiest].work / first
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"farm: {args.tenants} tenants on {args.sites} sites, {args.people} people "
        f"({users} accounts created)"
    )
    print(
        f"cost model: {args.per_call * 1000:.0f} ms/call + {args.per_record * 1000:.0f} "
        f"ms/record, {args.workers} workers per site"
    )
    print(f"first sync wall time:    {first:8.2f} s  ({first_status})")
    print(f"ideal (busiest site):    {ideal:8.2f} s")
    print(f"ratio ideal/wall:        {ideal / first:8.2f}  (aim >= 0.9)")
    print(f"busiest site's workers:  {busy:8.2f} busy on average, of {args.workers}")
    print(f"sites one after another: {sequential:8.2f} s  (sum of per-site job durations)")
    print(f"speed-up:                {sequential / first:8.1f} x")
    print(f"no-change rerun:         {rerun:8.2f} s  ({rerun_status})")
    print(f"rerun writes:            {rerun_writes:8d}    (aim = 0)")
    print(f"peak memory:             {peak_mb:8.0f} MB  (aim <= 1024)")
    registry.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--per-call", type=float, default=0.030)
    parser.add_argument("--per-record", type=float, default=0.010)
    parser.add_argument("--registry", help="an empty registry URL (default: a new SQLite file)")
    anyio.run(main, parser.parse_args())
    sys.exit(0)
