"""Pure parts of the registry: masked URLs, change sentences, UTC timestamps, holders."""

from __future__ import annotations

import dataclasses
import os
import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from farm.registry import FarmChanges, SiteChange, TenantChange, lease_holder, leases, mask_url
from farm.registry.database import UTCDateTime
from farm.registry.leases import HolderProcess


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://farm:s3cret@db:5432/farm",
            "postgresql+psycopg://farm:***@db:5432/farm",
        ),
        ("postgresql+psycopg://farm@db/farm", "postgresql+psycopg://farm@db/farm"),
        ("sqlite:////var/lib/farm/registry.sqlite", "sqlite:////var/lib/farm/registry.sqlite"),
    ],
)
def test_urls_are_shown_with_their_password_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_change_sentences_name_what_moved_where() -> None:
    changes = FarmChanges(
        sites=(SiteChange("lyc-a", "updated", ("url",)),),
        tenants=(
            TenantChange("0750001A", "moved", "clg", from_site="lyc-a"),
            TenantChange("0750002B", "restored", "clg", from_site="lyc-a"),
            TenantChange("0750003C", "removed", "lyc-a"),
        ),
    )
    assert changes.changed
    assert changes.lines() == [
        "site lyc-a: updated (url)",
        "tenant 0750001A: moved from site lyc-a to site clg",
        "tenant 0750002B: restored on site clg (was on site lyc-a)",
        "tenant 0750003C: removed from site lyc-a (its history is kept)",
    ]
    assert not FarmChanges().changed


def test_timestamps_are_stored_in_utc_and_read_back_aware() -> None:
    column = UTCDateTime()
    paris = datetime(2025, 3, 30, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    stored = column.process_bind_param(paris, sqlite.dialect())
    assert stored == datetime(2025, 3, 30, 1, 30)
    assert column.process_result_value(stored, sqlite.dialect()) == paris
    assert column.process_bind_param(
        paris, make_url("postgresql+psycopg://db/farm").get_dialect()()
    ) == paris.astimezone(UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        column.process_bind_param(datetime(2025, 1, 1), sqlite.dialect())


def test_lease_holders_name_the_host_and_process_and_are_unique() -> None:
    host, pid, token, started, machine = lease_holder().split(":")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid())
    assert len(token) == 12
    # When this process started, as /proc says (field 22 of its stat line).
    stat = Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()
    assert started == stat[19]
    assert len(machine) == 12
    assert lease_holder() != lease_holder()


def test_a_holder_name_gives_its_process_back() -> None:
    holder = lease_holder()
    process = HolderProcess.of(holder)

    assert process is not None
    assert process == HolderProcess.this_process()
    assert process.holder(holder.split(":")[2]) == holder
    assert process.gone() is None  # this very process


@pytest.mark.parametrize(
    "holder",
    ["host-a:1:aa", "vm:4242:3f2a9c1b0d4e", "vm:x:id:1:0123456789ab", "vm:1:id:1:not-a-digest"],
)
def test_holder_names_that_do_not_say_it_all_name_no_process(holder: str) -> None:
    assert HolderProcess.of(holder) is None


def test_without_proc_holders_fall_back_to_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    known = HolderProcess.this_process()
    assert known is not None
    monkeypatch.setattr(leases, "_PROC", "/nonexistent-proc")

    host, pid, token = lease_holder().split(":")

    assert (host, int(pid), len(token)) == (socket.gethostname(), os.getpid(), 12)
    assert HolderProcess.this_process() is None
    # A holder named while /proc was there cannot be known gone without it.
    assert dataclasses.replace(known, pid=2**22 + 1).gone() is None
