"""Benchmark of stored plans: a first simulation of N people, kept and read back.

The plan creates N people, one class cohort and N memberships (about 2N
operations: the biggest plan a first simulation of such a site stores). The
script times, as CPU time (best of several rounds, so other processes
disturb the figures less), the JSON document built from the plan and the
plan rebuilt from it, and prints the document's size; with ``--registry``
it also times storing it in and reading it back from a SQLite registry in a
temporary folder (wall time: that is I/O).

    .venv/bin/python tools/bench_stored_plan.py [--people 10000] [--rounds 3] [--registry]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from farm.index import SiteIndex
from farm.model import Cohort, CohortMembership, Person, Profile, TenantSnapshot
from farm.options import PlanOptions
from farm.plan import plan_site
from farm.plan_codec import plan_from_json, plan_to_json
from farm.registry import Registry, RunTrigger
from farm.snapshot import merge_site
from farm.stored_plan import StoredPlan

UAI = "0290009C"


def snapshot(people: int) -> TenantSnapshot:
    cohort = Cohort("farm:0290009C:2nde-1", "2nde 1")
    persons = [
        Person(
            f"sdet:F{n:06d}",
            f"user{n:06d}",
            f"F{n:06d}",
            "Élodie",
            f"MARTIN-{n}",
            f"user{n:06d}@example.fr",
            profiles=frozenset({Profile.STUDENT}),
            establishments=frozenset({UAI}),
            profile_fields={"uai": UAI},
        )
        for n in range(people)
    ]
    members = tuple(CohortMembership(cohort.idnumber, p.source_key) for p in persons)
    return TenantSnapshot(UAI, tuple(persons), (cohort,), members)


def best(rounds: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(rounds):
        started = time.process_time()
        result = work()
        times.append(time.process_time() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--registry", action="store_true", help="also store and read it back")
    args = parser.parse_args()

    planned = plan_site(
        "lycee-a", merge_site([snapshot(args.people)]), SiteIndex(), PlanOptions(simulate=True)
    )
    stored = StoredPlan.of_plan(1, [UAI], planned)
    ops = len(stored.operations)
    encode, document = best(args.rounds, lambda: plan_to_json(stored))
    text = json.dumps(document)
    decode, back = best(args.rounds, lambda: plan_from_json(json.loads(text)))
    assert back.operations == stored.operations
    print(f"{ops} operations, document {len(text) / 1e6:.1f} MB")
    print(f"  to JSON:   {encode:.2f} s CPU ({ops / encode:,.0f} operations/s)")
    print(f"  from JSON: {decode:.2f} s CPU ({ops / decode:,.0f} operations/s)")
    if not args.registry:
        return
    with tempfile.TemporaryDirectory() as folder:
        registry = Registry.open(f"sqlite:///{Path(folder) / 'r.db'}", check=False, create=True)
        registry.upgrade()
        run = registry.start_run(trigger=RunTrigger.BATCH, simulated=True)
        started = time.perf_counter()
        registry.store_plan(stored)
        kept = time.perf_counter() - started
        started = time.perf_counter()
        (read,) = registry.stored_plans(run)
        loaded = time.perf_counter() - started
        assert read.operations == stored.operations
        registry.close()
    print(f"  stored in SQLite: {kept:.2f} s; read back: {loaded:.2f} s (wall)")


if __name__ == "__main__":
    main()
