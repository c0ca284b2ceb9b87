"""A registry that answers but cannot be written says which one and why, as the registry failing.

Read-only SQLite, a full disk, a PostgreSQL database in read-only mode: each
is the database's own refusal (see ``tests/registry_faults.py``), and each is
:class:`RegistryUnavailable` (:class:`RegistryUnwritable`), naming the URL
with the password masked, so that every caller handles it as the registry
failing. Reading still works; a statement the database rejects for what it
says (a constraint) stays what it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import make_url

from farm.index import SiteIndex
from farm.registry import NewEvent, Registry, RegistryUnavailable, RunTrigger
from farm.registry.database import RegistryUnwritable
from tests.confirmations import created, person
from tests.registry_faults import SqliteFaults, faulty_sqlite_registry

TTL = timedelta(seconds=60)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[tuple[Registry, SqliteFaults]]:
    with faulty_sqlite_registry(tmp_path) as made:
        yield made


def test_a_read_only_sqlite_registry_refuses_writes_by_name(
    sqlite: tuple[Registry, SqliteFaults],
) -> None:
    registry, faults = sqlite
    run = registry.start_run(trigger=RunTrigger.BATCH)
    faults.read_only()

    with pytest.raises(RegistryUnwritable) as caught:
        registry.acquire_lease("site:a", "me", TTL)

    assert isinstance(caught.value, RegistryUnavailable)
    assert str(caught.value) == (
        f"the registry at {registry.url} cannot be written: attempt to write a readonly database"
    )
    assert registry.get_run(run).id == run  # reading still works


def test_a_full_sqlite_registry_refuses_what_it_cannot_hold(
    sqlite: tuple[Registry, SqliteFaults],
) -> None:
    registry, faults = sqlite
    run = registry.start_run(trigger=RunTrigger.BATCH)
    events = [NewEvent(kind="phase", payload={"text": "x" * 2000}, run_id=run) for _ in range(200)]
    faults.full()

    with pytest.raises(RegistryUnwritable, match="database or disk is full"):
        registry.append_events(events)

    faults.clear()
    assert len(registry.append_events(events)) == 200


def test_a_constraint_violation_is_not_the_registry_failing(
    sqlite: tuple[Registry, SqliteFaults],
) -> None:
    registry, _ = sqlite
    run = registry.start_run(trigger=RunTrigger.BATCH)
    batch = created(SiteIndex(), [person("sdet:x")])
    with pytest.raises(exc.IntegrityError):  # no such site: a bug, not the registry failing
        registry.record_confirmation("no-such-site", batch, run_id=run)


@pytest.mark.postgres
def test_a_read_only_postgresql_registry_refuses_writes_by_name(postgres_url: str) -> None:
    url = make_url(postgres_url).set(password="n0t-asked-for").render_as_string(hide_password=False)
    registry = Registry.open(url, check=False, create=True)
    registry.upgrade()
    admin = create_engine(
        make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    database = make_url(postgres_url).database
    try:
        # A standby, or a server put in read-only mode: every new session is read-only.
        with admin.connect() as connection:
            connection.execute(
                text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
            )
        registry.close()  # new sessions from now on

        with pytest.raises(RegistryUnwritable) as caught:
            registry.start_run(trigger=RunTrigger.BATCH)

        message = str(caught.value)
        assert message.startswith(f"the registry at {registry.url} cannot be written: ")
        assert "read-only transaction" in message
        assert "n0t-asked-for" not in message
        assert registry.list_runs() == []
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = off')
            )
        admin.dispose()
        registry.close()
