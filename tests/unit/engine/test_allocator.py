"""The C allocator's arena limit: set once per process, and never over the operator's own."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="mallopt's arena limit is glibc's"
)

PROBE = """
from farm.engine.allocator import limit_arenas
print(limit_arenas(), limit_arenas())
"""


def probe(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


def test_the_limit_is_set_once_and_stays_in_force() -> None:
    assert probe() == "True True"


def test_an_operator_s_own_malloc_arena_max_is_left_alone() -> None:
    assert probe(MALLOC_ARENA_MAX="8") == "False False"
