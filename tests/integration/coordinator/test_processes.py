"""Leases across processes: two runs racing for one tenant, and a holder killed outright."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from farm.registry import Registry, RunStatus
from farm.simulators.moodle import CostModel
from tests.fixtures.moodle import ServedSimulator
from tests.integration.coordinator import farmkit

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url = request.getfixturevalue("postgres_url")
    assert isinstance(url, str)
    return url


def prepare(tmp_path: Path, url: str, served: ServedSimulator, per_call: float) -> Registry:
    farm = farmkit.build_farm(tmp_path, served.base_url, sites=1)
    for name in farm.sites:
        served.sim.add_site(
            name, token=farmkit.TOKEN, profile_fields=("uai",), cost=CostModel(per_call=per_call)
        )
    registry = farmkit.open_registry(url)
    registry.load_farm(farm)
    return registry


def worker(url: str, served: ServedSimulator, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, farmkit.TOKEN_ENV: farmkit.TOKEN}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.coordinator.worker",
            url,
            served.base_url,
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def result_of(process: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    found = json.loads(out.strip().splitlines()[-1])
    assert isinstance(found, dict)
    return found


def test_two_processes_race_for_a_tenant_and_one_is_refused(
    tmp_path: Path, registry_url: str, served_moodle: ServedSimulator
) -> None:
    registry = prepare(tmp_path, registry_url, served_moodle, per_call=0.03)
    first = worker(registry_url, served_moodle, "--people", "300")
    second = worker(registry_url, served_moodle, "--people", "300")
    results = [result_of(first), result_of(second)]
    pids = {first.pid, second.pid}

    statuses = sorted(str(r["status"]) for r in results)
    assert statuses == ["failed", "succeeded"]
    loser = next(r for r in results if r["status"] == "failed")
    phases = loser["tenants"]
    assert isinstance(phases, dict)
    for phase, reason in phases.values():
        assert phase == "skipped"
        assert "is held by" in reason
        assert "since" in reason
        # The holder named is the other process, in words.
        assert any(f"(process {pid})" in reason for pid in pids)
    site = served_moodle.sim.sites["site-00"]
    assert len(site.live_users()) == 600
    assert registry.leases() == []
    registry.close()


def test_with_wait_the_second_process_runs_after_the_first(
    tmp_path: Path, registry_url: str, served_moodle: ServedSimulator
) -> None:
    registry = prepare(tmp_path, registry_url, served_moodle, per_call=0.03)
    first = worker(registry_url, served_moodle, "--people", "300", "--wait")
    second = worker(registry_url, served_moodle, "--people", "300", "--wait")
    results = [result_of(first), result_of(second)]

    assert [r["status"] for r in results] == ["succeeded", "succeeded"]
    assert sum(1 for r in results if r["waited"]) >= 1
    ids = [u.idnumber for u in served_moodle.sim.sites["site-00"].live_users()]
    assert len(ids) == len(set(ids)) == 600
    registry.close()


def test_a_killed_holder_lease_is_taken_over_at_once_on_its_host(
    tmp_path: Path, served_moodle: ServedSimulator
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = prepare(tmp_path, url, served_moodle, per_call=0.2)
    # A TTL far longer than the test: only reclaiming the dead holder's leases can end it.
    doomed = worker(url, served_moodle, "--people", "400", "--ttl", "600")
    deadline = time.monotonic() + 60
    while not served_moodle.sim.sites["site-00"].live_users():
        assert time.monotonic() < deadline, "the first worker never started writing"
        time.sleep(0.05)
    assert [lease.key for lease in registry.leases("site:")] == ["site:site-00"]
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    # Its holder is a dead process of this host: a run without --wait takes over at once,
    # and converges.
    served_moodle.sim.sites["site-00"].cost = CostModel()
    started = time.monotonic()
    taken = result_of(worker(url, served_moodle, "--people", "400"))
    assert taken["status"] == "succeeded"
    assert time.monotonic() - started < 120
    site = served_moodle.sim.sites["site-00"]
    ids = [u.idnumber for u in site.live_users()]
    assert len(ids) == len(set(ids)) == 800
    indexed = {e.values.get("idnumber") for e in registry.index_entries("site-00", "person")}
    assert indexed == set(ids)
    killed_run = registry.list_runs(limit=10)[-1]
    assert killed_run.status is RunStatus.INTERRUPTED
    assert killed_run.reason == "its process died"
    registry.close()
