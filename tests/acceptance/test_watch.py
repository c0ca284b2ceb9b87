"""``farm watch --run N`` in one process follows a ``farm sync`` running in another."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from farm.registry import Registry
from farm.simulators.moodle import CostModel
from tests.acceptance.test_sync_e2e import FARM, World, farm_env, world

__all__ = ["world"]  # the module-scoped fixture, shared with the sync tests' world

pytestmark = [pytest.mark.slapd, pytest.mark.slow]


def test_watch_follows_a_run_started_elsewhere_until_it_ends(world: World) -> None:
    # Slow sites (one worker, 5 ms per record) so the run lasts a few seconds.
    farm = world.farm("watched", cost=CostModel(per_call=0.01, per_record=0.005, workers=1))
    assert farm.run("registry", "upgrade").returncode == 0
    sync = farm.start("sync", "--all", "--quiet")
    try:
        deadline = time.monotonic() + 60
        run_id = None
        while run_id is None:
            assert time.monotonic() < deadline, "the run never started"
            with Registry.open(farm.registry_url) as registry:
                runs = registry.list_runs(limit=1)
            run_id = runs[0].id if runs else None
            time.sleep(0.1)
        watch = subprocess.run(
            [str(FARM), "--farm-dir", str(farm.folder), "watch", "--run", str(run_id), "--json"],
            capture_output=True,
            text=True,
            env=farm_env(),
            timeout=120,
            check=False,
        )
        synced = sync.wait(timeout=120)
    finally:
        if sync.poll() is None:
            sync.kill()
    assert synced == 0
    assert watch.returncode == 0, watch.stderr
    events = [json.loads(line) for line in watch.stdout.splitlines()]
    assert {e["run_id"] for e in events} == {run_id}
    assert events[0]["kind"] == "run-started"
    assert events[-1]["kind"] == "run-finished"
    done = {e["tenant"] for e in events if e.get("phase") == "succeeded"}
    tenants = {t for uais in farm.establishments.values() for t in uais} | set(farm.cfa_tenants)
    assert done == tenants
    assert any(e["kind"] == "progress" for e in events)
