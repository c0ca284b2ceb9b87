"""``farm plan show`` and ``farm apply`` as operators run them, on slapd and the Moodle simulator.

A simulation stores its plan; ``farm plan show`` prints it value by value;
``farm apply`` refuses it once the directory (through another run) and
Moodle (by hand) changed what it was computed from, naming both records;
a plan with nothing drifted is applied exactly, once, and a sync afterwards
writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from farm.simulators.directory import GeneratedPerson
from tests.acceptance.test_sync_e2e import Farm, World, as_json, ok, rename, world

__all__ = ["world"]  # the module-scoped fixture, shared with the sync tests' world

pytestmark = [pytest.mark.slapd, pytest.mark.slow]


@dataclass
class Planned:
    farm: Farm
    site: str
    uai: str
    people: tuple[GeneratedPerson, GeneratedPerson, GeneratedPerson]


@pytest.fixture(scope="module")
def planned(world: World) -> Planned:
    """A farm synced once; two students of one establishment picked for the tests."""
    farm = world.farm("plans")
    ok(farm.run("registry", "upgrade"))
    ok(farm.run("sync", "--all", "--quiet"))
    site, uais = next(iter(farm.establishments.items()))
    students = [p for p in world.directory.people_of(uais[0]).values() if "student" in p.kinds]
    return Planned(farm, site, uais[0], (students[0], students[1], students[2]))


def operations_of(shown: dict[str, Any], username: str) -> list[dict[str, Any]]:
    (plan,) = shown["plans"]
    return [
        op
        for op in plan["operations"]
        if (op["record"] or {}).get("username") == username
        or ((op["previous"] or {}).get("values") or {}).get("username") == username
    ]


def simulate(planned: Planned) -> int:
    done = ok(planned.farm.run("sync", "--tenant", planned.uai, "--simulate", "--json"))
    run = as_json(done)["run"]
    assert isinstance(run, int)
    return run


def test_drift_in_the_directory_and_in_moodle_is_refused_naming_both(
    planned: Planned, world: World
) -> None:
    farm, (one, two, _) = planned.farm, planned.people
    rename(world, one.dn, "PREMIER")
    rename(world, two.dn, "SECOND")
    run = simulate(planned)

    shown = as_json(ok(farm.run("plan", "show", str(run), "--format", "json")))
    (update,) = operations_of(shown, one.uid.lower())
    assert (update["action"], update["kind"]) == ("update", "person")
    assert update["fields"] == [{"field": "lastname", "old": one.lastname, "new": "PREMIER"}]
    assert update["previous"]["moodle_id"] == update["moodle_id"]
    table = ok(farm.run("plan", "show", str(run)))
    assert f"Plan of run {run} for site {planned.site}" in table.stdout
    assert "PREMIER" in table.stdout
    assert "SECOND" in table.stdout
    assert "not applied" in table.stdout

    # Since the simulation: the first renamed again and synced alone; the second
    # edited by hand in Moodle.
    rename(world, one.dn, "ENCORE")
    ok(farm.run("sync", "--tenant", planned.uai, "--user", one.uid, "--quiet"))
    account = farm.sites[planned.site].user_by_username(two.uid.lower())
    assert account is not None
    account.lastname = "Saisi-à-la-main"
    writes = farm.writes()

    done = farm.run("apply", str(run))

    assert done.returncode == 1, done.stdout + done.stderr
    assert farm.writes() == writes
    assert f"the plan of run {run} drifted, nothing was written" in done.stdout
    assert (
        f"({one.uid.lower()}): index: lastname is 'ENCORE', the plan was computed from "
        f"'{one.lastname}'"
    ) in done.stdout
    assert (
        f"({two.uid.lower()}): moodle: lastname is 'Saisi-à-la-main', the plan expected "
        f"'{two.lastname}'"
    ) in done.stdout
    # Put Moodle back as the farm left it, for the next test.
    account.lastname = two.lastname


def test_with_nothing_drifted_the_plan_is_applied_exactly_and_once(
    planned: Planned, world: World
) -> None:
    farm, (_, two, _) = planned.farm, planned.people
    rename(world, two.dn, "TROISIÈME")
    run = simulate(planned)
    shown = as_json(ok(farm.run("plan", "show", str(run), "--format", "json")))
    (stored,) = shown["plans"]
    operations = stored["operations"]
    assert [(op["kind"], op["action"]) for op in operations] == [("person", "update")]
    writes = farm.writes()

    done = ok(farm.run("apply", str(run), "--json"))

    result = as_json(done)
    assert result["applies"] == run
    assert result["writes"] == len(operations)
    assert result["tenants"][planned.uai]["counts"] == {"person.update": 1}
    assert farm.writes() == writes + 1  # one core_user_update_users call
    account = farm.sites[planned.site].user_by_username(two.uid.lower())
    assert account is not None
    assert account.lastname == "TROISIÈME"
    after = as_json(ok(farm.run("plan", "show", str(run), "--format", "json")))
    assert after["plans"][0]["applied_by"] == result["run"]
    runs = json.loads(ok(farm.run("runs", "--json", "--limit", "1")).stdout)
    assert runs[0]["selection"]["applies"] == run
    assert runs[0]["simulated"] is False

    again = farm.run("apply", str(run))
    assert again.returncode == 1
    assert f"already applied: site {planned.site} by run {result['run']}" in again.stderr
    assert farm.writes() == writes + 1

    rerun = as_json(ok(farm.run("sync", "--tenant", planned.uai, "--json")))
    assert rerun["writes"] == 0
    assert farm.writes() == writes + 1


def test_replan_drifted_shows_the_drift_first_then_the_new_plan_applies(
    planned: Planned, world: World
) -> None:
    farm, (_, _, three) = planned.farm, planned.people
    rename(world, three.dn, "QUATRIÈME")
    run = simulate(planned)
    account = farm.sites[planned.site].user_by_username(three.uid.lower())
    assert account is not None
    account.lastname = "Changé-à-la-main"
    writes = farm.writes()

    done = ok(farm.run("apply", str(run), "--replan-drifted"))

    assert farm.writes() == writes
    out = done.stdout
    drifted = out.index("Drifted since that plan, planned again (1)")
    line = (
        f"({three.uid.lower()}): moodle: lastname is 'Changé-à-la-main', the plan expected "
        f"'{three.lastname}'"
    )
    assert out.index(line) > drifted
    assert out.index("Changé-à-la-main", out.index(line) + len(line)) > drifted  # its new old value
    new_run = int(out.split("Review the new plan: farm plan show ")[1].split(";")[0])
    assert f"Re-planned from run {run}." in out
    shown = as_json(ok(farm.run("plan", "show", str(new_run), "--format", "json")))
    (update,) = operations_of(shown, three.uid.lower())
    assert update["fields"] == [
        {"field": "lastname", "old": "Changé-à-la-main", "new": "QUATRIÈME"}
    ]

    ok(farm.run("apply", str(new_run)))

    assert account.lastname == "QUATRIÈME"
    assert as_json(ok(farm.run("sync", "--tenant", planned.uai, "--json")))["writes"] == 0


def test_what_cannot_be_applied_is_refused_before_any_run(planned: Planned) -> None:
    farm = planned.farm
    real = as_json(ok(farm.run("sync", "--tenant", planned.uai, "--json")))["run"]

    not_simulated = farm.run("apply", str(real))
    unknown = farm.run("apply", "999999")
    no_plan = farm.run("plan", "show", str(real))

    assert not_simulated.returncode == 1
    assert f"run {real} was not a simulation" in not_simulated.stderr
    assert unknown.returncode == 1
    assert "there is no run 999999" in unknown.stderr
    assert no_plan.returncode == 1
    assert f"run {real} stored no plan: it was not a simulation" in no_plan.stderr
