"""What an import changes in the rosters, and a roster as the records every sync reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from farm.model import Profile, RoleAssignment
from farm.staff import (
    RosterChange,
    RosterContext,
    RosterEntry,
    StaffKind,
    StaffRow,
    check_staff_file,
    pending_rosters,
    plan_roster,
    roster_digest,
    roster_snapshot,
)
from tests.staff_files import (
    COLLEGE,
    LYCEE,
    STAFF,
    STAFF_HEADER,
    TEACHERS,
    TEACHERS_HEADER,
    write_csv,
)

TODAY = date(2026, 9, 1)
TODAY_AT = datetime(2026, 9, 1, tzinfo=UTC)
CONTEXT = RosterContext(cohort_prefix="farm:", tenant_names={LYCEE: "Lycée Clemenceau"})


def teachers(tmp_path: Path, rows: tuple[tuple[str, ...], ...] = TEACHERS) -> list[StaffRow]:
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, rows)
    return list(check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY).rows)


def logins(rows: list[StaffRow]) -> dict[str, str]:
    return {row.sync_key: row.login or f"login-{row.lastname.lower()}" for row in rows}


def stored(entries: tuple[RosterEntry, ...], import_id: int = 1) -> list[RosterEntry]:
    """Entries as the registry gives them back once an import wrote them."""
    return [
        replace(e, import_id=import_id, first_import=e.first_import or import_id) for e in entries
    ]


def test_a_first_import_adds_every_row(tmp_path: Path) -> None:
    rows = teachers(tmp_path)

    plan = plan_roster(StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[LYCEE])

    assert plan.counts() == {"add": 5, "revive": 0, "update": 0, "retire": 0, "kept": 0, "left": 0}
    entry = next(e for e in plan.written if e.lastname == "PLATON")
    assert entry.key == (LYCEE, StaffKind.TEACHERS, "PERSON.m-mmefrancisplaton")
    assert (entry.codes, entry.login, entry.postcode) == (("Philosophie",), "login-platon", "06000")
    assert entry.source_key == "csv:PERSON.m-mmefrancisplaton"
    assert plan.based_on == roster_digest([])


def test_the_same_file_again_changes_nothing_and_a_new_subject_is_an_update(
    tmp_path: Path,
) -> None:
    rows = teachers(tmp_path)
    first = stored(
        plan_roster(
            StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[LYCEE]
        ).written
    )

    again = plan_roster(
        StaffKind.TEACHERS, rows, logins(rows), first, file="t.csv", tenants=[LYCEE]
    )
    assert again.items == ()
    assert again.kept == 5

    changed = [r if r[1] != "PLATON" else (*r[:3], "Histoire", *r[4:]) for r in TEACHERS]
    rows2 = teachers(tmp_path, tuple(changed))
    update = plan_roster(
        StaffKind.TEACHERS, rows2, logins(rows2), first, file="t2.csv", tenants=[LYCEE]
    )
    (item,) = update.items
    assert (item.change, item.fields, item.entry.codes) == (
        RosterChange.UPDATE,
        ("codes",),
        ("Histoire",),
    )


def test_an_empty_optional_cell_keeps_what_the_roster_holds_and_a_login_is_for_life(
    tmp_path: Path,
) -> None:
    rows = teachers(tmp_path)
    first = stored(
        plan_roster(
            StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[LYCEE]
        ).written
    )
    # LAVOISIER without her e-mail, and given another login by the new import.
    without = [(*r[:7], "", *r[8:]) if r[1] == "LAVOISIER" else r for r in TEACHERS]
    rows2 = teachers(tmp_path, tuple(without))
    other = {**logins(rows2), rows2[2].sync_key: "nlavoisier2"}

    plan = plan_roster(StaffKind.TEACHERS, rows2, other, first, file="t2.csv", tenants=[LYCEE])

    assert plan.items == ()
    lavoisier = next(e for e in first if e.lastname == "LAVOISIER")
    assert lavoisier.email == "n.lavoisier@example.fr"


def test_people_absent_from_the_file_stay_unless_it_is_complete(tmp_path: Path) -> None:
    rows = teachers(tmp_path)
    first = stored(
        plan_roster(
            StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[LYCEE]
        ).written
    )
    fewer = teachers(tmp_path, TEACHERS[:3])

    partial = plan_roster(
        StaffKind.TEACHERS, fewer, logins(fewer), first, file="f", tenants=[LYCEE]
    )
    complete = plan_roster(
        StaffKind.TEACHERS, fewer, logins(fewer), first, file="f", tenants=[LYCEE], complete=True
    )

    assert (partial.items, partial.left, partial.kept) == ((), 2, 3)
    assert sorted(e.lastname for e in complete.retired) == ["CŒUR", "MOZART"]
    assert complete.count(RosterChange.RETIRE, LYCEE) == 2
    pending = pending_rosters(first, complete)
    assert sorted(e.lastname for e in pending[LYCEE]) == ["DESCARTES", "LAVOISIER", "PLATON"]


def test_a_retired_person_imported_again_is_revived(tmp_path: Path) -> None:
    rows = teachers(tmp_path)
    first = stored(
        plan_roster(
            StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[LYCEE]
        ).written
    )
    gone = [replace(e, retired_at=None if e.lastname != "MOZART" else TODAY_AT) for e in first]

    plan = plan_roster(StaffKind.TEACHERS, rows, logins(rows), gone, file="t.csv", tenants=[LYCEE])

    (item,) = plan.items
    assert (item.change, item.entry.lastname, item.entry.first_import) == (
        RosterChange.REVIVE,
        "MOZART",
        1,
    )
    assert plan.based_on == roster_digest(gone)
    assert plan.based_on != roster_digest(first)


def test_a_row_of_a_tenant_the_import_does_not_cover_is_refused(tmp_path: Path) -> None:
    rows = teachers(tmp_path)

    with pytest.raises(ValueError, match="is not a tenant of this import"):
        plan_roster(StaffKind.TEACHERS, rows, logins(rows), [], file="t.csv", tenants=[COLLEGE])


def staff_entries(tmp_path: Path, category: str | None) -> tuple[RosterEntry, ...]:
    path = write_csv(tmp_path / "s.csv", STAFF_HEADER, STAFF)
    rows = list(check_staff_file(path, StaffKind.STAFF, today=TODAY).rows)
    plan = plan_roster(
        StaffKind.STAFF,
        rows,
        logins(rows),
        [],
        file="s.csv",
        tenants=[LYCEE, COLLEGE],
        manager_category=category,
    )
    return plan.written


def test_a_roster_is_a_complete_snapshot_with_its_cohorts_and_the_director_s_role(
    tmp_path: Path,
) -> None:
    entries = staff_entries(tmp_path, "12")

    snapshot = roster_snapshot(LYCEE, entries, CONTEXT)

    assert snapshot.complete is True
    assert sorted(p.lastname for p in snapshot.people) == ["CURIE", "PASTEUR", "SAND"]
    assert {p.auth for p in snapshot.people} == {"manual"}
    assert {c.idnumber for c in snapshot.cohorts} == {
        f"farm:csv:{LYCEE}:function:{code}" for code in ("DIR", "EDU", "DOC")
    }
    curie = next(p for p in snapshot.people if p.lastname == "CURIE")
    assert snapshot.role_assignments == (
        RoleAssignment(curie.source_key, "manager", "coursecat", "12"),
    )
    pasteur = next(p for p in snapshot.people if p.lastname == "PASTEUR")
    assert pasteur.establishments == frozenset({LYCEE})  # the college's roster says the rest
    assert sorted(p.lastname for p in roster_snapshot(COLLEGE, entries, CONTEXT).people) == [
        "GERMAIN",
        "PASTEUR",
    ]


def test_without_a_category_the_director_gets_no_role_and_a_warning(tmp_path: Path) -> None:
    snapshot = roster_snapshot(LYCEE, staff_entries(tmp_path, None), CONTEXT)

    assert snapshot.role_assignments == ()
    assert [w.attribute for w in snapshot.warnings] == ["function"]


def test_a_person_in_both_rosters_is_one_person_with_both_profiles(tmp_path: Path) -> None:
    teacher = next(e for e in stored(plan_roster(
        StaffKind.TEACHERS, teachers(tmp_path), logins(teachers(tmp_path)), [], file="t",
        tenants=[LYCEE],
    ).written) if e.lastname == "PLATON")  # fmt: skip
    as_staff = replace(teacher, kind=StaffKind.STAFF, codes=("EDU",))

    snapshot = roster_snapshot(LYCEE, [teacher, as_staff], CONTEXT)

    (person,) = snapshot.people
    assert person.profiles == frozenset({Profile.TEACHER, Profile.STAFF})
    assert len(snapshot.cohort_members) == 2


def test_retired_entries_and_other_tenants_are_not_part_of_a_snapshot(tmp_path: Path) -> None:
    entries = staff_entries(tmp_path, None)
    retired = [replace(e, retired_at=TODAY_AT) if e.lastname == "SAND" else e for e in entries]

    snapshot = roster_snapshot(LYCEE, retired, CONTEXT)

    assert sorted(p.lastname for p in snapshot.people) == ["CURIE", "PASTEUR"]
