"""Leases: exactly one holder across processes, expiry, renewal, release."""

from __future__ import annotations

import multiprocessing
import time
from datetime import timedelta
from multiprocessing.synchronize import Barrier

from farm.registry import Lease, LeaseHeld, Registry, lease_holder

KEYS = [f"site:lyc-{n:02d}" for n in range(25)]
RACERS = 3


def _race(url: str, barrier: Barrier, results: multiprocessing.Queue[tuple[str, str, str]]) -> None:
    registry = Registry.open(url)
    holder = lease_holder()
    barrier.wait()
    for key in KEYS:
        outcome = registry.acquire_lease(key, holder, timedelta(minutes=5))
        results.put((key, holder, "won" if isinstance(outcome, Lease) else outcome.holder))
    registry.close()


def test_processes_racing_for_the_same_keys_get_one_winner_each(
    registry: Registry, registry_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    results: multiprocessing.Queue[tuple[str, str, str]] = context.Queue()
    racers = [
        context.Process(target=_race, args=(registry_url, barrier, results)) for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=120) for _ in range(RACERS * len(KEYS))]
    for racer in racers:
        racer.join(timeout=60)
        assert racer.exitcode == 0

    for key in KEYS:
        per_key = [(holder, seen) for k, holder, seen in outcomes if k == key]
        winners = [holder for holder, seen in per_key if seen == "won"]
        assert len(winners) == 1, f"{key}: {per_key}"
        # Every loser was told who won.
        assert {seen for _, seen in per_key if seen != "won"} == set(winners)
        assert [lease.holder for lease in registry.leases(key)] == winners


def test_a_held_lease_says_who_holds_it_and_since_when(registry: Registry) -> None:
    first = registry.acquire_lease("tenant:0750001A", "host-a:1:aa", timedelta(minutes=1))
    assert isinstance(first, Lease)
    held = registry.acquire_lease("tenant:0750001A", "host-b:2:bb", timedelta(minutes=1))
    assert held == LeaseHeld(
        key="tenant:0750001A",
        holder="host-a:1:aa",
        since=first.acquired_at,
        expires_at=first.expires_at,
    )


def test_an_expired_lease_is_taken_over(registry: Registry) -> None:
    registry.acquire_lease("site:lyc-a", "killed:1:aa", timedelta(milliseconds=200))
    time.sleep(0.4)
    taken = registry.acquire_lease("site:lyc-a", "next:2:bb", timedelta(minutes=1))
    assert isinstance(taken, Lease)
    assert taken.holder == "next:2:bb"
    # The killed holder cannot renew what it lost.
    assert registry.renew_lease("site:lyc-a", "killed:1:aa", timedelta(minutes=1)) is None
    assert not registry.release_lease("site:lyc-a", "killed:1:aa")


def test_renewal_extends_and_keeps_the_acquisition_time(registry: Registry) -> None:
    lease = registry.acquire_lease("site:lyc-a", "me:1:aa", timedelta(milliseconds=300))
    assert isinstance(lease, Lease)
    renewed = registry.renew_lease("site:lyc-a", "me:1:aa", timedelta(minutes=10))
    assert renewed is not None
    assert renewed.acquired_at == lease.acquired_at
    assert renewed.expires_at - lease.expires_at > timedelta(minutes=9)
    time.sleep(0.5)
    # Past the first TTL the renewed lease still keeps others out.
    assert isinstance(
        registry.acquire_lease("site:lyc-a", "other:2:bb", timedelta(minutes=1)), LeaseHeld
    )
    again = registry.acquire_lease("site:lyc-a", "me:1:aa", timedelta(minutes=1))
    assert isinstance(again, Lease)
    assert again.acquired_at == lease.acquired_at


def test_release_frees_the_key_for_the_next_holder(registry: Registry) -> None:
    registry.acquire_lease("site:lyc-a", "me:1:aa", timedelta(minutes=10))
    assert not registry.release_lease("site:lyc-a", "other:2:bb")
    assert registry.release_lease("site:lyc-a", "me:1:aa")
    assert registry.leases() == []
    assert isinstance(
        registry.acquire_lease("site:lyc-a", "other:2:bb", timedelta(minutes=1)), Lease
    )
