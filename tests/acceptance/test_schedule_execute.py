"""``farm schedule execute TASK --tenant ID``: Moodle's "Run now" for one task of one tenant."""

from __future__ import annotations

import json

import pytest

from farm.registry import Registry
from tests.acceptance.test_sync_e2e import World, ok, world

__all__ = ["world"]  # the module-scoped fixture, shared with the sync tests' world

pytestmark = [pytest.mark.slapd, pytest.mark.slow]


def test_run_now_runs_one_task_of_one_tenant_and_counts_as_its_last_run(world: World) -> None:
    farm = world.farm("run-now")
    ok(farm.run("registry", "upgrade"))
    uai = next(iter(farm.establishments.values()))[0]

    done = ok(farm.run("schedule", "execute", "users", "--tenant", uai, "--json"))

    result = json.loads(done.stdout)
    assert set(result["tenants"]) == {uai}
    assert result["status"] == "succeeded"
    counts = result["tenants"][uai]["counts"]
    # The users task writes accounts, and no cohort: the scheduler's options for it.
    assert counts["person.create"] > 0
    assert not any(name.startswith("cohort") for name in counts)
    with Registry.open(farm.registry_url) as registry:
        run = registry.get_run(result["run"])
    assert run.selection["task"] == "users"
    listed = json.loads(ok(farm.run("schedule", "list", "--tenant", uai, "--json")).stdout)
    tasks = {entry["task"]: entry for entry in listed}
    assert tasks["users"]["last_run"] == {
        "run": result["run"],
        "at": tasks["users"]["last_run"]["at"],
        "status": "succeeded",
    }
    assert tasks["cohorts"]["last_run"] is None  # a users run did not do the cohorts' work


def test_a_task_the_tenant_does_not_have_is_a_usage_error(world: World) -> None:
    farm = world.farm("no-such-task")
    uai = next(iter(farm.establishments.values()))[0]

    wrong = farm.run("schedule", "execute", "students", "--tenant", uai)
    unknown = farm.run("schedule", "execute", "coffee", "--tenant", uai)
    nobody = farm.run("schedule", "execute", "users")

    assert wrong.returncode == unknown.returncode == nobody.returncode == 2
    assert f"{uai} has no task 'students'" in wrong.stderr
    assert "no task 'coffee'" in unknown.stderr
    assert "users" in unknown.stderr  # the tasks it has are named
    assert "--tenant" in nobody.stderr
