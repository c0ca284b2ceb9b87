"""``farm watch --run N`` always ends: on an unknown run, and on a run that ended silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from farm.registry import Registry, RunStatus, RunTrigger

FARM = Path(sys.executable).parent / "farm"
SHIPPED = Path(__file__).parents[2] / "tenants"


def watch(registry: str, run: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FARM), "--farm-dir", str(SHIPPED), "watch", "--run", str(run), "--interval", "0.1"],
        capture_output=True,
        text=True,
        env={**os.environ, "FARM_REGISTRY_URL": registry},
        timeout=60,
        check=False,
    )


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    with Registry.open(url, check=False, create=True) as created:
        created.upgrade()
    return url


def test_an_unknown_run_is_named_at_once(registry: str) -> None:
    result = watch(registry, 999)

    assert result.returncode == 1
    assert "there is no run 999" in result.stderr


def test_a_run_whose_process_died_ends_the_watch(registry: str) -> None:
    # What interrupt_stale_runs leaves: a run marked interrupted, with no run-finished event.
    with Registry.open(registry) as opened:
        run = opened.start_run(trigger=RunTrigger.BATCH)
        opened.finish_run(run, RunStatus.INTERRUPTED, reason="its process died")

    result = watch(registry, run)

    assert result.returncode == 0, result.stderr
