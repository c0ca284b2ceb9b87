#!/usr/bin/env python3
"""Benchmark of a farm-wide sync against a bare client, both measured in this one run.

    tools/bench_farm.py                          # 200 tenants, 50 sites, 100,000 people
    tools/bench_farm.py --sites 5 --tenants 20 --people 10000
    tools/bench_farm.py --big 2000,5000,10000,20000,50000 --sequential-sites 1
    tools/bench_farm.py --registry postgresql+psycopg://postgres@127.0.0.1/bench
    tools/bench_farm.py --quick                  # a small version of everything, in seconds

Every site is a Moodle simulator site with the cost model (30 ms per call +
10 ms per record, 4 workers). The simulator runs in a process of its own
(uvicorn on a loopback port, started by this script with ``--serve``) and
the engine talks real HTTP to it; ``--in-process`` serves it in this
process instead (what ``--quick`` does). People come from a static source;
the registry is a new SQLite file unless ``--registry`` names an empty
database; the real coordinator, leases, event bus and job run, with the
garbage-collector tuning every job gets (``farm.engine.collector``, held
by ``run_job`` whichever command runs it: ``farm sync``, ``farm worker``)
and the malloc arena limit the ``farm`` command sets (``farm.engine.allocator``);
the thresholds seen while a job applies are printed, and those outside.

In the same run, on other sites of the same simulator:

- **bare**: a bare ``httpx.AsyncClient`` loop sends the same records (the
  same fields, 100 per call, as many calls in flight per site as the farm,
  the cohort, the users, then the memberships) and does nothing else:
  issue 20's floor. The same loop over aiohttp, the library of the farm's
  wire to real sites (``farm/moodle/wire.py``), is the lower floor; it
  needs the simulator over loopback, so ``--in-process`` leaves it out.
  The table prints farm/httpx and farm/aiohttp for the CPU per record and
  the wall time, and each one's ratio to the cost-model ideal (the busiest
  site's work divided by its workers): the bare clients' best is the best
  ratio this machine allows.
- **sequential**: ``--sequential-sites`` sites (default 1) synced one after
  another, one call at a time (``jobs_in_flight = 1``, ``calls_in_flight =
  1``), each with as many people as a site of the farm: that measured time
  per site, times the farm's sites, is what syncing the sites one after
  another would take; it is labelled an estimate from that measure.
- **big site**: ``--big`` sizes (default 2,000 to 50,000 people), each one
  site with one tenant, synced then rerun with the cost model off (no
  delays: the series measures CPU): CPU per 1,000 records, the no-change
  rerun's engine CPU per person, the index entries the engine copied (a
  whole index copied per batch would show as a count growing with the
  square of the size), and the simulator's CPU per 1,000 records (flat
  when the simulator costs what each call carries, so that the series
  measures the farm).

Memory is the engine process's peak resident set after the first sync and
after the rerun, per person. The load average is printed at the start and
the end. Aims (issue 20): farm/bare CPU per record <= 1.5, farm/bare wall
<= 1.2 at 100,000 people, rerun <= 20 us per person at 50,000 on one site,
CPU per record at 50,000 on one site within 20% of that at 2,000, peak
resident memory <= 3 KB per person.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from farm.config import Farm, FarmSettings, SiteConfig, TenantConfig
from farm.engine.allocator import limit_arenas
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, SyncRequest
from farm.engine.events import Event, EventKind, Phase
from farm.engine.wiring import Sources, client_provider
from farm.logs import configure_logs
from farm.model import Cohort, CohortMembership, Person, Profile, TenantSnapshot, shared_set
from farm.moodle.settings import MoodleLimits
from farm.moodle.wire import tls_context
from farm.registry import Registry
from farm.secrets import SecretRef
from farm.simulators.moodle import STOCK_AUTH_PLUGINS, CostModel, MoodleSimulator
from farm.sources.static import StaticSource

TOKEN = "b3nch-t0ken-0123456789"  # noqa: S105  (the simulated sites' token)
READS = ("get_", "search_")
PER_CALL = 100
DEFAULT_BIG = (2000, 5000, 10_000, 20_000, 50_000)


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


@dataclass(frozen=True)
class SiteGroup:
    """Sites ``{prefix}-000`` ... of the simulator, with one cost model."""

    prefix: str
    count: int
    per_call: float
    per_record: float
    workers: int

    def names(self) -> list[str]:
        return [f"{self.prefix}-{n:03d}" for n in range(self.count)]


def simulator(groups: Sequence[SiteGroup]) -> MoodleSimulator:
    sim = MoodleSimulator()
    for group in groups:
        for name in group.names():
            sim.add_site(
                name,
                token=TOKEN,
                profile_fields=("uai",),
                cost=MeteredCost(group.per_call, group.per_record, group.workers),
                # The farm's sites authenticate people with the ENT's CAS, as a real one would.
                auth_installed={*STOCK_AUTH_PLUGINS, "cas"},
            )
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
            "calls": dict(site.calls),
        }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"sites": sites, "cpu": usage.ru_utime + usage.ru_stime, "pid": os.getpid()}


class StatsApp:
    """The simulator, plus ``GET /_bench/stats`` for the benchmark's figures."""

    def __init__(self, sim: MoodleSimulator) -> None:
        self.sim = sim

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/stats":
            body = json.dumps(stats_of(self.sim)).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.sim(scope, receive, send)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    sim = simulator([SiteGroup(**group) for group in json.loads(args.groups)])
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


# The people: one tenant's, the same for the farm's source and the bare client.
def tenant_uai(t: int) -> str:
    return f"{1000000 + t:07d}B"


def people_of(t: int, count: int) -> tuple[Person, ...]:
    uai = tenant_uai(t)
    return tuple(
        Person(
            source_key=f"sdet:{uai}-{i}",
            username=f"u{uai.lower()}x{i}",
            idnumber=f"{uai}-{i}",
            firstname=f"Prénom{i}",
            lastname=f"NOM{t}",
            email=f"u{uai.lower()}x{i}@example.org",
            profiles=shared_set(frozenset({Profile.STUDENT})),
            establishments=shared_set(frozenset({uai})),
        )
        for i in range(count)
    )


def cohort_of(t: int) -> Cohort:
    uai = tenant_uai(t)
    return Cohort(f"farm:{uai}:student", f"Élèves {uai}")


@dataclass(frozen=True)
class Shape:
    """A farm to sync: ``tenants`` spread over the sites of ``group``, ``people`` in all."""

    group: SiteGroup
    tenants: int
    people: int
    calls_in_flight: int
    jobs_in_flight: int
    # The number of its first tenant: each phase has tenants (and people) of its own.
    first: int = 0

    @property
    def per_tenant(self) -> int:
        return self.people // self.tenants

    def numbers(self) -> range:
        return range(self.first, self.first + self.tenants)

    def site_of(self, t: int) -> str:
        return self.group.names()[(t - self.first) % self.group.count]


def source_of(shape: Shape) -> StaticSource:
    """The people of the shape's tenants, each tenant's in one cohort."""
    snapshots: list[TenantSnapshot] = []
    for t in shape.numbers():
        members = people_of(t, shape.per_tenant)
        cohort = cohort_of(t)
        memberships = tuple(CohortMembership(cohort.idnumber, p.source_key) for p in members)
        snapshots.append(
            TenantSnapshot(
                tenant=tenant_uai(t),
                people=members,
                cohorts=(cohort,),
                cohort_members=memberships,
            )
        )
    return StaticSource("ent", snapshots)


def build(root: Path, base_url: str, shape: Shape, registry_url: str) -> Farm:
    """The shape's farm: its sites, with its tenants, and its jobs in flight."""
    site_configs: dict[str, SiteConfig] = {}
    all_tenants: dict[str, TenantConfig] = {}
    for t in shape.numbers():
        uai = tenant_uai(t)
        all_tenants[uai] = TenantConfig(
            uai, "establishment", uai, shape.site_of(t), "ent", frozenset()
        )
    for name in shape.group.names():
        site_configs[name] = SiteConfig(
            name=name,
            file=root / f"{name}.toml",
            url=f"{base_url}/{name}",
            token=SecretRef("env", "FARM_BENCH_TOKEN"),
            limits=MoodleLimits(calls_in_flight=shape.calls_in_flight, records_per_batch=PER_CALL),
            tags=frozenset(),
            tenants=tuple(t for t in all_tenants.values() if t.site == name),
            removal="suspend",
            mass_removal_threshold=0.5,
            auth="cas",
        )
    return Farm(
        root=root,
        settings=FarmSettings(
            name="bench", registry_url=registry_url, jobs_in_flight=shape.jobs_in_flight
        ),
        directories={},
        netypareo={},
        sites=site_configs,
        tenants=all_tenants,
    )


def union(farms: Sequence[Farm]) -> Farm:
    """One farm holding every phase's sites and tenants: the registry is loaded once."""
    return dataclasses.replace(
        farms[0],
        sites={name: site for farm in farms for name, site in farm.sites.items()},
        tenants={uai: tenant for farm in farms for uai, tenant in farm.tenants.items()},
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min)"


class CopyCounter:
    """Index entries the engine copies, as each :class:`farm.index.LiveIndex` counts them.

    A live index shares the tables of the index it is made from and copies a
    kind's table the first time it writes to it, and :meth:`frozen` copies
    the tables written to; it adds each copy to its ``copied``. The counter
    reads that after every ``write`` and ``frozen`` while the benchmark runs;
    an engine without it prints n/a.
    """

    def __init__(self) -> None:
        self.entries = 0
        self.measurable = False

    @contextmanager
    def counting(self) -> Iterator[None]:
        from farm import index as index_module

        live = getattr(index_module, "LiveIndex", None)
        wrapped: list[tuple[str, Any]] = []
        if live is not None and "copied" in getattr(live, "__slots__", ()):
            for name in ("__init__", "write", "frozen"):
                original = getattr(live, name)
                wrapped.append((name, original))
                setattr(live, name, self._wrap(original))
        self.measurable = bool(wrapped)
        try:
            yield
        finally:
            for name, original in wrapped:
                setattr(live, name, original)

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(index: Any, *args: Any, **kwargs: Any) -> Any:
            before = getattr(index, "copied", 0)
            try:
                return original(index, *args, **kwargs)
            finally:
                self.entries += index.copied - before

        return counted


@dataclass
class FarmRun:
    """One farm's first sync and no-change rerun, as measured."""

    first_wall: float
    first_cpu: float
    first_status: str
    rerun_wall: float
    rerun_cpu: float
    rerun_status: str
    rerun_writes: int
    records: int
    work: dict[str, float]
    peak_first_mb: float
    peak_rerun_mb: float
    copied_first: int | None
    copied_rerun: int | None
    # The simulator's CPU during the first sync (its process's; None in-process).
    simulator_cpu: float | None
    gc_threshold: tuple[int, int, int] = (0, 0, 0)
    # Web-service calls of the first sync, reads included.
    calls: int = 0
    # The first sync's confirmed batches and the registry transactions that recorded
    # them (farm.registry.group_commit); None for an engine without group commit.
    recorded: tuple[int, int] | None = None


Stats = Callable[[], Awaitable[dict[str, Any]]]


async def run_farm(
    farm: Farm,
    shape: Shape,
    registry: Registry,
    transport: httpx.AsyncBaseTransport | None,
    stats: Stats,
) -> FarmRun:
    source = source_of(shape)
    names = shape.group.names()
    copies = CopyCounter()
    seen: list[tuple[int, int, int]] = []
    async with EventBus(registry) as bus:
        # The thresholds a job applies with, as the engine sets them.
        bus.subscribe(lambda event: seen.append(gc.get_threshold()) if applying(event) else None)
        coordinator = Coordinator(
            farm=farm,
            registry=registry,
            events=bus,
            sources=Sources(farm, {"ent": source}),
            clients=client_provider(transport=transport),
        )
        request = SyncRequest(tenants=tuple(farm.tenants.values()))
        del source
        before = await stats()
        grouped = getattr(registry, "_confirmations", None)
        counted = (grouped.items, grouped.groups) if grouped is not None else (0, 0)
        with copies.counting():
            cpu, started = cpu_seconds(), time.perf_counter()
            first = await coordinator.run(request)
            first_wall, first_cpu = time.perf_counter() - started, cpu_seconds() - cpu
            recorded = None
            if grouped is not None:
                recorded = (grouped.items - counted[0], grouped.groups - counted[1])
            copied_first = copies.entries
            peak_first = peak_mb()
            after_first = await stats()
            cpu, started = cpu_seconds(), time.perf_counter()
            rerun = await coordinator.run(request)
            rerun_wall, rerun_cpu = time.perf_counter() - started, cpu_seconds() - cpu
            copied_rerun = copies.entries - copied_first
        peak_rerun = peak_mb()
        after_rerun = await stats()
    return FarmRun(
        first_wall=first_wall,
        first_cpu=first_cpu,
        first_status=first.status.value,
        rerun_wall=rerun_wall,
        rerun_cpu=rerun_cpu,
        rerun_status=rerun.status.value,
        rerun_writes=int(sum(delta(after_first, after_rerun, "writes", names).values())),
        records=int(sum(delta(before, after_first, "records", names).values())),
        work=delta(before, after_first, "work", names),
        peak_first_mb=peak_first,
        peak_rerun_mb=peak_rerun,
        copied_first=copied_first if copies.measurable else None,
        copied_rerun=copied_rerun if copies.measurable else None,
        simulator_cpu=simulator_cpu(before, after_first),
        gc_threshold=seen[0] if seen else gc.get_threshold(),
        calls=calls_between(before, after_first, names),
        recorded=recorded,
    )


def simulator_cpu(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """The simulator process's CPU between two stats; None when it is this process."""
    if "pid" not in after or after["pid"] == os.getpid():
        return None
    return float(after["cpu"] - before["cpu"])


def calls_between(before: dict[str, Any], after: dict[str, Any], names: Sequence[str]) -> int:
    """Every web-service call the sites took between two stats, reads included."""
    return sum(
        sum(after["sites"][name]["calls"].values()) - sum(before["sites"][name]["calls"].values())
        for name in names
    )


def applying(event: Event) -> bool:
    return event.kind is EventKind.PHASE and event.phase is Phase.APPLYING


def delta(
    before: dict[str, Any], after: dict[str, Any], key: str, names: Sequence[str]
) -> dict[str, float]:
    return {name: after["sites"][name][key] - before["sites"][name][key] for name in names}


# The bare client.
def _form(function: str, fields: list[tuple[str, str]]) -> bytes:
    head = [("wstoken", TOKEN), ("wsfunction", function), ("moodlewsrestformat", "json")]
    return urllib.parse.urlencode(head + fields).encode()


def _user_fields(batch: Sequence[Person]) -> list[tuple[str, str]]:
    # The fields the farm sends for a new CAS account (see a capture of its calls).
    fields: list[tuple[str, str]] = []
    for n, person in enumerate(batch):
        at = f"users[{n}]"
        fields += [
            (f"{at}[username]", person.username),
            (f"{at}[firstname]", person.firstname),
            (f"{at}[lastname]", person.lastname),
            (f"{at}[email]", person.email or ""),
            (f"{at}[auth]", "cas"),
            (f"{at}[idnumber]", person.idnumber or ""),
        ]
    return fields


def _cohort_fields(cohorts: Sequence[Cohort]) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for n, cohort in enumerate(cohorts):
        at = f"cohorts[{n}]"
        fields += [
            (f"{at}[categorytype][type]", "system"),
            (f"{at}[categorytype][value]", ""),
            (f"{at}[name]", cohort.name),
            (f"{at}[idnumber]", cohort.idnumber),
            (f"{at}[description]", ""),
            (f"{at}[visible]", "1"),
        ]
    return fields


def _member_fields(pairs: Sequence[tuple[int, int]]) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for n, (cohortid, userid) in enumerate(pairs):
        at = f"members[{n}]"
        fields += [
            (f"{at}[cohorttype][type]", "id"),
            (f"{at}[cohorttype][value]", str(cohortid)),
            (f"{at}[usertype][type]", "id"),
            (f"{at}[usertype][value]", str(userid)),
        ]
    return fields


Post = Callable[[str, bytes], Awaitable[Any]]
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _decoded(url: str, answer: Any) -> Any:
    if isinstance(answer, dict) and "exception" in answer:
        raise SystemExit(f"bare client: {url} answered {answer}")
    return answer


async def bare_site(
    url: str,
    people: dict[int, tuple[Person, ...]],
    in_flight: int,
    transport: httpx.AsyncBaseTransport | None,
    library: str,
) -> None:
    """One site's records, sent as the farm would send them and nothing else.

    One client per site with as many connections as calls in flight, as the
    farm's session has: one pool for every site would cost more per call
    than either (httpx scans its pool's connections for each request). One
    TLS context for every site, the farm's own: httpx builds one per client
    otherwise, tens of ms of CPU each (its CA bundle), which is no floor.
    ``library`` is ``httpx`` (issue 20's bare client) or ``aiohttp`` (the
    farm's wire to real sites, farm/moodle/wire.py).
    """
    if library == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=in_flight, ssl=tls_context())
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post_aiohttp(endpoint: str, body: bytes) -> Any:
                async with session.post(endpoint, data=body, headers=FORM) as response:
                    response.raise_for_status()
                    return _decoded(endpoint, json.loads(await response.read()))

            await _send_site(post_aiohttp, url, people, in_flight)
        return
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(
        transport=transport, limits=limits, timeout=600, verify=tls_context()
    ) as http:

        async def post_httpx(endpoint: str, body: bytes) -> Any:
            response = await http.post(endpoint, content=body, headers=FORM)
            response.raise_for_status()
            return _decoded(endpoint, response.json())

        await _send_site(post_httpx, url, people, in_flight)


async def _send_site(
    post: Post, url: str, people: dict[int, tuple[Person, ...]], in_flight: int
) -> None:
    endpoint = f"{url}/webservice/rest/server.php"
    limit = anyio.Semaphore(in_flight)
    cohorts = [cohort_of(t) for t in people]
    made = await post(endpoint, _form("core_cohort_create_cohorts", _cohort_fields(cohorts)))
    cohort_ids = [int(c["id"]) for c in made]
    pairs: list[tuple[int, int]] = []

    async def create(batch: Sequence[Person], cohortid: int) -> None:
        async with limit:
            answer = await post(endpoint, _form("core_user_create_users", _user_fields(batch)))
        pairs.extend((cohortid, int(user["id"])) for user in answer)

    async def add(batch: Sequence[tuple[int, int]]) -> None:
        async with limit:
            await post(endpoint, _form("core_cohort_add_cohort_members", _member_fields(batch)))

    async with anyio.create_task_group() as group:
        for members, cohortid in zip(people.values(), cohort_ids, strict=True):
            for start in range(0, len(members), PER_CALL):
                group.start_soon(create, members[start : start + PER_CALL], cohortid)
    async with anyio.create_task_group() as group:
        for start in range(0, len(pairs), PER_CALL):
            group.start_soon(add, pairs[start : start + PER_CALL])


@dataclass
class BareRun:
    wall: float
    cpu: float
    records: int
    work: dict[str, float] = field(default_factory=dict)
    simulator_cpu: float | None = None
    calls: int = 0


async def run_bare(
    base_url: str,
    shape: Shape,
    transport: httpx.AsyncBaseTransport | None,
    stats: Stats,
    library: str = "httpx",
) -> BareRun:
    names = shape.group.names()
    # The records exist before the clock starts, as the farm's source does.
    people_of_site: dict[str, dict[int, tuple[Person, ...]]] = {name: {} for name in names}
    for t in shape.numbers():
        people_of_site[shape.site_of(t)][t] = people_of(t, shape.per_tenant)
    before = await stats()
    cpu, started = cpu_seconds(), time.perf_counter()
    async with anyio.create_task_group() as group:
        for name in names:
            url = f"{base_url}/{name}"
            group.start_soon(
                bare_site, url, people_of_site[name], shape.calls_in_flight, transport, library
            )
    wall, used = time.perf_counter() - started, cpu_seconds() - cpu
    del people_of_site
    after = await stats()
    records = int(sum(delta(before, after, "records", names).values()))
    work = delta(before, after, "work", names)
    calls = calls_between(before, after, names)
    return BareRun(wall, used, records, work, simulator_cpu(before, after), calls)


# The simulator, in a process of its own or in this one.
async def remote_stats(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{url}/_bench/stats", timeout=60)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def spawn_simulator(groups: Sequence[SiteGroup], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    spec = json.dumps([vars(group) for group in groups])
    command = [sys.executable, __file__, "--serve", f"--port={port}", f"--groups={spec}"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    return process, port


async def start_simulator(
    groups: Sequence[SiteGroup], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    process, port = spawn_simulator(groups, log)
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


def ideal_of(work: dict[str, float], workers: int) -> float:
    """The cost model's time for the busiest site: its work divided by its workers."""
    return max(work.values(), default=0.0) / workers


def per_k(cpu: float, records: int) -> float:
    return 1000 * cpu / max(1, records)


async def main(args: argparse.Namespace) -> None:
    os.environ["FARM_BENCH_TOKEN"] = TOKEN
    root = Path(tempfile.mkdtemp(prefix="bench-farm-"))
    in_flight = args.calls_in_flight or args.workers
    cost = (args.per_call, args.per_record, args.workers)
    tenants, sites = args.tenants, args.sites
    main_shape = Shape(SiteGroup("site", sites, *cost), tenants, args.people, in_flight, sites)
    # The bare client's tenants are numbered apart from the farm's: other sites, other people.
    bare_shape = dataclasses.replace(main_shape, group=SiteGroup("bare", sites, *cost))
    aiohttp_shape = dataclasses.replace(main_shape, group=SiteGroup("bareaio", sites, *cost))
    shapes = [main_shape]
    seq_shape = None
    if args.sequential_sites:
        per_site_tenants = max(1, tenants // sites)
        seq_shape = Shape(
            SiteGroup("seq", args.sequential_sites, *cost),
            per_site_tenants * args.sequential_sites,
            args.people // sites * args.sequential_sites,
            calls_in_flight=1,
            jobs_in_flight=1,
            first=tenants,
        )
        shapes.append(seq_shape)
    for size in args.big:
        after = shapes[-1].first + shapes[-1].tenants
        group = SiteGroup(f"big{size}", 1, 0.0, 0.0, args.workers)
        shapes.append(Shape(group, 1, size, in_flight, 1, first=after))
    groups = [bare_shape.group, aiohttp_shape.group, *(shape.group for shape in shapes)]

    process: subprocess.Popen[bytes] | None = None
    transport: httpx.AsyncBaseTransport | None = None
    stats: Stats
    if args.in_process:
        local = simulator(groups)
        base_url, transport = local.base_url, local.transport()

        async def stats() -> dict[str, Any]:
            return stats_of(local)

    else:
        process, base_url = await start_simulator(groups, root / "simulator.log")

        async def stats() -> dict[str, Any]:
            return await remote_stats(base_url)

    registry_url = args.registry or f"sqlite:///{root / 'registry.db'}"
    farms = [build(root, base_url, shape, registry_url) for shape in shapes]
    registry = Registry.open(registry_url, check=False, create=True)
    registry.upgrade()
    registry.load_farm(union(farms))
    mode = "in-process" if args.in_process else "own process, HTTP over loopback"
    print(
        f"bench_farm: {tenants} tenants on {sites} sites, {args.people:,} people, "
        f"registry {registry_url.split(':', 1)[0]}, simulator {mode}; {os.cpu_count()} CPUs"
    )
    print(
        f"cost model: {args.per_call * 1000:.0f} ms/call + {args.per_record * 1000:.0f} "
        f"ms/record, {args.workers} workers per site; {in_flight} calls in flight per site, "
        f"{PER_CALL} records per call"
    )
    print(f"load average at start: {load_average()}")
    try:
        baseline = peak_mb()
        farm = await run_farm(farms[0], main_shape, registry, transport, stats)
        bare = await run_bare(base_url, bare_shape, transport, stats)
        # aiohttp has no in-process transport: over loopback only.
        floor = None
        if transport is None:
            floor = await run_bare(base_url, aiohttp_shape, transport, stats, "aiohttp")
        print_main(args, farm, bare, floor, baseline)
        rest = list(zip(farms[1:], shapes[1:], strict=True))
        if seq_shape is not None:
            seq_farm, _ = rest.pop(0)
            sequential = await run_farm(seq_farm, seq_shape, registry, transport, stats)
            print_sequential(args, farm, sequential)
        if rest:
            print_big_header()
            first: float | None = None
            for big_farm, shape in rest:
                big = await run_farm(big_farm, shape, registry, transport, stats)
                cpu = per_k(big.first_cpu, big.records)
                first = cpu if first is None else first
                print_big_row(shape.people, big, cpu, cpu / first)
    finally:
        try:
            print(f"load average at end:   {load_average()}")
        finally:
            # Even when printing fails (a closed pipe): no simulator left behind.
            registry.close()
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def print_main(
    args: argparse.Namespace, farm: FarmRun, bare: BareRun, floor: BareRun | None, baseline: float
) -> None:
    threshold = ", ".join(str(n) for n in farm.gc_threshold)
    print(
        f"garbage collector while a job applies: thresholds {threshold} "
        f"(farm.engine.collector, as in farm sync and farm worker); outside jobs here: "
        f"{', '.join(str(n) for n in gc.get_threshold())}"
    )
    ideal = ideal_of(farm.work, args.workers)
    bares = [bare] if floor is None else [bare, floor]
    Row = tuple[str, list[str], list[float | None]]

    def row(
        label: str,
        of_farm: Callable[[FarmRun], float],
        of_bare: Callable[[BareRun], float],
        shown: str,
        ratio: bool = True,
    ) -> Row:
        mine = of_farm(farm)
        theirs = [of_bare(b) for b in bares]
        ratios = [mine / t if ratio and t else None for t in theirs]
        return label, [format(mine, shown), *(format(t, shown) for t in theirs)], ratios

    none: list[float | None] = [None] * len(bares)
    rows: list[Row] = [
        row("wall (s)", lambda f: f.first_wall, lambda b: b.wall, ".2f"),
        row("CPU (s)", lambda f: f.first_cpu, lambda b: b.cpu, ".2f"),
        row(
            "CPU s per 1,000 records",
            lambda f: per_k(f.first_cpu, f.records),
            lambda b: per_k(b.cpu, b.records),
            ".3f",
        ),
        row("records written", lambda f: f.records, lambda b: b.records, ",", ratio=False),
        row("web-service calls", lambda f: f.calls, lambda b: b.calls, ","),
        (
            "simulator CPU s/1,000 rec",
            [shown_k(farm.simulator_cpu, farm.records)]
            + [shown_k(b.simulator_cpu, b.records) for b in bares],
            none,
        ),
        row(
            "cost-model ideal (s)",
            lambda f: ideal,
            lambda b: ideal_of(b.work, args.workers),
            ".2f",
            ratio=False,
        ),
        row(
            "ideal/wall",
            lambda f: ideal / f.first_wall,
            lambda b: ideal_of(b.work, args.workers) / b.wall,
            ".2f",
            ratio=False,
        ),
    ]
    names = ["farm", "bare httpx", "bare aiohttp"][: 1 + len(bares)]
    ratio_names = ["farm/httpx", "farm/aiohttp"][: len(bares)]
    print()
    print(
        f"first sync ({farm.first_status})".ljust(26)
        + "".join(f"{name:>13}" for name in names)
        + "".join(f"{name:>13}" for name in ratio_names)
    )
    for label, values, ratios in rows:
        shown = "".join(f"{r:13.2f}" if r is not None else " " * 13 for r in ratios)
        print(f"  {label:<24}" + "".join(f"{v:>13}" for v in values) + shown)
    best = max(ideal_of(b.work, args.workers) / b.wall for b in bares)
    print(
        f"  best ratio ideal/wall this machine allows: {best:.2f} (the bare clients' best); "
        f"the farm's: {ideal / farm.first_wall:.2f}; the cost model's: 1.00"
    )
    if farm.recorded is not None:
        batches, transactions = farm.recorded
        print(
            f"  registry: {batches:,} confirmed batches recorded in {transactions:,} "
            "transactions (batches confirmed at the same moment share one)"
        )
    if floor is None:
        print("  bare aiohttp: not run (no in-process transport; run without --in-process)")
    people = max(1, args.people)
    print()
    print(
        f"no-change rerun ({farm.rerun_status}): wall {farm.rerun_wall:.2f} s, engine CPU "
        f"{farm.rerun_cpu:.2f} s = {1e6 * farm.rerun_cpu / people:.1f} us per person, "
        f"writes {farm.rerun_writes}"
    )
    print(
        f"memory: peak RSS {farm.peak_first_mb:.0f} MB after the first sync = "
        f"{1024 * farm.peak_first_mb / people:.2f} KB per person; {farm.peak_rerun_mb:.0f} MB "
        f"after the rerun = {1024 * farm.peak_rerun_mb / people:.2f} KB per person "
        f"(the interpreter and its imports: {baseline:.0f} MB)"
    )


def shown_k(cpu: float | None, records: int) -> str:
    return "n/a" if cpu is None else f"{per_k(cpu, records):.3f}"


def print_sequential(args: argparse.Namespace, farm: FarmRun, sequential: FarmRun) -> None:
    per_site = sequential.first_wall / max(1, args.sequential_sites)
    estimate = per_site * args.sites
    print(
        f"sequential: {args.sequential_sites} site(s) of {args.people // args.sites:,} people "
        f"synced one after another, one call at a time: {sequential.first_wall:.2f} s measured "
        f"= {per_site:.2f} s per site"
    )
    print(
        f"  x {args.sites} sites = {estimate:.1f} s (estimate from that measure); the farm's "
        f"first sync: {farm.first_wall:.2f} s, speed-up {estimate / farm.first_wall:.1f} x"
    )


def print_big_header() -> None:
    print()
    print("big site: one site, one tenant, cost model off (the series measures CPU)")
    print(
        f"  {'people':>7}  {'CPU s/1,000 rec':>15}  {'vs first':>8}  {'rerun us/person':>15}  "
        f"{'copied (first)':>14}  {'copied (rerun)':>14}  {'simulator s/1,000 rec':>21}"
    )


def print_big_row(people: int, run: FarmRun, cpu: float, ratio: float) -> None:
    first = "n/a" if run.copied_first is None else f"{run.copied_first:,}"
    rerun = "n/a" if run.copied_rerun is None else f"{run.copied_rerun:,}"
    simulated = shown_k(run.simulator_cpu, run.records)
    print(
        f"  {people:>7,}  {cpu:>15.3f}  {ratio:>8.2f}  {1e6 * run.rerun_cpu / people:>15.1f}  "
        f"{first:>14}  {rerun:>14}  {simulated:>21}"
    )


def sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()] if text else []


def parser() -> argparse.ArgumentParser:
    parsed = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parsed.add_argument("--sites", type=int, default=50)
    parsed.add_argument("--tenants", type=int, default=200)
    parsed.add_argument("--people", type=int, default=100_000)
    parsed.add_argument("--workers", type=int, default=4)
    parsed.add_argument(
        "--calls-in-flight",
        type=int,
        default=0,
        help="the sites' calls_in_flight limit, the bare client's too (default: --workers)",
    )
    parsed.add_argument("--per-call", type=float, default=0.030)
    parsed.add_argument("--per-record", type=float, default=0.010)
    parsed.add_argument(
        "--sequential-sites",
        type=int,
        default=1,
        help="sites synced one after another, one call at a time (0: none)",
    )
    parsed.add_argument(
        "--big",
        type=sizes,
        default=list(DEFAULT_BIG),
        help="people on one site for the big-site series, comma-separated ('' for none)",
    )
    parsed.add_argument("--registry", help="an empty registry URL (default: a new SQLite file)")
    parsed.add_argument(
        "--in-process", action="store_true", help="serve the simulator in the engine's process"
    )
    parsed.add_argument(
        "--quick",
        action="store_true",
        help="a small version of everything (2 sites, 2 tenants, 100 people, big 50,100, "
        "the cost model off, the simulator in-process) to check the benchmark runs",
    )
    parsed.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parsed.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parsed.add_argument("--groups", default="[]", help=argparse.SUPPRESS)
    return parsed


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    if args.quick:
        args.sites, args.tenants, args.people = 2, 2, 100
        args.per_call = args.per_record = 0.0
        args.big, args.in_process = [50, 100], True
    return args


if __name__ == "__main__":
    parsed_args = arguments()
    # Logs as every farm command sets them (warnings and errors only), and the C
    # allocator's arenas limited as the farm command limits them before any thread starts.
    configure_logs()
    limit_arenas()
    if parsed_args.serve:
        serve(parsed_args)
    else:
        anyio.run(main, parsed_args)
    sys.exit(0)
