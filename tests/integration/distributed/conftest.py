"""Fixtures of the distributed tests: a PostgreSQL registry per test and the sites' token."""

from __future__ import annotations

import pytest

from tests.integration.coordinator import farmkit


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(farmkit.TOKEN_ENV, farmkit.TOKEN)
    return farmkit.TOKEN
