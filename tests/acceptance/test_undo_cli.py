"""``farm undo`` end to end: a bad night taken back, then the undo taken back.

One establishment is synced from a real slapd into the Moodle simulator;
then the directory renames one student and loses another, and a second
``farm sync`` (the bad night) renames and suspends them. ``farm undo`` of
that run prints what it would do, value by value, and writes nothing;
``--apply`` puts the site back as it was before the night, record by
record; ``farm undo`` of the undo's run gives the night back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from farm.simulators.directory import GeneratedPerson
from tests.acceptance.test_journal_cli import remove
from tests.acceptance.test_sync_e2e import Farm, World, as_json, ok, rename, world

__all__ = ["world"]  # the module-scoped fixture: this module's own slapd and simulators

pytestmark = [pytest.mark.slapd, pytest.mark.slow]


@dataclass
class Night:
    farm: Farm
    site: str
    uai: str
    renamed: GeneratedPerson
    gone: GeneratedPerson
    before: dict[str, Any]
    after: dict[str, Any]
    run: int


def site_state(farm: Farm, site: str) -> dict[str, Any]:
    """The simulated site, record by record: accounts by login, cohorts and their members."""
    moodle = farm.sites[site]
    live = moodle.live_users()
    logins = {u.id: u.username for u in live}
    return {
        "users": {
            u.username: (u.idnumber, u.firstname, u.lastname, u.email, u.suspended)
            for u in live
            if u.username != "admin"
        },
        "cohorts": {
            c.idnumber: (c.name, frozenset(logins[m] for m in c.members))
            for c in moodle.cohorts.values()
        },
    }


@pytest.fixture(scope="module")
def night(world: World) -> Night:
    farm = world.farm("undo")
    ok(farm.run("registry", "upgrade"))
    ok(farm.run("registry", "load"))
    site, uais = next(iter(farm.establishments.items()))
    uai = uais[0]
    students = [
        p
        for p in world.directory.people_of(uai).values()
        if "student" in p.kinds and p.uais == {uai}
    ]
    renamed, gone = students[0], students[1]

    def sync() -> int:
        result = as_json(ok(farm.run("sync", "--tenant", uai, "--json", "--quiet")))
        assert result["status"] == "succeeded", result
        return int(result["run"])

    sync()
    before = site_state(farm, site)
    rename(world, renamed.dn, "RENOMMÉ")
    remove(world, gone.dn)
    run = sync()
    after = site_state(farm, site)
    assert after["users"][renamed.uid.lower()][2] == "RENOMMÉ"
    assert after["users"][gone.uid.lower()][4] is True
    return Night(farm, site, uai, renamed, gone, before, after, run)


def test_undo_shows_its_plan_value_by_value_applies_it_and_is_undone_in_turn(
    night: Night,
) -> None:
    farm = night.farm
    login, lost = night.renamed.uid.lower(), night.gone.uid.lower()
    writes = farm.writes()

    shown = ok(farm.run("undo", str(night.run)))

    out = shown.stdout
    assert farm.writes() == writes  # a simulation writes nothing
    assert f"Undo of run {night.run}, stored as simulated run " in out
    assert f"update person sdet:{night.renamed.uid} ({login})" in out
    assert "RENOMMÉ" in out
    assert night.renamed.lastname in out
    assert f"revive person sdet:{night.gone.uid} ({lost})" in out
    assert f"Apply it: farm undo {night.run} --apply" in out
    simulated = as_json(ok(farm.run("undo", str(night.run), "--json")))
    assert (simulated["simulated"], simulated["undoes"]) == (True, night.run)
    (plan,) = simulated["plans"]
    assert (plan["site"], plan["tenants"]) == (night.site, [night.uai])
    fields = {(f["field"], f["old"], f["new"]) for op in plan["operations"] for f in op["fields"]}
    assert fields == {
        ("lastname", "RENOMMÉ", night.renamed.lastname),
        ("suspended", True, False),
    }
    assert site_state(farm, night.site) == night.after
    assert farm.writes() == writes

    undone = as_json(ok(farm.run("undo", str(night.run), "--apply", "--json")))

    assert undone["status"] == "succeeded", undone
    assert undone["undoes"] == night.run
    assert undone["left_alone"] == []
    assert undone["writes"] == 2  # the surname back, the account revived
    assert site_state(farm, night.site) == night.before
    journal = as_json(ok(farm.run("journal", "--run", str(undone["run"]), "--format", "json")))
    assert sorted(line["action"] for line in journal) == ["revive", "update"]

    # The undo of the undo: the night again, exactly.
    redone = as_json(ok(farm.run("undo", str(undone["run"]), "--apply", "--json")))

    assert redone["status"] == "succeeded", redone
    assert redone["undoes"] == undone["run"]
    assert site_state(farm, night.site) == night.after
    # The night was changed again since: a second undo of it leaves everything alone.
    again = farm.run("undo", str(night.run), "--apply", "--json")
    assert again.returncode == 1
    left = json.loads(again.stdout)["left_alone"]
    assert {item["label"] for item in left} == {login, lost}
    assert all(item["includable"] and item["later_runs"] for item in left)
    assert f"nothing of run {night.run} to take back" in again.stderr


def test_what_cannot_be_undone_is_refused_with_exit_1_and_help_has_examples(
    night: Night,
) -> None:
    farm = night.farm
    simulated = as_json(ok(farm.run("sync", "--tenant", night.uai, "--simulate", "--json")))["run"]

    refused = farm.run("undo", str(simulated))

    assert refused.returncode == 1
    assert f"run {simulated} was a simulation: it wrote nothing to undo" in refused.stderr
    unknown = farm.run("undo", "99999")
    assert unknown.returncode == 1
    assert "there is no run 99999; nothing was recorded" in unknown.stderr
    nobody = farm.run("undo", str(night.run), "--include", "sdet:NOBODY")
    assert nobody.returncode == 1
    assert f"--include sdet:NOBODY: run {night.run} did not change it" in nobody.stderr
    bad = farm.run("undo", str(night.run), "--created", "erase")
    assert bad.returncode == 2
    help_text = ok(farm.run("undo", "--help")).stdout
    assert "farm undo 42 --apply" in help_text
    assert "--include KEY" in help_text
