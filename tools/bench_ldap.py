#!/usr/bin/env python3
"""Benchmark: read a generated 50,000-person SDET directory from slapd into records.

    .venv/bin/python tools/bench_ldap.py                 # 50,000 people, 100 establishments
    .venv/bin/python tools/bench_ldap.py --people 5000 --establishments 10
    .venv/bin/python tools/bench_ldap.py --shape grouped   # groups as entries + isMemberOf

The directory is generated and written as LDIF by a child process (so that
its memory does not count), loaded with slapadd, served by a private slapd,
then read ``--repeat`` times back to back: all establishments in one
request, as a full sync would. The searches the first read sent (base,
filter, attributes) are then run ``--repeat`` times by OpenLDAP's own
``ldapsearch``, paged the same way and as many at once as the source's
connections, and the ratio of the two median wall times says how close the
source comes to slapd's own speed (1.00: as fast). Prints, per read,
entries/s (wall clock and per CPU second of this process) and the CPU slapd
used; then the median, the ldapsearch runs, the ratio and the process's
peak resident memory. The machine may be shared: compare
runs made back to back, and the per-CPU-second figure rather than the wall
clock. Aim: >= 5,000 entries/s.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from farm.simulators.directory import generate
from farm.simulators.slapd import Slapd
from farm.sources import ReadRequest
from farm.sources.sdet import DirectorySettings, SdetSource
from farm.sources.sdet.client import DirectoryClient

# How a grouped directory is read: its teachers by function code, its groups as cohorts.
GROUPED: dict[str, Any] = {
    "families": {
        "teachers": {"object_classes": ["ENTPerson"], "filter": "(ENTPersonFonctions=*$ENS$*)"}
    },
    "cohort_groups": [
        {
            "name": "esco",
            "base": "ou=groups,{suffix}",
            "filter": "(objectClass=groupOfNames)",
            "person_attribute": "isMemberOf",
            "name_attribute": "description",
            "pattern": r"^Etablissements:[^:]*_(?P<uai>[0-9]{7}[A-Z]):(?P<code>[^:]+)$",
            "idnumber": "{uai}:group:{code}",
        }
    ],
}


def _write_ldif(path: Path, establishments: int, people: int, seed: int, shape: str) -> None:
    code = (
        "import sys; from pathlib import Path; from farm.simulators.directory import generate; "
        "generate(int(sys.argv[1]), int(sys.argv[2]), seed=int(sys.argv[3]), shape=sys.argv[5])"
        ".write_ldif(Path(sys.argv[4]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(establishments), str(people), str(seed), str(path), shape],
        check=True,
    )


def _shape_settings(shape: str, suffix: str) -> dict[str, Any]:
    if shape != "grouped":
        return {}
    tables = [{**t, "base": t["base"].format(suffix=suffix)} for t in GROUPED["cohort_groups"]]
    return {**GROUPED, "cohort_groups": tables}


def _rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class _Search:
    base: str
    filter: str
    attributes: tuple[str, ...]


@contextmanager
def _searches_recorded(into: list[_Search]) -> Iterator[None]:
    """Record every search the source sends (base, filter, attributes) while the block runs."""
    original = DirectoryClient.search_as

    def recorded(
        self: DirectoryClient,
        base: str,
        filter_: str,
        attributes: Sequence[str],
        convert: Callable[[Any], Any],
    ) -> list[Any]:
        into.append(_Search(base, filter_, tuple(attributes)))
        return original(self, base, filter_, attributes, convert)

    DirectoryClient.search_as = recorded  # type: ignore[method-assign]
    try:
        yield
    finally:
        DirectoryClient.search_as = original  # type: ignore[method-assign]


@dataclass
class _Native:
    wall: float
    cpu: float
    server_cpu: float
    entries: int


def _ldapsearch(url: str, search: _Search, page_size: int) -> int:
    """One search by OpenLDAP's own client, paged the same way; the entries it printed."""
    done = subprocess.run(
        [
            "ldapsearch",
            "-x",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            url,
            "-b",
            search.base,
            "-s",
            "sub",
            "-E",
            f"pr={page_size}/noprompt",
            search.filter,
            *search.attributes,
        ],
        stdout=subprocess.PIPE,
        check=True,
    )
    out = done.stdout
    return out.count(b"\ndn: ") + out.startswith(b"dn: ")


def _native_once(
    url: str, searches: list[_Search], page_size: int, connections: int, server_pid: int
) -> _Native:
    """The searches by ``ldapsearch``, as many at once as the source's connections."""
    server_cpu = _cpu_of(server_pid)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        entries = sum(pool.map(lambda s: _ldapsearch(url, s, page_size), searches))
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return _Native(wall, cpu, _cpu_of(server_pid) - server_cpu, entries)


@dataclass
class _Run:
    wall: float
    cpu: float
    server_cpu: float
    entries: int
    people: int
    cohorts: int
    members: int


def _read_once(source: SdetSource, tenants: tuple[str, ...], server_pid: int) -> _Run:
    server_cpu = _cpu_of(server_pid)
    cpu, wall = time.process_time(), time.perf_counter()
    result = anyio.run(source.read, ReadRequest(tenants=tenants))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_cpu = _cpu_of(server_pid) - server_cpu
    people = {p.source_key for s in result.snapshots.values() for p in s.people}
    skipped = sum(
        1 for s in result.snapshots.values() for w in s.warnings if "skipped" in w.message
    )
    return _Run(
        wall=wall,
        cpu=cpu,
        server_cpu=server_cpu,
        entries=len(people) + skipped,
        people=len(people),
        cohorts=sum(len(s.cohorts) for s in result.snapshots.values()),
        members=sum(len(s.cohort_members) for s in result.snapshots.values()),
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--establishments", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="reads, back to back (default 3)")
    parser.add_argument(
        "--shape",
        choices=("sdet", "grouped"),
        default="sdet",
        help="sdet: groups on people; grouped: group entries (member DNs) and isMemberOf",
    )
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=0,
        help="set the collector's first threshold (Python's default: 700) before reading,\n"
        "to see what the garbage collector costs a large read",
    )
    args = parser.parse_args()
    suffix = generate(1, 1).suffix
    with tempfile.TemporaryDirectory(prefix="farm-bench-ldap-") as folder:
        ldif = Path(folder) / "directory.ldif"
        started = time.perf_counter()
        _write_ldif(ldif, args.establishments, args.people, args.seed, args.shape)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        with Slapd(Path(folder) / "slapd", suffix=suffix, ldif_files=[ldif]) as server:
            loaded = time.perf_counter() - started
            server_pid = int((server.folder / "run" / "slapd.pid").read_text().strip())
            settings = DirectorySettings.model_validate(
                {
                    "url": server.url,
                    "people_base": f"ou=people,{suffix}",
                    "structures_base": f"ou=structures,{suffix}",
                    "page_size": args.page_size,
                    "connections": args.connections,
                    "timeout": 300,
                    **_shape_settings(args.shape, suffix),
                }
            )
            source = SdetSource("bench", settings)
            structures = anyio.run(source.structures)
            tenants = tuple(sorted(structures.by_uai))
            if args.gc_threshold:
                gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
            baseline = _rss_mib()
            searches: list[_Search] = []
            with _searches_recorded(searches):
                runs = [_read_once(source, tenants, server_pid)]
            runs += [_read_once(source, tenants, server_pid) for _ in range(1, args.repeat)]
            native = [
                _native_once(server.url, searches, args.page_size, args.connections, server_pid)
                for _ in range(max(1, args.repeat))
            ]
    first = runs[0]
    print(
        f"directory        {args.people} people asked, {len(tenants)} establishments, "
        f"shape {args.shape}"
    )
    print(f"generate + LDIF  {generated:8.2f} s (child process)")
    print(f"slapadd + start  {loaded:8.2f} s")
    print(
        f"records          {first.people} people, {first.cohorts} cohorts, "
        f"{first.members} memberships"
    )
    for number, run in enumerate(runs, 1):
        print(
            f"read {number:<11} {run.wall:8.2f} s wall, {run.cpu:.2f} s CPU here, "
            f"{run.server_cpu:.2f} s CPU in slapd: {run.entries / run.wall:6.0f} entries/s, "
            f"{run.entries / run.cpu:6.0f} entries/CPU s"
        )
    rates = sorted(run.entries / run.wall for run in runs)
    per_cpu = sorted(run.entries / run.cpu for run in runs)
    median, best = statistics.median(rates), rates[-1]
    print(
        f"throughput       {median:8.0f} entries/s wall (median; best {best:.0f}), "
        f"{statistics.median(per_cpu):.0f} entries/CPU s (median)"
    )
    for number, done in enumerate(native, 1):
        print(
            f"ldapsearch {number:<6} {done.wall:8.2f} s wall, {done.cpu:.2f} s CPU in ldapsearch, "
            f"{done.server_cpu:.2f} s CPU in slapd: the same {len(searches)} searches, "
            f"{args.connections} at once, {done.entries} entries"
        )
    farm_wall = statistics.median(run.wall for run in runs)
    native_wall = statistics.median(done.wall for done in native)
    print(
        f"ratio            {native_wall / farm_wall:8.2f} of ldapsearch's speed (its median wall "
        f"{native_wall:.2f} s / the source's median read {farm_wall:.2f} s; 1.00: as fast)"
    )
    print(
        f"peak memory      {_rss_mib():8.1f} MiB RSS "
        f"({_rss_mib() - baseline:.1f} MiB above the baseline)"
    )
    print(f"aim              >= 5000 entries/s: {'met' if median >= 5000 else 'NOT met'} (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
