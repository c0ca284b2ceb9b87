"""A registry that cannot be reached says which one and why, never the password."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from farm.registry import Registry, RegistryUnavailable


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_closed_postgresql_port_names_the_url_and_the_reason() -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://farm:hunter2secret@127.0.0.1:{port}/farm"
    with pytest.raises(RegistryUnavailable) as caught:
        Registry.open(url)
    message = str(caught.value)
    assert f"postgresql+psycopg://farm:***@127.0.0.1:{port}/farm" in message
    assert "refused" in message.lower()
    assert "hunter2secret" not in message


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_named(postgres_server_url: str) -> None:
    url = postgres_server_url.rsplit("/", 1)[0] + "/farm_no_such_database"
    with pytest.raises(RegistryUnavailable, match='database "farm_no_such_database" does not'):
        Registry.open(url)


def test_an_unknown_driver_is_named() -> None:
    with pytest.raises(RegistryUnavailable, match="oracleish://x") as caught:
        Registry.open("oracleish://x")
    assert caught.value.reason.startswith("no database driver for 'oracleish'")


def test_a_sqlite_file_that_cannot_be_created_names_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    url = f"sqlite:///{blocker}/registry.db"
    with pytest.raises(RegistryUnavailable, match=str(blocker)):
        Registry.open(url, check=False, create=True)
