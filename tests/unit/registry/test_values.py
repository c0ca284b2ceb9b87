"""Pure parts of the registry: masked URLs, change sentences, UTC timestamps, holders."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from farm.registry import FarmChanges, SiteChange, TenantChange, lease_holder, mask_url
from farm.registry.database import UTCDateTime


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
    host, pid, token = lease_holder().split(":")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid())
    assert len(token) == 12
    assert lease_holder() != lease_holder()
