"""``farm schedule run``: one scheduler per registry, stopped cleanly by SIGTERM.

When tasks fire is tested with a fake clock in ``tests/unit/engine/test_schedule.py``;
here the shipped farm's tasks (all at night) never fire during the test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from farm.registry import Registry

FARM = Path(sys.executable).parent / "farm"
SHIPPED = Path(__file__).parents[2] / "tenants"


def farm_command(*args: str) -> list[str]:
    return [str(FARM), "--farm-dir", str(SHIPPED), *args]


@pytest.fixture
def registry_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["FARM_REGISTRY_URL"] = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    created = subprocess.run(
        farm_command("registry", "upgrade"), env=env, capture_output=True, text=True, check=False
    )
    assert created.returncode == 0, created.stderr
    return env


def scheduler_lease(url: str) -> list[str]:
    with Registry.open(url) as registry:
        return [lease.holder for lease in registry.leases("scheduler")]


def test_one_scheduler_per_registry_and_sigterm_stops_it(registry_env: dict[str, str]) -> None:
    url = registry_env["FARM_REGISTRY_URL"]
    first = subprocess.Popen(
        farm_command("schedule", "run"),
        env=registry_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not scheduler_lease(url):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the scheduler never took its lease"
            time.sleep(0.1)
        holder = scheduler_lease(url)[0]
        assert holder.split(":")[1] == str(first.pid)

        second = subprocess.run(
            farm_command("schedule", "run"),
            env=registry_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert "another scheduler is running" in second.stderr
        # The holder is named in words, host and process, not as its machine-made name.
        host = holder.split(":")[0]
        assert f"held by a run on {host} (process {first.pid}) since " in second.stderr
        assert holder not in second.stderr

        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    # Off a terminal, logs are JSON lines.
    lines = [json.loads(line) for line in err.splitlines()]
    events = [line["event"] for line in lines if line["logger"] == "farm.scheduler"]
    assert events[0] == "scheduler started"
    assert events[-1] == "scheduler stopped"
    assert scheduler_lease(url) == []


def test_max_wait_takes_a_duration(registry_env: dict[str, str]) -> None:
    refused = subprocess.run(
        farm_command("schedule", "run", "--max-wait", "3x"),
        env=registry_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "'3x' is not a duration: write e.g. 90m, 2h, 1d12h or 45s" in refused.stderr
