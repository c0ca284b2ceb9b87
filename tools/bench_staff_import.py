#!/usr/bin/env python3
"""Benchmark of staff CSV files: load + map + check a generated 100,000-line file.

    .venv/bin/python tools/bench_staff_import.py                  # 100,000 teachers, UTF-8
    .venv/bin/python tools/bench_staff_import.py --kind staff --encoding cp1252
    .venv/bin/python tools/bench_staff_import.py --rows 20000 --no-trace

The file is written to a temporary folder in the seed's layout, with accents
in every name (so folding takes its slow path), a postal code written
``'06000``, an e-mail and a birth date on every row, and 1 % of people twice
(a second establishment, which the check folds into the first). Staff files
get function codes of the seed's table, DIR among them.

It prints, each timed without tracing:

- the check alone (``keep_rows=False``, what ``farm staff check`` does):
  rows per second, and the process's peak resident memory after it;
- the check keeping the rows, then the records built from them
  (``staff_records``, new passwords included): rows per second each;
- the import's roster: its plan (``plan_roster``), storing it in a
  throw-away SQLite registry (``apply_roster_plan``, one transaction), and
  what every later sync of the tenants pays: reading the roster back and
  turning it into a snapshot (``roster_snapshot``): entries per second each;

then the peak memory tracemalloc sees for each check (``--no-trace`` skips
that: tracing slows the check about tenfold).
"""

from __future__ import annotations

import argparse
import gc
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from farm.registry import Registry
from farm.staff import (
    RosterContext,
    StaffKind,
    check_staff_file,
    plan_roster,
    roster_snapshot,
    staff_records,
)

LYCEE, COLLEGE = "0340041K", "0341921D"
TEACHERS_HEADER = (
    "Civilité enseignant;Nom enseignant;Prénom enseignant;Matière enseignant;"
    "Nom utilisateur enseignant;Mot de passe enseignant;Code postal enseignant;"
    "Adresse e-mail enseignant;Date de naissance enseignant;RNE"
)
STAFF_HEADER = (
    "Civilité;Nom;Prénom;Fonction (code);Nom d'utilisateur;Mot de passe;Code postal;"
    "Adresse e-mail;Date de naissance;RNE administratif"
)
SUBJECTS = ("Mathématiques", "Français", "Histoire-Géographie", "Éducation musicale", "SVT")
FUNCTIONS = ("EDU", "DOC", "MDS", "AED", "ADF", "DIR", "SUR", "LAB")


def generate(path: Path, rows: int, kind: StaffKind, encoding: str) -> None:
    codes = SUBJECTS if kind is StaffKind.TEACHERS else FUNCTIONS
    header = TEACHERS_HEADER if kind is StaffKind.TEACHERS else STAFF_HEADER
    with path.open("w", encoding=encoding, newline="") as out:
        out.write(header + "\r\n")
        written = 0
        person = 0
        while written < rows:
            civility = ("Madame", "Monsieur", "Mme", "M", "Mlle")[person % 5]
            first, last = f"Hélène{person}", f"LEFÈVRE{person}"
            code = codes[person % len(codes)]
            line = (
                f"{civility};{last};{first};{code};;;'06000;"
                f"p{person}@example.fr;12/03/19{70 + person % 30};{LYCEE}\r\n"
            )
            out.write(line)
            written += 1
            if person % 100 == 0 and written < rows:
                out.write(line.replace(LYCEE, COLLEGE))
                written += 1
            person += 1


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def traced_peak(action: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def max_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--kind", choices=[k.value for k in StaffKind], default="teachers")
    parser.add_argument(
        "--encoding", choices=["utf-8", "utf-8-sig", "utf-16", "cp1252"], default="utf-8"
    )
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc passes")
    args = parser.parse_args()
    kind = StaffKind(args.kind)
    tenants = [LYCEE, COLLEGE]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{kind}.csv"
        generate(path, args.rows, kind, args.encoding)
        size = path.stat().st_size / 2**20
        print(f"{args.rows:,} lines of {kind}, {args.encoding}, {size:.1f} MiB: {path.name}")

        def light() -> Any:
            return check_staff_file(path, kind, tenants=tenants, keep_rows=False)

        def kept() -> Any:
            return check_staff_file(path, kind, tenants=tenants, keep_rows=True)

        untraced(kind, tenants, light, kept, Path(folder) / "registry.db")
        if not args.no_trace:
            print(f"peak memory, check (tracemalloc): {traced_peak(light):.1f} MiB")
            print(f"peak memory, check keeping the rows (tracemalloc): {traced_peak(kept):.1f} MiB")


def untraced(
    kind: StaffKind,
    tenants: list[str],
    light: Callable[[], Any],
    kept: Callable[[], Any],
    database: Path,
) -> None:
    """The timed passes; what they hold is freed when this returns, before any tracing."""
    before = max_rss_mib()
    check, seconds = timed(light)
    print(
        f"check (farm staff check): {check.read / seconds:,.0f} rows/s "
        f"({seconds:.2f} s; {check.accepted:,} people, {check.merged:,} merged, "
        f"{check.conflicts:,} in conflict)"
    )
    print(f"  process peak memory: {max_rss_mib():.0f} MiB (before the check: {before:.0f})")
    full, seconds = timed(kept)
    print(f"check keeping the rows: {full.read / seconds:,.0f} rows/s ({seconds:.2f} s)")
    records, seconds = timed(lambda: staff_records(kind, full.rows, tenants))
    people = sum(len(s.people) for s in records.snapshots.values())
    print(
        f"records with new passwords: {len(full.rows) / seconds:,.0f} rows/s "
        f"({seconds:.2f} s; {len(full.rows):,} people, {people:,} over "
        f"{len(records.snapshots)} tenant snapshots)"
    )
    print(f"  process peak memory: {max_rss_mib():.0f} MiB")
    logins = {item.row.sync_key: item.person.username for item in records.report}
    plan, seconds = timed(
        lambda: plan_roster(kind, full.rows, logins, [], file="bench.csv", tenants=tenants)
    )
    entries = len(plan.items)
    print(f"roster plan: {entries / seconds:,.0f} entries/s ({seconds:.2f} s; {entries:,} entries)")
    registry = Registry.open(f"sqlite:///{database}", check=False, create=True)
    try:
        registry.upgrade()
        _, seconds = timed(lambda: registry.apply_roster_plan(plan))
        print(f"roster stored (SQLite, one transaction): {entries / seconds:,.0f} entries/s "
              f"({seconds:.2f} s)")  # fmt: skip
        stored, seconds = timed(lambda: registry.staff_roster(tenants))
        print(f"roster read back, as a sync reads it: {len(stored) / seconds:,.0f} entries/s "
              f"({seconds:.2f} s)")  # fmt: skip
        context = RosterContext(cohort_prefix="farm:")
        snapshots, seconds = timed(lambda: [roster_snapshot(t, stored, context) for t in tenants])
        people = sum(len(s.people) for s in snapshots)
        print(f"roster snapshots, as a sync builds them: {len(stored) / seconds:,.0f} entries/s "
              f"({seconds:.2f} s; {people:,} people)")  # fmt: skip
    finally:
        registry.close()
    print(f"  process peak memory: {max_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
