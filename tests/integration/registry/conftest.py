"""Registry fixtures: every registry test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from farm.registry import Registry


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url = request.getfixturevalue("postgres_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    """A registry created by ``upgrade``, as ``farm registry upgrade`` leaves it."""
    created = Registry.open(registry_url, check=False, create=True)
    created.upgrade()
    try:
        yield created
    finally:
        created.close()
