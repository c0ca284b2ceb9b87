#!/usr/bin/env python3
"""Benchmark of the distributed executor: the same farm synced by 1, then 2 worker processes.

    tools/bench_workers.py                                  # 10 sites, 20 tenants, 20,000 people
    tools/bench_workers.py --sites 4 --tenants 8 --people 4000 --workers 1,2,3
    tools/bench_workers.py --registry postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    tools/bench_workers.py --quick

For each worker count, a new PostgreSQL database on the server ``--registry``
names (created, then dropped: the registry and the job queue start empty),
new sites on one Moodle simulator in a process of its own (the cost model of
``tools/bench_farm.py``, HTTP on loopback), and that many worker processes,
each running :func:`farm.engine.distributed.worker.run_worker` with the
settings ``farm worker`` gives it (concurrency: the sites divided among the
workers), on the farm of ``bench_farm.py`` (a static source stands for the
directory: ``farm worker`` reads its sources from the farm files, which a
generated farm has none of). This process runs the coordinator with the
distributed executor, as ``farm sync --executor distributed`` does.

Prints, per worker count: the first sync's wall time, the workers' CPU (all
of them, from /proc, during the run), their CPU per 1,000 records written,
the coordinator's CPU, and the wall time of a no-change rerun; the load
average at the start and the end.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_farm

from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, SyncRequest
from farm.engine.wiring import Sources, client_provider
from farm.logs import configure_logs
from farm.registry import Registry

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def shape_of(args: argparse.Namespace, prefix: str) -> bench_farm.Shape:
    cost = (args.per_call, args.per_record, args.site_workers)
    group = bench_farm.SiteGroup(prefix, args.sites, *cost)
    return bench_farm.Shape(group, args.tenants, args.people, args.site_workers, args.sites)


def farm_of(args: argparse.Namespace, prefix: str, base_url: str, url: str) -> Any:
    root = Path(tempfile.gettempdir()) / "bench-workers"
    return bench_farm.build(root, base_url, shape_of(args, prefix), url)


# A worker process.
async def worker(args: argparse.Namespace) -> int:
    from farm.engine.distributed.app import procrastinate_app
    from farm.engine.distributed.queue import check_ready
    from farm.engine.distributed.worker import WorkerRuntime, WorkerSettings, run_worker
    from farm.engine.leases import LeasePolicy

    os.environ["FARM_BENCH_TOKEN"] = bench_farm.TOKEN
    farm = farm_of(args, args.prefix, args.base_url, args.registry)
    source = bench_farm.source_of(shape_of(args, args.prefix))
    registry = Registry.open(args.registry)
    app = procrastinate_app(args.registry)
    async with app.open_async(), EventBus(registry) as bus:
        await check_ready(app, registry.url)
        runtime = WorkerRuntime(
            farm=lambda: farm,
            registry=registry,
            events=bus,
            clients=client_provider(),
            stop=anyio.Event(),
            sources={"ent": source},
            leases=LeasePolicy(),
        )
        # farm worker's own settings (farm/cli/worker.py), its concurrency as given.
        settings = WorkerSettings(concurrency=args.concurrency, name=args.name, heartbeat=10.0)
        print("ready", flush=True)
        await run_worker(app, runtime, settings)
    registry.close()
    return 0


# The benchmark.
def _database_url(server: str, name: str) -> str:
    parts = urllib.parse.urlsplit(server)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _admin(server: str, statement: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(server)
    plain = urllib.parse.urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(statement)


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_workers(
    args: argparse.Namespace, count: int, prefix: str, url: str, base_url: str, log: Path
) -> list[subprocess.Popen[str]]:
    concurrency = math.ceil(args.sites / count)
    processes = []
    for n in range(count):
        command = [
            sys.executable,
            __file__,
            "--worker",
            f"--registry={url}",
            f"--base-url={base_url}",
            f"--prefix={prefix}",
            f"--sites={args.sites}",
            f"--tenants={args.tenants}",
            f"--people={args.people}",
            f"--site-workers={args.site_workers}",
            f"--per-call={args.per_call}",
            f"--per-record={args.per_record}",
            f"--concurrency={concurrency}",
            f"--name={prefix}-worker-{n}",
        ]
        with (log.parent / f"{prefix}-worker-{n}.log").open("w") as errors:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise SystemExit(f"worker {n} did not start; see {log.parent}")
        processes.append(process)
    return processes


def stop_workers(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=120)


@dataclass
class WorkersRun:
    workers: int
    concurrency: int
    wall: float
    cpu: float
    coordinator_cpu: float
    records: int
    status: str
    rerun_wall: float
    rerun_status: str


async def measure(
    args: argparse.Namespace, count: int, base_url: str, root: Path, stats: bench_farm.Stats
) -> WorkersRun:
    from farm.engine.distributed.app import procrastinate_app
    from farm.engine.distributed.executor import DistributedExecutor
    from farm.engine.distributed.queue import install_schema

    prefix = f"w{count}"
    name = f"bench_workers_{os.getpid()}_{count}"
    await anyio.to_thread.run_sync(_admin, args.registry, f'CREATE DATABASE "{name}"')
    url = _database_url(args.registry, name)
    try:
        farm = farm_of(args, prefix, base_url, url)
        registry = Registry.open(url, check=False, create=True)
        registry.upgrade()
        registry.load_farm(farm)
        app = procrastinate_app(url)
        async with app.open_async():
            await install_schema(app)
        processes = await anyio.to_thread.run_sync(
            start_workers, args, count, prefix, url, base_url, root / "log"
        )
        try:
            async with app.open_async(), EventBus(registry) as bus:
                coordinator = Coordinator(
                    farm=farm,
                    registry=registry,
                    events=bus,
                    sources=Sources(farm),
                    clients=client_provider(),
                )
                request = SyncRequest(tenants=tuple(farm.tenants.values()))
                names = shape_of(args, prefix).group.names()
                before = await stats()
                cpu = sum(cpu_of(p.pid) for p in processes)
                own, started = bench_farm.cpu_seconds(), time.perf_counter()
                executor = DistributedExecutor(coordinator.context(), app=app, timeout=3600)
                first = await coordinator.run(request, executor)
                wall = time.perf_counter() - started
                used = sum(cpu_of(p.pid) for p in processes) - cpu
                own = bench_farm.cpu_seconds() - own
                after = await stats()
                started = time.perf_counter()
                executor = DistributedExecutor(coordinator.context(), app=app, timeout=3600)
                rerun = await coordinator.run(request, executor)
                rerun_wall = time.perf_counter() - started
        finally:
            await anyio.to_thread.run_sync(stop_workers, processes)
            registry.close()
    finally:
        await anyio.to_thread.run_sync(_admin, args.registry, f'DROP DATABASE "{name}" (FORCE)')
    records = int(sum(bench_farm.delta(before, after, "records", names).values()))
    return WorkersRun(
        workers=count,
        concurrency=math.ceil(args.sites / count),
        wall=wall,
        cpu=used,
        coordinator_cpu=own,
        records=records,
        status=first.status.value,
        rerun_wall=rerun_wall,
        rerun_status=rerun.status.value,
    )


async def main(args: argparse.Namespace) -> None:
    os.environ["FARM_BENCH_TOKEN"] = bench_farm.TOKEN
    root = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    (root / "log").mkdir()
    cost = (args.per_call, args.per_record, args.site_workers)
    groups = [bench_farm.SiteGroup(f"w{count}", args.sites, *cost) for count in args.workers]
    process, base_url = await bench_farm.start_simulator(groups, root / "simulator.log")

    async def stats() -> dict[str, Any]:
        return await bench_farm.remote_stats(base_url)

    print(
        f"bench_workers: {args.tenants} tenants on {args.sites} sites, {args.people:,} people, "
        f"registry PostgreSQL (a new database per worker count), simulator in its own process; "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"cost model: {args.per_call * 1000:.0f} ms/call + {args.per_record * 1000:.0f} "
        f"ms/record, {args.site_workers} workers per site and as many calls in flight"
    )
    print(f"load average at start: {bench_farm.load_average()}")
    runs = []
    try:
        for count in args.workers:
            runs.append(await measure(args, count, base_url, root, stats))
    finally:
        process.terminate()
        process.wait(timeout=30)
    print()
    print(
        f"  {'workers':>7}  {'jobs each':>9}  {'wall (s)':>8}  {'workers CPU (s)':>15}  "
        f"{'CPU s/1,000 rec':>15}  {'coordinator CPU (s)':>19}  {'rerun wall (s)':>14}  status"
    )
    for run in runs:
        print(
            f"  {run.workers:>7}  {run.concurrency:>9}  {run.wall:>8.2f}  {run.cpu:>15.2f}  "
            f"{bench_farm.per_k(run.cpu, run.records):>15.3f}  {run.coordinator_cpu:>19.2f}  "
            f"{run.rerun_wall:>14.2f}  {run.status}/{run.rerun_status}"
        )
    print(f"load average at end:   {bench_farm.load_average()}")


def counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--workers", type=counts, default=[1, 2], help="worker counts, e.g. 1,2")
    parser.add_argument("--site-workers", type=int, default=4, help="simulated workers per site")
    parser.add_argument("--per-call", type=float, default=0.030)
    parser.add_argument("--per-record", type=float, default=0.010)
    parser.add_argument(
        "--registry",
        default=os.environ.get("FARM_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server's URL (any database on it: each measure makes its own)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 sites, 2 tenants, 200 people, the cost model off: checks the benchmark runs",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sites, args.tenants, args.people = 2, 2, 200
        args.per_call = args.per_record = 0.0
    return args


if __name__ == "__main__":
    parsed = arguments()
    if parsed.worker:
        configure_logs(as_json=True)
        sys.exit(anyio.run(worker, parsed))
    configure_logs()
    anyio.run(main, parsed)
    sys.exit(0)
