"""``farm journal`` end to end: who changed this account, across three real syncs.

A student of one establishment is created by a first ``farm sync``, renamed
in the directory (to a surname a spreadsheet would take for a formula) and
synced again, then removed from the directory and suspended by a third
sync; another establishment, on another site, is synced alongside. The
journal is then read as an operator would, through the ``farm`` command:
by login, by tenant, run and action, as a table, JSON and CSV, and pruned.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import ldap3
import pytest
from sqlalchemy import create_engine, text

from farm.simulators.directory import GeneratedPerson
from tests.acceptance.test_sync_e2e import Farm, World, as_json, ok, rename, world

__all__ = ["world"]  # the module-scoped fixture: this module's own slapd and simulators

pytestmark = [pytest.mark.slapd, pytest.mark.slow]

#: The surname the directory gives in the second run: a formula, to a spreadsheet.
FORMULA = '=HYPERLINK("http://example.invalid";"RENOMMÉ")'


@dataclass
class Story:
    farm: Farm
    person: GeneratedPerson
    uai: str
    other: str
    runs: tuple[int, int, int]

    @property
    def login(self) -> str:
        return self.person.uid.lower()

    def journal(self, *args: str) -> Any:
        return as_json(ok(self.farm.run("journal", *args, "--format", "json")))


def remove(world: World, dn: str) -> None:
    """Delete a person's entry from the directory, as the ENT does when they leave."""
    server = ldap3.Server(world.slapd.url)
    with ldap3.Connection(server, world.slapd.admin_dn, world.slapd.admin_password) as ldap:
        assert ldap.delete(dn), ldap.result  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def story(world: World) -> Story:
    farm = world.farm("journal")
    ok(farm.run("registry", "upgrade"))
    ok(farm.run("registry", "load"))
    sites = list(farm.establishments.values())
    # Two establishments on two sites.
    assert len(sites) > 1
    uai, other = sites[0][0], sites[-1][0]
    person = next(
        p
        for p in world.directory.people_of(uai).values()
        if "student" in p.kinds and p.uais == {uai}
    )

    def sync() -> int:
        done = ok(farm.run("sync", "--tenant", uai, "--tenant", other, "--json", "--quiet"))
        result = as_json(done)
        assert result["status"] == "succeeded", done.stdout
        return int(result["run"])

    created = sync()
    rename(world, person.dn, FORMULA)
    renamed = sync()
    remove(world, person.dn)
    suspended = sync()
    return Story(farm, person, uai, other, (created, renamed, suspended))


def test_journal_user_answers_who_changed_the_account_across_three_runs(story: Story) -> None:
    created, renamed, suspended = story.runs
    lines = story.journal("--user", story.login, "--entity", "person")
    assert [(line["run"], line["action"]) for line in lines] == [
        (suspended, "suspend"),
        (renamed, "update"),
        (created, "create"),
    ]
    key = lines[0]["key"]
    assert key.lower().endswith(":" + story.login)
    assert {line["tenants"][0] for line in lines} == {story.uai}
    assert {line["trigger"] for line in lines} == {"batch"}
    rename_line = lines[1]
    assert rename_line["changes"] == [
        {"field": "lastname", "old": story.person.lastname, "new": FORMULA}
    ]
    assert lines[0]["changes"] == [{"field": "suspended", "old": False, "new": True}]
    assert lines[2]["new"]["username"] == story.login
    # Found the same by source key and by the directory's uid, in any case.
    assert story.journal("--user", key, "--entity", "person") == lines
    assert story.journal("--user", story.person.uid.upper(), "--entity", "person") == lines
    # The account's links are the person's too: the first run added them to their class.
    links = story.journal("--user", story.login, "--entity", "cohort_member")
    assert links
    assert {line["action"] for line in links} == {"add"}
    assert {line["person"] for line in links} == {key}


def test_the_table_shows_each_change_old_to_new_with_its_run_and_zone(story: Story) -> None:
    created, renamed, suspended = story.runs
    done = ok(story.farm.run("journal", "--user", story.login, "--entity", "person"))
    out = done.stdout
    assert "Europe/Paris" in out
    assert f"lastname: {story.person.lastname} → {FORMULA}" in out
    assert "suspended: false → true" in out
    for run in (created, renamed, suspended):
        assert f" {run} " in out
    assert "3 line(s), newest first." in out


def test_tenant_run_and_action_each_narrow_the_journal(story: Story) -> None:
    created, renamed, suspended = story.runs
    everything = story.journal("--user", story.login, "--limit", "1000")
    assert len(everything) >= 4
    assert story.journal("--user", story.login, "--tenant", story.other) == []
    mine = story.journal("--user", story.login, "--tenant", story.uai, "--limit", "1000")
    assert mine == everything
    assert [
        line["action"] for line in story.journal("--user", story.login, "--run", str(renamed))
    ] == ["update"]
    assert [
        line["run"] for line in story.journal("--user", story.login, "--action", "suspend")
    ] == [suspended]
    # The other establishment's journal holds its own people, never this one.
    others = story.journal("--tenant", story.other, "--run", str(created), "--limit", "1000")
    assert others
    assert all(story.other in line["tenants"] for line in others)
    assert all(line["person"] != everything[0]["person"] for line in others)
    # Time: nothing before the first run, everything since yesterday.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert story.journal("--user", story.login, "--until", yesterday) == []
    assert story.journal("--user", story.login, "--since", yesterday, "--limit", "1000") == (
        everything
    )
    oldest = story.journal("--user", story.login, "--oldest-first", "--limit", "1000")
    assert oldest == list(reversed(everything))


def test_csv_has_a_row_per_changed_field_and_neutralises_formulas(story: Story) -> None:
    _, renamed, _ = story.runs
    done = ok(story.farm.run("journal", "--user", story.login, "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows
    assert all(not cell.startswith("=") for row in rows for cell in row.values())
    (rename_row,) = [r for r in rows if r["run"] == str(renamed)]
    assert (rename_row["field"], rename_row["old"]) == ("lastname", story.person.lastname)
    assert rename_row["new"] == "'" + FORMULA
    assert rename_row["action"] == "update"


def test_an_unknown_person_or_bad_time_is_said_plainly(story: Story) -> None:
    done = ok(story.farm.run("journal", "--user", "nobody-here"))
    assert "No source key, login, idnumber or uid 'nobody-here'" in done.stdout
    refused = story.farm.run("journal", "--since", "last tuesday")
    assert refused.returncode == 2
    assert "--since" in refused.stderr
    assert "neither a date" in refused.stderr
    misplaced = story.farm.run("journal", "--user", story.login, "prune")
    assert misplaced.returncode == 2
    assert "--user" in misplaced.stderr


def test_a_password_like_value_never_shows(story: Story) -> None:
    """Should a record ever carry a secret's name, every format shows ``***``."""
    created = story.runs[0]
    engine = create_engine(story.farm.registry_url)
    with engine.begin() as connection:
        stamp = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        connection.execute(
            text(
                'INSERT INTO journal (run_id, site, seq, entity, action, "key", old, new, '
                "tenants, person, at) VALUES (:run, 'journal-x', 1, 'person', 'update', "
                "'sdet:SECRET1', :old, :new, :tenants, 'sdet:SECRET1', :at)"
            ),
            {
                "run": created,
                "old": json.dumps({"password": "0ld-s3cret"}),
                "new": json.dumps(
                    {"password": "n3w-s3cret", "profile_fields": {"mot_de_passe_ent": "x"}}
                ),
                "tenants": json.dumps([story.uai]),
                "at": stamp,
            },
        )
    engine.dispose()
    for output in ("table", "json", "csv"):
        done = ok(story.farm.run("journal", "--user", "sdet:SECRET1", "--format", output))
        assert "s3cret" not in done.stdout
        assert "***" in done.stdout
    (line,) = story.journal("--user", "sdet:SECRET1")
    assert line["new"] == {"password": "***", "profile_fields": {"mot_de_passe_ent": "***"}}
    engine = create_engine(story.farm.registry_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM journal WHERE \"key\" = 'sdet:SECRET1'"))
    engine.dispose()


def test_prune_simulates_first_then_deletes_exactly_the_old_runs_lines(story: Story) -> None:
    created, renamed, suspended = story.runs
    before = story.journal("--limit", "100000")
    old = [line for line in before if line["run"] == created]
    assert old
    engine = create_engine(story.farm.registry_url)
    with engine.begin() as connection:
        long_ago = (datetime.now(UTC) - timedelta(days=400)).replace(tzinfo=None)
        connection.execute(
            text("UPDATE journal SET at = :at WHERE run_id = :run"),
            {"at": long_ago.strftime("%Y-%m-%d %H:%M:%S.%f"), "run": created},
        )
    engine.dispose()

    preview = ok(story.farm.run("journal", "prune"))
    assert f"Would delete {len(old)} journal line(s) of 1 run(s)" in preview.stdout
    assert "journal_retention_days = 365" in preview.stdout
    assert "Nothing was deleted" in preview.stdout
    assert len(story.journal("--limit", "100000")) == len(before)

    applied = ok(story.farm.run("journal", "prune", "--apply"))
    assert f"Deleted {len(old)} journal line(s) of 1 run(s)" in applied.stdout
    after = story.journal("--limit", "100000")
    assert len(after) == len(before) - len(old)
    assert {line["run"] for line in after} == {renamed, suspended}
    assert story.journal("--run", str(created)) == []
    again = ok(story.farm.run("journal", "prune", "--apply"))
    assert "nothing to delete" in again.stdout
    # --before replaces the retention: tomorrow's cut takes both runs left, in simulation.
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    everything = ok(story.farm.run("journal", "prune", "--before", tomorrow))
    assert f"Would delete {len(after)} journal line(s) of 2 run(s)" in everything.stdout
    assert "(--before)" in everything.stdout
    assert len(story.journal("--limit", "100000")) == len(after)
