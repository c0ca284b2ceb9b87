#!/usr/bin/env python3
"""Benchmark: the farm's CPU per person when a run deletes every indexed person of a site.

    tools/bench_delete.py                     # 2,000 then 20,000 people
    tools/bench_delete.py --sizes 1000,10000

For each size, the script fills a simulated site served over loopback (in a
child process, so that its CPU is not counted), with one account per person,
each in one of 50 cohorts, through the real planner and applier. It then plans
the run that deletes them all (``removal = delete``, the safety stop lifted)
and times that apply with ``time.process_time()``: the farm process alone,
client and applier, waiting excluded. Deleting is linear when the CPU per
person stays the same whatever the site's size; the last line prints the
ratio of the largest size's figure to the smallest's (aim: under 1.3). The
garbage collector is set as the ``farm`` command sets it.
"""

from __future__ import annotations

import argparse
import gc
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx

from farm.applied import Confirmation
from farm.index import SiteIndex
from farm.model import Cohort, CohortMembership, Person, Profile, TenantSnapshot
from farm.moodle import MoodleClient, MoodleLimits
from farm.moodle.applier import Applier
from farm.options import CohortRetirementPolicy, PlanOptions, RemovalPolicy
from farm.plan import plan_site
from farm.secrets import Secret
from farm.snapshot import merge_site

A = "0290009C"
PREFIX = "farm_"
TOKEN = "bench-token-0123456789"  # noqa: S105  (the simulated site's token)


def snapshot(n: int) -> TenantSnapshot:
    people = tuple(
        Person(
            source_key=f"sdet:{i:06d}",
            username=f"user{i:06d}",
            idnumber=f"ID{i:06d}",
            firstname="Camille",
            lastname=f"Martin{i}",
            email=f"user{i:06d}@bench.example.org",
            auth="oauth2",
            profiles=frozenset({Profile.STUDENT}),
            establishments=frozenset({A}),
        )
        for i in range(n)
    )
    cohorts = tuple(Cohort(f"{PREFIX}c{c:02d}", f"Class {c:02d}") for c in range(50))
    members = tuple(
        CohortMembership(f"{PREFIX}c{i % 50:02d}", p.source_key) for i, p in enumerate(people)
    )
    return TenantSnapshot(A, people=people, cohorts=cohorts, cohort_members=members)


async def _record(confirmation: Confirmation) -> None:
    """The registry's place: nothing to write, so the figure is the client's and applier's."""


async def apply(client: MoodleClient, index: SiteIndex, people: int) -> tuple[SiteIndex, float]:
    options = PlanOptions(
        cohort_prefix=PREFIX,
        removal=RemovalPolicy.DELETE,
        cohort_retirement=CohortRetirementPolicy.DELETE,
        allow_mass_removal=True,
    )
    tenant = snapshot(people) if people else TenantSnapshot(A)
    plan = plan_site("bench", merge_site([tenant]), index, options)
    gc.collect()
    started = time.process_time()
    result = await Applier(client, index, _record).apply(plan)
    cpu = time.process_time() - started
    if result.refused or result.error is not None:
        first = result.refused[0].reason if result.refused else result.error
        raise SystemExit(f"{len(result.refused)} refused; first: {first}")
    return result.index, cpu


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(people: int) -> float:
    port = free_port()
    launcher = Path(__file__).with_name("moodle_simulator.py")
    server = await anyio.open_process(
        [sys.executable, str(launcher), "--port", str(port), "--sites", "1", "--token", TOKEN],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/site-001"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    await http.get(url + "/webservice/rest/server.php")
                    break
                except httpx.TransportError:
                    await anyio.sleep(0.05)
        limits = MoodleLimits(calls_in_flight=4, records_per_batch=100)
        async with MoodleClient("bench", url, Secret(TOKEN), limits) as client:
            index, _ = await apply(client, SiteIndex(), people)
            entries = len(index)
            index, cpu = await apply(client, index, 0)
        if len(index):
            raise SystemExit(f"{len(index)} index entries left after deleting everyone")
        per_person = cpu / people * 1e6
        print(
            f"{people:>7} people ({entries} index entries): deleting took {cpu:.2f} s of farm "
            f"CPU, {per_person:.0f} us per person"
        )
        return per_person
    finally:
        server.terminate()
        await server.wait()


async def main() -> None:
    # The garbage collector as the `farm` command sets it (farm/cli/__init__.py).
    gc.set_threshold(50_000, 20, 20)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,20000", help="comma-separated site sizes")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    figures = [await measure(size) for size in sizes]
    print(
        f"CPU per person, {sizes[-1]} vs {sizes[0]} people: "
        f"{figures[-1] / figures[0]:.2f}x (linear: about 1)"
    )


if __name__ == "__main__":
    anyio.run(main)
