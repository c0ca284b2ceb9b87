"""Fixtures of the coordinator tests: a registry file and the token the simulated sites expect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from farm.registry import Registry
from tests.integration.coordinator import farmkit


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(farmkit.TOKEN_ENV, farmkit.TOKEN)
    return farmkit.TOKEN


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = farmkit.open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    try:
        yield opened
    finally:
        opened.close()
