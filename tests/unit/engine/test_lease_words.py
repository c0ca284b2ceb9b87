"""A run refused or kept waiting by a lease names its holder in words, not as a machine name."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

import pytest

from farm.engine.leases import describe_holder
from farm.registry import LeaseHeld, holder_role, lease_holder

NOW = datetime(2026, 12, 1, 3, 10, 0, tzinfo=UTC)


def held(holder: str, ago: timedelta = timedelta(seconds=12)) -> LeaseHeld:
    return LeaseHeld(
        key="site:lycee-bellevue",
        holder=holder,
        since=NOW - ago,
        expires_at=NOW + timedelta(seconds=78),
    )


@pytest.mark.parametrize(
    ("holder", "words"),
    [
        # What this farm writes today: host:pid:nonce:started:machine.
        ("web1:4242:3f2a9c81d0e4:981273:0123456789ab", "a run on web1 (process 4242)"),
        # What older farms wrote, or a machine where /proc said less.
        ("cron-host:4242:abc", "a run on cron-host (process 4242)"),
        # A name that says no process at all is kept whole.
        ("maintenance", "a run of maintenance"),
    ],
)
def test_the_holder_is_said_as_host_and_process(holder: str, words: str) -> None:
    text = describe_holder(held(holder), now=NOW)

    assert text == (
        f"site:lycee-bellevue is held by {words} since 2026-12-01 03:09:48 UTC (12 s ago); "
        "the lease expires at 03:11:18 UTC unless renewed"
    )
    if ":" in holder:
        assert holder not in text


def test_a_lease_of_this_very_process_says_so() -> None:
    mine = f"{socket.gethostname()}:{os.getpid()}:abc"

    text = describe_holder(held(mine), now=NOW)

    assert text.startswith("site:lycee-bellevue is held by a run of this process since ")


def test_a_long_hold_is_said_in_minutes_and_hours() -> None:
    assert "(3 min ago)" in describe_holder(held("w:1:x", timedelta(minutes=3, seconds=5)), NOW)
    assert "(2 h 05 ago)" in describe_holder(held("w:1:x", timedelta(hours=2, minutes=5)), NOW)


def test_a_holder_name_says_the_role_it_was_made_with_and_no_other() -> None:
    assert holder_role(lease_holder("tick")) == "tick"
    assert holder_role(lease_holder()) == ""
    assert holder_role("web1:4242:tick-3f2a9c0d1b2e") == "tick"  # no /proc: host:pid:id
    assert holder_role("web1:4242:3f2a9c0d1b2e") == ""
    assert holder_role("someone else") == ""
