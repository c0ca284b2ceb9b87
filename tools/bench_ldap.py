#!/usr/bin/env python3
"""Benchmark: read a generated 50,000-person SDET directory from slapd into records.

    .venv/bin/python tools/bench_ldap.py                 # 50,000 people, 100 establishments
    .venv/bin/python tools/bench_ldap.py --people 5000 --establishments 10

The directory is generated and written as LDIF by a child process (so that
its memory does not count), loaded with slapadd, served by a private slapd,
then read once: all establishments in one request, as a full sync would.
Prints entries/s (wall clock and per CPU second of this process) and the
process's peak resident memory. Aim: >= 5,000 entries/s.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from farm.simulators.directory import generate
from farm.simulators.slapd import Slapd
from farm.sources import ReadRequest
from farm.sources.sdet import DirectorySettings, SdetSource


def _write_ldif(path: Path, establishments: int, people: int, seed: int) -> None:
    code = (
        "import sys; from pathlib import Path; from farm.simulators.directory import generate; "
        "generate(int(sys.argv[1]), int(sys.argv[2]), seed=int(sys.argv[3]))"
        ".write_ldif(Path(sys.argv[4]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(establishments), str(people), str(seed), str(path)],
        check=True,
    )


def _rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--establishments", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    suffix = generate(1, 1).suffix
    with tempfile.TemporaryDirectory(prefix="farm-bench-ldap-") as folder:
        ldif = Path(folder) / "directory.ldif"
        started = time.perf_counter()
        _write_ldif(ldif, args.establishments, args.people, args.seed)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        with Slapd(Path(folder) / "slapd", suffix=suffix, ldif_files=[ldif]) as server:
            loaded = time.perf_counter() - started
            settings = DirectorySettings(
                url=server.url,
                people_base=f"ou=people,{suffix}",
                structures_base=f"ou=structures,{suffix}",
                page_size=args.page_size,
                connections=args.connections,
                timeout=300,
            )
            source = SdetSource("bench", settings)
            structures = anyio.run(source.structures)
            tenants = tuple(sorted(structures.by_uai))
            baseline = _rss_mib()
            cpu, wall = time.process_time(), time.perf_counter()
            result = anyio.run(source.read, ReadRequest(tenants=tenants))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    people = {p.source_key for s in result.snapshots.values() for p in s.people}
    skipped = sum(
        1 for s in result.snapshots.values() for w in s.warnings if "skipped" in w.message
    )
    members = sum(len(s.cohort_members) for s in result.snapshots.values())
    cohorts = sum(len(s.cohorts) for s in result.snapshots.values())
    entries = len(people) + skipped
    print(f"directory        {args.people} people asked, {len(tenants)} establishments")
    print(f"generate + LDIF  {generated:8.2f} s (child process)")
    print(f"slapadd + start  {loaded:8.2f} s")
    print(f"read             {wall:8.2f} s wall, {cpu:.2f} s CPU in this process")
    print(f"records          {len(people)} people, {cohorts} cohorts, {members} memberships")
    print(
        f"throughput       {entries / wall:8.0f} entries/s wall, {entries / cpu:.0f} entries/CPU s"
    )
    print(
        f"peak memory      {_rss_mib():8.1f} MiB RSS "
        f"({_rss_mib() - baseline:.1f} MiB above the baseline)"
    )
    print(f"aim              >= 5000 entries/s: {'met' if entries / wall >= 5000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
