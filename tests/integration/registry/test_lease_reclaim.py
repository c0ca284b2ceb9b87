"""A lease whose holder died on this host is reclaimed at once; other hosts keep their TTL."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from farm.registry import Lease, LeaseHeld, Registry, lease_holder
from farm.registry.leases import HolderProcess

ROOT = Path(__file__).resolve().parents[3]
KEY = "site:lyc-a"
LONG = timedelta(minutes=10)

# A process that takes a lease for ten minutes, says who it is, and sleeps.
HOLDER = """
import sys, time
from datetime import timedelta
from farm.registry import Lease, Registry, lease_holder

registry = Registry.open(sys.argv[1])
holder = lease_holder()
assert isinstance(registry.acquire_lease(sys.argv[2], holder, timedelta(minutes=10)), Lease)
print(holder, flush=True)
time.sleep(600)
"""


@pytest.fixture
def held_elsewhere(
    registry: Registry, registry_url: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A live process of this host holding ``KEY``, and its holder name."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, registry_url, KEY],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        holder = process.stdout.readline().strip()
        assert holder, "the holding process died before taking its lease"
        assert [lease.holder for lease in registry.leases()] == [holder]
        yield process, holder
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def reclaim_events(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [event for event in logs if str(event["event"]).startswith("lease reclaimed")]


def test_a_lease_of_a_process_killed_on_this_host_is_reclaimed_at_once(
    registry: Registry, held_elsewhere: tuple[subprocess.Popen[str], str]
) -> None:
    process, dead = held_elsewhere
    # While it lives, it keeps the lease.
    assert isinstance(registry.acquire_lease(KEY, lease_holder(), LONG), LeaseHeld)

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    mine = lease_holder()
    started = time.monotonic()
    with capture_logs() as logs:
        taken = registry.acquire_lease(KEY, mine, timedelta(minutes=1))

    assert isinstance(taken, Lease), taken
    assert time.monotonic() - started < 5  # not after the ten minutes of its TTL
    assert [lease.holder for lease in registry.leases()] == [mine]
    (event,) = reclaim_events(logs)
    assert event["key"] == KEY
    assert event["holder"] == dead
    assert f"process {process.pid}" in str(event["reason"])
    # The dead holder cannot renew or release what it lost.
    assert registry.renew_lease(KEY, dead, LONG) is None
    assert not registry.release_lease(KEY, dead)


def test_a_killed_process_not_yet_reaped_is_dead_too(
    registry: Registry, held_elsewhere: tuple[subprocess.Popen[str], str]
) -> None:
    process, _ = held_elsewhere
    process.send_signal(signal.SIGKILL)
    stat = Path(f"/proc/{process.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline, "the killed process never became a zombie"
        time.sleep(0.01)

    assert isinstance(registry.acquire_lease(KEY, lease_holder(), LONG), Lease)


def test_a_lease_of_another_host_keeps_its_ttl(
    registry: Registry, held_elsewhere: tuple[subprocess.Popen[str], str]
) -> None:
    process, dead = held_elsewhere
    identity = HolderProcess.of(dead)
    assert identity is not None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    # The same dead process, as another host or another PID namespace would name it.
    elsewhere = dataclasses.replace(identity, host="farm-worker-2").holder("aaaaaaaaaaaa")
    registry.acquire_lease("site:lyc-b", elsewhere, LONG)
    container = dataclasses.replace(identity, machine="0" * 12).holder("bbbbbbbbbbbb")
    registry.acquire_lease("site:lyc-c", container, LONG)

    with capture_logs() as logs:
        for key, holder in (("site:lyc-b", elsewhere), ("site:lyc-c", container)):
            held = registry.acquire_lease(key, lease_holder(), LONG)
            assert isinstance(held, LeaseHeld)
            assert held.holder == holder
    assert reclaim_events(logs) == []


def test_a_reused_pid_does_not_keep_a_dead_holder_alive(registry: Registry) -> None:
    me = HolderProcess.of(lease_holder())
    assert me is not None
    assert me.pid == os.getpid()
    # A holder that had this PID before: same host, same PID, another start time.
    before = dataclasses.replace(me, started=me.started - 1).holder("cccccccccccc")
    registry.acquire_lease(KEY, before, LONG)

    with capture_logs() as logs:
        taken = registry.acquire_lease(KEY, lease_holder(), LONG)

    assert isinstance(taken, Lease)
    (event,) = reclaim_events(logs)
    assert "another process" in str(event["reason"])


def test_a_live_holder_of_this_process_keeps_its_lease(registry: Registry) -> None:
    first = lease_holder()
    registry.acquire_lease(KEY, first, LONG)

    held = registry.acquire_lease(KEY, lease_holder(), LONG)

    assert isinstance(held, LeaseHeld)
    assert held.holder == first


def test_a_holder_that_does_not_say_when_it_started_keeps_its_ttl(registry: Registry) -> None:
    # A holder named as older farms named them: host:pid:id, with a PID that is gone.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    legacy = f"{socket.gethostname()}:{int(gone.stdout)}:dddddddddddd"
    registry.acquire_lease(KEY, legacy, LONG)

    held = registry.acquire_lease(KEY, lease_holder(), LONG)

    assert isinstance(held, LeaseHeld)
    assert held.holder == legacy
