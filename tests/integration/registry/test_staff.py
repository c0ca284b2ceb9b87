"""Staff rosters and the reconciliation's handover in the registry, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from farm.applied import Applied, Confirmation
from farm.index import IndexWrite, index_writes
from farm.model import Cohort, CohortMembership, Kind, Person, Profile, Record, RoleAssignment
from farm.operation import Action, Category, Operation
from farm.registry import (
    DuplicateAccount,
    PersonRelink,
    Registry,
    RelinkRefused,
    RunId,
    RunTrigger,
    StaffScan,
)
from farm.staff import (
    RosterChange,
    RosterChanged,
    StaffKind,
    StaffRow,
    check_staff_file,
    pending_rosters,
    plan_roster,
)
from tests.integration.registry.farms import build_farm
from tests.staff_files import COLLEGE, LYCEE, TEACHERS, TEACHERS_HEADER, write_csv

SITE = "clemenceau"
TODAY = date(2026, 9, 1)
TODAY_AT = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def farm_registry(registry: Registry, tmp_path: Path) -> Registry:
    registry.load_farm(build_farm(tmp_path, {SITE: {LYCEE: "Lycée", COLLEGE: "Collège"}}))
    return registry


def teachers(tmp_path: Path, rows: tuple[tuple[str, ...], ...] = TEACHERS) -> list[StaffRow]:
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, rows)
    return list(check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY).rows)


def logins(rows: list[StaffRow]) -> dict[str, str]:
    return {row.sync_key: row.login or row.lastname.lower() for row in rows}


def import_rows(
    registry: Registry, rows: list[StaffRow], *, complete: bool = False, file: str = "t.csv"
) -> None:
    current = registry.staff_roster([LYCEE], retired=True)
    plan = plan_roster(
        StaffKind.TEACHERS, rows, logins(rows), current, file=file, tenants=[LYCEE],
        complete=complete,
    )  # fmt: skip
    registry.apply_roster_plan(plan)


def test_an_import_is_stored_whole_and_read_back_as_entries(
    farm_registry: Registry, tmp_path: Path
) -> None:
    rows = teachers(tmp_path)
    plan = plan_roster(
        StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[LYCEE], usertype="_x"
    )

    done = farm_registry.apply_roster_plan(plan)

    assert (done.kind, done.tenants, done.file, done.complete, done.usertype) == (
        StaffKind.TEACHERS,
        (LYCEE,),
        "t.csv",
        False,
        "_x",
    )
    assert done.counts["add"] == 5
    entries = farm_registry.staff_roster([LYCEE])
    assert len(entries) == 5
    platon = next(e for e in entries if e.lastname == "PLATON")
    written = next(e for e in plan.written if e.lastname == "PLATON")
    assert (
        replace(platon, import_id=None, first_import=None, added_at=None, updated_at=None)
        == written
    )
    assert (platon.import_id, platon.first_import, platon.birthdate) == (
        done.id,
        done.id,
        date(1971, 3, 12),
    )
    assert platon.added_at is not None
    assert farm_registry.staff_roster([COLLEGE]) == []
    assert farm_registry.staff_imports(LYCEE) == [done]


def test_a_complete_import_retires_who_is_absent_and_a_later_one_revives_them(
    farm_registry: Registry, tmp_path: Path
) -> None:
    import_rows(farm_registry, teachers(tmp_path))
    import_rows(farm_registry, teachers(tmp_path, TEACHERS[:3]), complete=True, file="few.csv")

    active = farm_registry.staff_roster([LYCEE])
    everyone = farm_registry.staff_roster([LYCEE], retired=True)
    assert len(active) == 3
    gone = [e for e in everyone if not e.active]
    assert sorted(e.lastname for e in gone) == ["CŒUR", "MOZART"]
    assert {e.retired_reason for e in gone} == {
        f"absent from few.csv, imported in Complet mode (import {gone[0].import_id})"
    }

    import_rows(farm_registry, teachers(tmp_path), file="all.csv")

    back = {e.lastname: e for e in farm_registry.staff_roster([LYCEE])}
    assert len(back) == 5
    assert back["MOZART"].first_import != back["MOZART"].import_id
    assert back["MOZART"].retired_reason is None
    last = farm_registry.staff_imports(LYCEE)[0]
    assert (last.counts["revive"], last.counts["kept"]) == (2, 3)


def test_a_plan_computed_before_another_import_is_refused_whole(
    farm_registry: Registry, tmp_path: Path
) -> None:
    rows = teachers(tmp_path)
    stale = plan_roster(StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[LYCEE])
    import_rows(farm_registry, rows[:1])

    with pytest.raises(RosterChanged, match="changed since this import was previewed"):
        farm_registry.apply_roster_plan(stale)

    assert len(farm_registry.staff_roster([LYCEE])) == 1
    assert len(farm_registry.staff_imports()) == 1


def test_logins_are_found_by_sync_key_and_a_pending_view_reads_as_the_import_would_leave(
    farm_registry: Registry, tmp_path: Path
) -> None:
    rows = teachers(tmp_path)
    import_rows(farm_registry, rows[:2])
    current = farm_registry.staff_roster([LYCEE], retired=True)
    plan = plan_roster(
        StaffKind.TEACHERS, rows, logins(rows), current, file="t.csv", tenants=[LYCEE]
    )

    view = farm_registry.with_pending_rosters(pending_rosters(current, plan))

    assert farm_registry.staff_logins([rows[0].sync_key, "PERSON.m-mmenobody"]) == {
        rows[0].sync_key: logins(rows)[rows[0].sync_key]
    }
    assert len(view.staff_roster([LYCEE])) == 5
    assert len(view.staff_roster()) == 5
    assert view.staff_roster([COLLEGE]) == []
    assert len(farm_registry.staff_roster([LYCEE])) == 2  # the registry itself is untouched
    assert plan.count(RosterChange.ADD) == 3


def test_tallies_count_people_once_and_keep_the_last_scan(
    farm_registry: Registry, tmp_path: Path
) -> None:
    import_rows(farm_registry, teachers(tmp_path))
    scan = farm_registry.record_staff_scan(StaffScan(LYCEE, TODAY_AT, 2, 1, 0, 3))
    again = farm_registry.record_staff_scan(StaffScan(LYCEE, TODAY_AT, 1, 0, 0, 3))

    tallies = farm_registry.staff_tallies([LYCEE, COLLEGE])

    assert (tallies[LYCEE].people, tallies[LYCEE].pending, tallies[LYCEE].ghosts) == (5, 1, 3)
    assert tallies[LYCEE].scan == again
    assert scan.at <= again.at
    assert (tallies[COLLEGE].people, tallies[COLLEGE].scan) == (0, None)


# -- the handover -----------------------------------------------------------------------------

CSV = "csv:PERSON.m-mmefrancisplaton"
DIR = "sdet:F0001"


def account(key: str, username: str, idnumber: str, email: str) -> Person:
    return Person(
        key, username, idnumber, "Francis", "PLATON", email, auth="cas",
        profiles=frozenset({Profile.TEACHER}), establishments=frozenset({LYCEE}),
    )  # fmt: skip


CSV_COHORT = Cohort(f"farm:csv:{LYCEE}:subject:philosophie", "Teachers of Philosophie")
DIR_COHORT = Cohort(f"farm:{LYCEE}:teachers", "Enseignants")


def create(record: Record) -> Operation:
    action = Action.CREATE if record.KIND.has_moodle_id else Action.ADD
    if record.KIND is Kind.ROLE_ASSIGNMENT:
        action = Action.ASSIGN
    return Operation(
        record.KIND, action, record.key, Category.CREATE, record, None, {}, frozenset({LYCEE})
    )


def record(registry: Registry, run: RunId, records: list[tuple[Record, int | None]]) -> None:
    index = registry.site_index(SITE)
    applied: list[Applied] = []
    writes: list[IndexWrite] = []
    for rec, moodle_id in records:
        op = create(rec)
        applied.append(Applied(op, moodle_id))
        writes.extend(index_writes(index, op, moodle_id))
        index = index.with_writes(index_writes(index, op, moodle_id))
    registry.record_confirmation(SITE, Confirmation(tuple(applied), tuple(writes)), run_id=run)


@pytest.fixture
def synced(farm_registry: Registry, tmp_path: Path) -> RunId:
    """Platon imported (account 7, his subject's cohort, a role), then his directory account 9."""
    import_rows(farm_registry, teachers(tmp_path))
    run = farm_registry.start_run(trigger=RunTrigger.BATCH)
    record(
        farm_registry,
        run,
        [
            (account(CSV, "fplaton", "PERSON.m-mmefrancisplaton", "fplaton@noreply.invalid"), 7),
            (CSV_COHORT, 20),
            (account(DIR, "francis.platon", "AC$1", "francis.platon@example.org"), 9),
            (DIR_COHORT, 21),
        ],
    )
    record(
        farm_registry,
        run,
        [
            (CohortMembership(CSV_COHORT.key, CSV), None),
            (RoleAssignment(CSV, "manager", "coursecat", "12"), None),
            (CohortMembership(DIR_COHORT.key, DIR), None),
        ],
    )
    return run


def keys(registry: Registry) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for entry in registry.site_index(SITE):
        out.setdefault(entry.kind.value, set()).add(entry.key)
    return out


def test_a_handover_gives_the_csv_account_the_directory_key_and_keeps_its_history(
    farm_registry: Registry, synced: RunId
) -> None:
    history = farm_registry.journal(synced, SITE)
    run = farm_registry.start_run(trigger=RunTrigger.TARGETED, selection={"reconcile": [LYCEE]})
    relink = PersonRelink(
        SITE, CSV, DIR, 7, "AC$1", (LYCEE, COLLEGE),
        DuplicateAccount(9, "dup9.francis.platon", "dup9.francis.platon@noreply.invalid"),
    )  # fmt: skip

    result = farm_registry.relink_person(relink, run_id=run)

    index = farm_registry.site_index(SITE)
    assert keys(farm_registry) == {
        "person": {DIR, "duplicate:9"},
        "cohort": {CSV_COHORT.key, DIR_COHORT.key},
        "cohort_member": {f"{CSV_COHORT.key}|{DIR}", f"{DIR_COHORT.key}|duplicate:9"},
        "role_assignment": {f"{DIR}|manager|coursecat|12"},
    }
    kept = index.get(Kind.PERSON, DIR)
    assert kept is not None
    assert (kept.moodle_id, kept.values["idnumber"], kept.values["username"]) == (
        7,
        "AC$1",
        "fplaton",
    )
    assert kept.digest == account(DIR, "fplaton", "AC$1", "fplaton@noreply.invalid").digest()
    assert kept.tenants == frozenset({LYCEE})
    duplicate = index.get(Kind.PERSON, "duplicate:9")
    assert duplicate is not None
    assert (duplicate.moodle_id, duplicate.suspended, duplicate.tenants) == (9, True, frozenset())
    assert duplicate.values["username"] == "dup9.francis.platon"
    member = index.get(Kind.COHORT_MEMBER, f"{CSV_COHORT.key}|{DIR}")
    assert member is not None
    assert member.digest == CohortMembership(CSV_COHORT.key, DIR).digest()
    # The CSV account's own lines stay; the handover is journalled under both keys.
    assert farm_registry.journal(synced, SITE) == history
    lines = farm_registry.journal(run, SITE)
    assert [(e.entity, e.action, e.key, e.moodle_id) for e in lines] == [
        ("person", "suspend", "duplicate:9", 9),
        ("cohort_member", "reindex", f"{DIR_COHORT.key}|{DIR}", None),
        ("person", "reindex", CSV, 7),
        ("person", "update", DIR, 7),
        ("cohort_member", "reindex", f"{CSV_COHORT.key}|{CSV}", None),
        ("role_assignment", "reindex", f"{CSV}|manager|coursecat|12", None),
    ]
    assert [e.seq for e in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[3].old == {"idnumber": "PERSON.m-mmefrancisplaton", "source_key": CSV}
    assert lines[3].new == {"idnumber": "AC$1", "source_key": DIR}
    assert result.lines == 6
    assert result.moved == 5
    assert [e.lastname for e in result.retired] == ["PLATON"]
    (gone,) = [e for e in farm_registry.staff_roster([LYCEE], retired=True) if not e.active]
    assert (gone.linked_to, gone.retired_reason) == (DIR, f"reconciled with {DIR}")
    assert all(e.lastname != "PLATON" for e in farm_registry.staff_roster([LYCEE]))


def test_a_handover_from_a_stale_look_is_refused_and_writes_nothing(
    farm_registry: Registry, synced: RunId
) -> None:
    run = farm_registry.start_run(trigger=RunTrigger.TARGETED)
    before = farm_registry.index_entries(SITE)
    wrong_account = PersonRelink(SITE, CSV, DIR, 8, "AC$1", (LYCEE,), DuplicateAccount(9, "d", "e"))
    no_duplicate_named = PersonRelink(SITE, CSV, DIR, 7, "AC$1", (LYCEE,))
    wrong_duplicate = PersonRelink(
        SITE, CSV, DIR, 7, "AC$1", (LYCEE,), DuplicateAccount(5, "d", "e")
    )

    with pytest.raises(RelinkRefused, match="is no longer account 8"):
        farm_registry.relink_person(wrong_account, run_id=run)
    with pytest.raises(RelinkRefused, match="has account 9 on clemenceau"):
        farm_registry.relink_person(no_duplicate_named, run_id=run)
    with pytest.raises(RelinkRefused, match="is no longer account 5"):
        farm_registry.relink_person(wrong_duplicate, run_id=run)

    assert farm_registry.index_entries(SITE) == before
    assert farm_registry.journal(run) == []
    assert len(farm_registry.staff_roster([LYCEE])) == 5


def test_a_handover_without_a_duplicate_only_moves_the_csv_key(
    farm_registry: Registry, tmp_path: Path
) -> None:
    import_rows(farm_registry, teachers(tmp_path))
    first = farm_registry.start_run(trigger=RunTrigger.BATCH)
    record(farm_registry, first, [(account(CSV, "fplaton", "PERSON.x", "f@x.fr"), 7)])
    run = farm_registry.start_run(trigger=RunTrigger.TARGETED)

    farm_registry.relink_person(PersonRelink(SITE, CSV, DIR, 7, "AC$1", (LYCEE,)), run_id=run)

    assert keys(farm_registry) == {"person": {DIR}}
    assert [e.action for e in farm_registry.journal(run)] == ["reindex", "update"]
