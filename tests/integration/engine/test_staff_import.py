"""A staff import and a reconciliation through the real engine, on the Moodle simulator.

The scenario's site (a cité scolaire's two establishments) here creates
manual accounts whose first passwords go to a file, so that the import's
passwords can be compared with what Moodle holds. The directory is a
:class:`~farm.sources.static.StaticSource`; the registry is SQLite, and
PostgreSQL where a test takes ``any_scenario``.
"""

from __future__ import annotations

import csv
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from farm.engine.reconcile import reconcile_tenant
from farm.engine.staff_import import ImportOptions, StaffImportOutcome, import_staff_file
from farm.engine.wiring import client_provider
from farm.model import Profile
from farm.registry import RunStatus
from farm.site_rules import PasswordDelivery
from farm.staff import Confidence, StaffKind
from tests.farms import farm_of
from tests.integration.engine.conftest import COLLEGE, LYCEE, SITE, Scenario, person
from tests.staff_files import STAFF_HEADER, TEACHERS, TEACHERS_HEADER, write_csv

pytestmark = pytest.mark.anyio


@pytest.fixture
def manual(any_scenario: Scenario) -> Scenario:
    """The scenario (SQLite, then PostgreSQL) with manual accounts, first passwords by file."""
    scenario = any_scenario
    site = replace(scenario.farm.sites[SITE], auth="manual", new_passwords=PasswordDelivery.FILE)
    scenario.farm = farm_of(scenario.farm.root, [site], name="scenario")
    scenario.set_people(LYCEE, [person("E1"), person("E2")])
    scenario.set_people(COLLEGE, [person("E3", COLLEGE)])
    return scenario


async def run_import(
    scenario: Scenario, path: Path, *, apply: bool, **options: Any
) -> StaffImportOutcome:
    options.setdefault("kind", StaffKind.TEACHERS)
    options.setdefault("tenant", LYCEE)
    return await import_staff_file(
        scenario.farm,
        scenario.registry,
        path,
        ImportOptions(**options),
        apply=apply,
        sources={"ent": scenario.source},
        clients=client_provider(transport=scenario.sim.transport()),
    )


def report_rows(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(text.splitlines(), delimiter=";"))


async def test_a_preview_writes_nothing_then_apply_creates_accounts_and_the_report(
    manual: Scenario, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "enseignants.csv", TEACHERS_HEADER, TEACHERS)
    await manual.sync()
    before = manual.writes()

    preview = await run_import(manual, path, apply=False)

    assert preview.failure is None
    (site,) = preview.sites
    assert site.created == ("fplaton", "hcoeur", "nlavoisier", "pmozart", "rdescartes")
    assert site.others == {"cohort.create": 5, "cohort_member.add": 5}
    assert manual.writes() == before
    assert manual.registry.staff_roster() == []
    assert not (manual.farm.root / "var" / "staff-reports").exists()
    assert preview.preview is not None
    assert manual.registry.get_run(preview.preview.run_id).simulated

    done = await run_import(manual, path, apply=True)

    assert done.failure is None
    assert done.sync is not None
    assert done.sync.status is RunStatus.SUCCEEDED
    assert done.stored is not None
    assert done.stored.run_id is None  # as stored; the registry knows the run now
    assert manual.registry.staff_imports()[0].run_id == done.sync.run_id
    # The import's own preview counts as applied by its sync: `farm apply` refuses it.
    assert done.preview is not None
    (claimed,) = manual.registry.stored_plans(done.preview.run_id)
    assert claimed.applied_by == done.sync.run_id
    accounts = {u.idnumber: u for u in manual.site.live_users()}
    platon = accounts["PERSON.m-mmefrancisplaton"]
    assert (platon.username, platon.auth) == ("fplaton", "manual")
    assert done.report is not None
    assert stat.S_IMODE(done.report.stat().st_mode) == 0o600
    rows = report_rows(done.report)
    assert len(rows) == done.reported == 5
    for row in rows:
        account = accounts[row["Cle synchro"]]
        assert (row["Nom utilisateur"], row["Email"]) == (account.username, account.email)
        assert row["Mot de passe"] == account.password
    assert accounts["PERSON.m-mmerachiddescartes"].password == "Cogito-1637"  # the file's
    assert done.passwords == 5
    # The roster is a source now: a sync writes nothing more, and keeps everyone.
    again = manual.writes()
    await manual.sync()
    assert manual.writes() == again
    assert len(manual.site.live_users()) == 8


async def test_a_login_the_directory_holds_is_a_conflict_and_nothing_is_imported(
    manual: Scenario, tmp_path: Path
) -> None:
    manual.set_people(LYCEE, [person("E1", username="rdescartes")])
    path = write_csv(tmp_path / "enseignants.csv", TEACHERS_HEADER, TEACHERS)

    done = await run_import(manual, path, apply=True)

    assert done.failure is not None
    assert "1 row(s) in conflict" in done.failure
    (problem,) = [p for p in done.check.problems if p.severity.value == "conflict"]
    assert "login already used in the directory or on the site (by sdet:E1)" in problem.reason
    assert manual.registry.staff_roster() == []
    assert manual.registry.staff_imports() == []
    assert manual.writes() == 0

    skipped = await run_import(manual, path, apply=True, skip_conflicts=True)
    assert skipped.failure is None
    assert len(manual.registry.staff_roster()) == 4


async def test_a_complete_file_takes_the_absent_off_through_the_mass_removal_guard(
    manual: Scenario, tmp_path: Path
) -> None:
    many = [("M.", f"NOM{i}", "Jean", "Histoire", "", "", "", "", "") for i in range(12)]
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, many)
    await run_import(manual, path, apply=True)
    few = write_csv(tmp_path / "few.csv", TEACHERS_HEADER, many[:2])

    kept = await run_import(manual, few, apply=True)
    assert kept.failure is None
    assert kept.plan is not None
    assert kept.plan.left == 10
    stopped = await run_import(manual, few, apply=True, complete=True)
    assert stopped.failure is not None
    assert "mass-removal" in stopped.failure or "threshold" in stopped.failure
    assert len(manual.registry.staff_roster()) == 12
    allowed = await run_import(manual, few, apply=True, complete=True, allow_mass_removal=True)

    assert allowed.failure is None
    assert len(manual.registry.staff_roster()) == 2
    suspended = [u for u in manual.site.live_users() if u.suspended]
    assert len(suspended) == 10


async def test_a_director_gets_the_manager_role_in_the_category_given(
    manual: Scenario, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        STAFF_HEADER,
        [("Madame", "CURIE", "Marie", "DIR", "", "m.curie@example.fr")],
    )

    done = await run_import(manual, path, apply=True, kind=StaffKind.STAFF, manager_category="1")

    assert done.failure is None
    assert manual.index("role_assignment").keys() == {
        "csv:PERSON.m-mmemariecurie|manager|coursecat|1"
    }
    (curie,) = [u for u in manual.site.live_users() if u.lastname == "CURIE"]
    assert (1, curie.id) in {(role, user) for role, _, user in manual.site.role_assignments}


async def test_reconciliation_keeps_the_csv_account_and_suspends_the_duplicate(
    manual: Scenario, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "enseignants.csv", TEACHERS_HEADER, TEACHERS)
    await run_import(manual, path, apply=True)
    csv_accounts = {u.idnumber: u.id for u in manual.site.live_users()}
    # The directory brings LAVOISIER (same e-mail) and PLATON (names only): a sync
    # creates PLATON a second account; LAVOISIER's e-mail is taken, so hers is refused.
    platon = person(
        "T1", firstname="Francis", lastname="Platon", email="francis.platon@example.org",
        username="francis.platon", profiles=frozenset({Profile.TEACHER}),
    )  # fmt: skip
    lavoisier = person(
        "T2", firstname="Nicole", lastname="LAVOISIER", email="n.lavoisier@example.fr",
        username="nicole.lavoisier", profiles=frozenset({Profile.TEACHER}),
    )  # fmt: skip
    manual.set_people(LYCEE, [person("E1"), person("E2"), platon, lavoisier])
    await manual.sync()
    assert "sdet:T1" in manual.index()
    assert "sdet:T2" not in manual.index()

    listing = await reconcile_tenant(
        manual.farm, manual.registry, LYCEE, sources={"ent": manual.source}
    )
    pairs = {p.csv_key: p for p in listing.findings.pairs}
    assert pairs["csv:PERSON.m-mmenicolelavoisier"].confidence is Confidence.HIGH
    assert pairs["csv:PERSON.m-mmefrancisplaton"].confidence is Confidence.MEDIUM
    assert pairs["csv:PERSON.m-mmefrancisplaton"].directory_account is not None
    assert listing.run_id is None
    assert manual.registry.staff_tallies([LYCEE])[LYCEE].pending == 2

    done = await reconcile_tenant(
        manual.farm,
        manual.registry,
        LYCEE,
        apply=True,
        sources={"ent": manual.source},
        clients=client_provider(transport=manual.sim.transport()),
    )

    assert done.ok
    assert len(done.linked) == 2
    assert done.run_id is not None
    await manual.sync()
    await manual.sync()
    live = [u for u in manual.site.live_users() if not u.suspended]
    by_last = {u.lastname.upper(): u for u in live}
    assert by_last["PLATON"].id == csv_accounts["PERSON.m-mmefrancisplaton"]
    assert by_last["PLATON"].idnumber == "T1"
    assert by_last["PLATON"].username == "francis.platon"
    assert by_last["LAVOISIER"].id == csv_accounts["PERSON.m-mmenicolelavoisier"]
    assert sum(1 for u in live if u.lastname.upper() in ("PLATON", "LAVOISIER")) == 2
    duplicate = next(u for u in manual.site.live_users() if u.username.startswith("duplicate-"))
    assert duplicate.suspended
    # The CSV account's history is kept: its journal lines are still there.
    lines = manual.registry.journal_entries(person="csv:PERSON.m-mmefrancisplaton")
    assert any(e.action == "create" and e.key == "csv:PERSON.m-mmefrancisplaton" for e in lines)
    assert manual.registry.staff_tallies([LYCEE])[LYCEE].pending == 0
    assert len(manual.registry.staff_roster([LYCEE])) == 3
