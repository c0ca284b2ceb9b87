#!/usr/bin/env python3
"""Benchmark: create 10,000 users on one simulated site with Moodle's measured cost.

    tools/bench_moodle_create.py                  # in-process, then over loopback HTTP
    tools/bench_moodle_create.py --users 2000 --only inprocess

The cost model is the one measured on a real Moodle 5.0 (MOODLE-WS.md): 30 ms
per call plus 10 ms per user, 4 PHP workers. With batches of ``B`` users the
site cannot go faster than ``workers / (per_call + per_record * B) * B``
users/s; the benchmark prints the rate the client achieved, that ceiling and
their ratio (aim: 0.9 or more). "loopback" serves the simulator with uvicorn
in a child process and talks real HTTP to it.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx

from farm.moodle import MoodleClient, MoodleLimits, NewUser
from farm.secrets import Secret
from farm.simulators.moodle import CostModel, MoodleSimulator

PER_CALL, PER_RECORD, WORKERS = 0.030, 0.010, 4
TOKEN = "bench-token-0123456789"  # noqa: S105  (the simulated site's token)


def users(count: int) -> list[NewUser]:
    return [
        NewUser(
            f"eleve{i:05d}",
            "Prénom",
            f"Nom{i}",
            f"eleve{i:05d}@bench.example.org",
            auth="oauth2",
            idnumber=f"ENT{i:05d}",
            customfields={"uai": "0750001A"},
        )
        for i in range(count)
    ]


async def run(client: MoodleClient, count: int) -> tuple[float, int]:
    people = users(count)
    started = time.monotonic()
    async with client:
        result = await client.create_users(people)
    elapsed = time.monotonic() - started
    if len(result.confirmed) != count or result.failed:
        raise SystemExit(f"only {len(result.confirmed)} of {count} confirmed")
    return elapsed, client.calls


def report(label: str, count: int, elapsed: float, calls: int, batch: int) -> float:
    achieved = count / elapsed
    ceiling = WORKERS / (PER_CALL + PER_RECORD * batch) * batch
    ratio = achieved / ceiling
    print(
        f"{label:>10}: {count} users in {elapsed:.2f} s, {calls} calls; "
        f"achieved {achieved:.1f} users/s, ceiling {ceiling:.1f} users/s, ratio {ratio:.3f}"
    )
    return ratio


IN_FLIGHT = [WORKERS]


def limits(batch: int) -> MoodleLimits:
    return MoodleLimits(calls_in_flight=IN_FLIGHT[0], records_per_batch=batch)


async def in_process(count: int, batch: int) -> float:
    sim = MoodleSimulator()
    sim.add_site(
        "bench", token=TOKEN, profile_fields=["uai"], cost=CostModel(PER_CALL, PER_RECORD, WORKERS)
    )
    client = MoodleClient(
        "bench", sim.url("bench"), Secret(TOKEN), limits(batch), transport=sim.transport()
    )
    elapsed, calls = await run(client, count)
    assert len(sim.sites["bench"].live_users()) == count
    return report("in-process", count, elapsed, calls, batch)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def loopback(count: int, batch: int) -> float:
    port = free_port()
    launcher = Path(__file__).with_name("moodle_simulator.py")
    server = await anyio.open_process(
        [
            sys.executable,
            str(launcher),
            "--port",
            str(port),
            "--sites",
            "1",
            "--token",
            TOKEN,
            "--cost",
            f"{PER_CALL},{PER_RECORD},{WORKERS}",
        ],
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
        client = MoodleClient("bench", url, Secret(TOKEN), limits(batch))
        elapsed, calls = await run(client, count)
        return report("loopback", count, elapsed, calls, batch)
    finally:
        server.terminate()
        await server.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--only", choices=["inprocess", "loopback"])
    parser.add_argument(
        "--in-flight", type=int, default=WORKERS, help="client calls in flight (default 4)"
    )
    args = parser.parse_args()
    IN_FLIGHT[0] = args.in_flight
    print(
        f"cost model: {PER_CALL * 1000:.0f} ms per call + {PER_RECORD * 1000:.0f} ms per user, "
        f"{WORKERS} workers; batches of {args.batch}, {args.in_flight} calls in flight"
    )
    ratios = []
    if args.only in (None, "inprocess"):
        ratios.append(await in_process(args.users, args.batch))
    if args.only in (None, "loopback"):
        ratios.append(await loopback(args.users, args.batch))
    if min(ratios) < 0.9:
        print("below the 0.9 aim")


if __name__ == "__main__":
    anyio.run(main)
