"""Benchmark of the planner: a 20,000-person site against an index of 20,000, 1 % changed.

The site is a cité scolaire of two establishments (5 % of people in both);
each person is in one class cohort and enrolled in two courses. The index
is what a first run wrote; the new snapshots change 1 % of the people
(0.5 % renamed, 0.25 % new, 0.25 % gone) and their links. The script times
merging and planning separately (best CPU time of several rounds, without
tracing, so that other processes on the machine disturb the figures less),
then measures peak memory of one merge + plan with tracemalloc.

    .venv/bin/python tools/bench_plan.py [--people 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from itertools import count
from typing import Any

from farm.index import SiteIndex, apply_confirmed
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Kind,
    Person,
    Profile,
    TenantSnapshot,
)
from farm.options import PlanOptions
from farm.plan import plan_site
from farm.snapshot import merge_site

A, B = "0290009C", "0290010D"
PREFIX = "farm_"
TARGET_US = 20.0


def people(n: int) -> list[Person]:
    result = []
    for i in range(n):
        both = i % 20 == 0
        tenants = frozenset({A, B}) if both else frozenset({A if i % 2 else B})
        result.append(
            Person(
                source_key=f"sdet:{i:06d}",
                username=f"user{i}",
                idnumber=f"ID{i:06d}",
                firstname="Camille",
                lastname=f"Martin{i}",
                email=f"user{i}@example.fr",
                auth="cas",
                profiles=frozenset({Profile.STUDENT}),
                establishments=tenants,
                profile_fields={"classe": f"C{i % 700}", "regime": "DP"},
            )
        )
    return result


def snapshots(everyone: list[Person]) -> list[TenantSnapshot]:
    result = []
    for uai in (A, B):
        mine = [p for p in everyone if uai in p.establishments]
        cohorts = {
            f"{PREFIX}{uai}_{p.profile_fields['classe']}": p.profile_fields["classe"] for p in mine
        }
        result.append(
            TenantSnapshot(
                uai,
                people=tuple(mine),
                cohorts=tuple(Cohort(key, name) for key, name in sorted(cohorts.items())),
                cohort_members=tuple(
                    CohortMembership(f"{PREFIX}{uai}_{p.profile_fields['classe']}", p.source_key)
                    for p in mine
                ),
                enrolments=tuple(
                    Enrolment(f"{course}-{p.profile_fields['classe']}", p.source_key)
                    for p in mine
                    for course in ("MATH", "FR")
                ),
            )
        )
    return result


def changed(everyone: list[Person]) -> list[Person]:
    n = len(everyone)
    step = 200  # 0.5 % renamed
    result = [
        replace(p, lastname=p.lastname + "-X") if i % step == 1 else p
        for i, p in enumerate(everyone)
        if i % 400 != 3  # 0.25 % gone
    ]
    base = people(n + n // 400)[n:]  # 0.25 % new
    return result + base


def best(rounds: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    options = PlanOptions(cohort_prefix=PREFIX)
    before = snapshots(people(args.people))
    first = plan_site("bench", merge_site(before), SiteIndex(), options)
    ids = count(1)
    index = apply_confirmed(
        SiteIndex(),
        first.operations,
        {(op.kind, op.key): next(ids) for op in first.operations if op.kind.has_moodle_id},
    )
    now = snapshots(changed(people(args.people)))
    records = sum(len(s.records(kind)) for s in now for kind in Kind)

    merge_s, site = best(args.rounds, lambda: merge_site(now))
    plan_s, result = best(args.rounds, lambda: plan_site("bench", site, index, options))
    nochange_site = merge_site(before)
    same_s, same = best(args.rounds, lambda: plan_site("bench", nochange_site, index, options))

    gc.collect()
    tracemalloc.start()
    plan_site("bench", merge_site(now), index, options)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    total_us = (merge_s + plan_s) * 1e6
    print(f"site: {len(site.people)} people, {records} records read; index {len(index)} entries")
    print(f"plan: {len(result.operations)} operations, blocked: {result.blocked}")
    for (kind, action), n in result.counts().items():
        print(f"  {kind} {action}: {n}")
    print(f"merge       {merge_s * 1e3:8.1f} ms  {merge_s * 1e6 / records:6.2f} us/record")
    print(f"plan        {plan_s * 1e3:8.1f} ms  {plan_s * 1e6 / records:6.2f} us/record")
    print(f"merge+plan  {total_us / 1e3:8.1f} ms  {total_us / records:6.2f} us/record", end="")
    print(f"  {total_us / len(site.people):6.2f} us/person")
    print(
        f"no change   {same_s * 1e3:8.1f} ms  {same_s * 1e6 / records:6.2f} us/record "
        f"({len(same.operations)} operations)"
    )
    print(f"peak memory of merge+plan (tracemalloc): {peak / 2**20:.1f} MiB")
    ratio = (total_us / records) / TARGET_US
    print(f"target {TARGET_US:.0f} us/record: {ratio:.2f}x of budget")


if __name__ == "__main__":
    main()
