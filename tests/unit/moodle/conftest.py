"""Moodle tests retry without waiting."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_backoff(no_backoff: None) -> None:
    """Stamina keeps the attempts but skips the waits."""
