"""Leases the registry refused to give back are owed, and go back before this process takes any.

A process that lives on after its job (the scheduler, a worker, ``farm
sync`` run twice in one process) must not keep a job's leases because the
registry failed at the moment of releasing them: nobody else could take them
until their TTL, since their holder is alive.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from farm.engine.leases import LeasePolicy, hold_leases, owed_leases, release_owed
from farm.registry import Registry
from tests.registry_faults import SqliteFaults, faulty_sqlite_registry


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[tuple[Registry, SqliteFaults]]:
    with faulty_sqlite_registry(tmp_path) as made:
        yield made


async def test_a_refused_release_is_owed_and_given_back_before_the_next_job(
    broken: tuple[Registry, SqliteFaults],
) -> None:
    registry, faults = broken
    async with hold_leases(registry, ["site:a", "tenant:x"], LeasePolicy()) as first:
        faults.read_only()  # the registry fails while the job runs
    faults.clear()
    assert {(lease.key, lease.holder) for lease in registry.leases()} == {
        ("site:a", first.holder),
        ("tenant:x", first.holder),
    }
    assert owed_leases(registry) == [("site:a", first.holder), ("tenant:x", first.holder)]

    # The holder is this live process: without the owed release, this would be refused.
    async with hold_leases(registry, ["site:a"], LeasePolicy()) as second:
        assert [lease.holder for lease in registry.leases()] == [second.holder]

    assert registry.leases() == []
    assert owed_leases(registry) == []


async def test_owed_leases_stay_owed_while_the_registry_still_fails(
    broken: tuple[Registry, SqliteFaults],
) -> None:
    registry, faults = broken
    async with hold_leases(registry, ["site:b"], LeasePolicy()):
        faults.read_only()

    assert release_owed(registry) == 1  # still read-only: still owed, nothing raised
    faults.clear()
    assert release_owed(registry) == 0
    assert registry.leases() == []
