"""Checked rows -> people, cohorts and roles per tenant, mergeable like any source's."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from farm.model import Profile, RoleAssignment
from farm.snapshot import merge_site
from farm.sources.netypareo.records import NON_NETYPAREO_TEACHER_USERTYPE, USERTYPE
from farm.staff import RecordOptions, StaffKind, StaffRow, check_staff_file, staff_records
from farm.staff.records import USERTYPE_FIELD, ascii_login, subject_slug
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


def checked(tmp_path: Path, kind: StaffKind) -> tuple[StaffRow, ...]:
    if kind is StaffKind.TEACHERS:
        path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, TEACHERS)
        return check_staff_file(path, kind, tenant=LYCEE, today=TODAY).rows
    path = write_csv(tmp_path / "s.csv", STAFF_HEADER, STAFF)
    return check_staff_file(path, kind, today=TODAY).rows


def test_each_teacher_is_a_person_with_the_seed_key_and_a_login(tmp_path: Path) -> None:
    rows = checked(tmp_path, StaffKind.TEACHERS)

    records = staff_records(StaffKind.TEACHERS, rows, [LYCEE])

    snapshot = records.snapshots[LYCEE]
    people = {p.lastname: p for p in snapshot.people}
    platon = people["PLATON"]
    assert platon.source_key == "csv:PERSON.m-mmefrancisplaton"
    assert platon.idnumber == "PERSON.m-mmefrancisplaton"
    assert (platon.username, platon.email) == ("fplaton", "fplaton@noreply.invalid")
    assert platon.auth == ""  # the site's [site] auth decides
    assert platon.profiles == frozenset({Profile.TEACHER})
    assert platon.establishments == frozenset({LYCEE})
    assert people["DESCARTES"].username == "rdescartes"  # the file's login
    assert people["LAVOISIER"].email == "n.lavoisier@example.fr"
    assert people["CŒUR"].username == "hcoeur"
    assert snapshot.complete is False  # the seed's "Complet" mode is asked for, never assumed


def test_teachers_join_the_cohort_of_their_subject(tmp_path: Path) -> None:
    rows = checked(tmp_path, StaffKind.TEACHERS)
    options = RecordOptions(cohort_prefix="farm:", tenant_names={LYCEE: "Lycée Clemenceau"})

    snapshot = staff_records(StaffKind.TEACHERS, rows, [LYCEE], options).snapshots[LYCEE]

    cohorts = {c.idnumber: c for c in snapshot.cohorts}
    maths = cohorts["farm:csv:0340041K:subject:mathematiques"]
    assert maths.name == "Teachers of Mathématiques (Lycée Clemenceau)"
    assert maths.establishment == LYCEE
    assert "farm:csv:0340041K:subject:education-musicale" in cohorts
    assert len(snapshot.cohort_members) == 5
    assert {m.person for m in snapshot.cohort_members} == {p.source_key for p in snapshot.people}


def test_staff_join_their_function_cohort_in_each_establishment(tmp_path: Path) -> None:
    rows = checked(tmp_path, StaffKind.STAFF)

    records = staff_records(StaffKind.STAFF, rows, [LYCEE, COLLEGE])

    lycee, college = records.snapshots[LYCEE], records.snapshots[COLLEGE]
    pasteur = "csv:PERSON.m-mmelouispasteur"
    assert {p.source_key for p in college.people} == {pasteur, "csv:PERSON.m-mmesophiegermain"}
    assert {(m.cohort, m.person) for m in college.cohort_members} >= {
        ("farm:csv:0341921D:function:EDU", pasteur)
    }
    assert {c.name for c in lycee.cohorts} == {
        "Direction (0340041K)",
        "Education (0340041K)",
        "Documentation (0340041K)",
    }
    person = next(p for p in college.people if p.source_key == pasteur)
    assert person.establishments == frozenset({LYCEE, COLLEGE})
    assert person.profiles == frozenset({Profile.STAFF})


def test_dir_gives_the_manager_role_where_the_establishment_context_is_known(
    tmp_path: Path,
) -> None:
    rows = checked(tmp_path, StaffKind.STAFF)
    options = RecordOptions(manager_contexts={LYCEE: ("coursecat", "12")})

    lycee = staff_records(StaffKind.STAFF, rows, [LYCEE], options).snapshots[LYCEE]
    without = staff_records(StaffKind.STAFF, rows, [LYCEE]).snapshots[LYCEE]

    assert lycee.role_assignments == (
        RoleAssignment("csv:PERSON.m-mmemariecurie", "manager", "coursecat", "12"),
    )
    assert lycee.warnings == ()
    assert without.role_assignments == ()
    assert [w.message for w in without.warnings] == [
        "function DIR gives the manager role in the establishment, but no context is known "
        "for it: no role given"
    ]


def test_a_cite_scolaire_merge_keeps_one_account_for_a_person_of_two_establishments(
    tmp_path: Path,
) -> None:
    rows = checked(tmp_path, StaffKind.STAFF)
    snapshots = staff_records(StaffKind.STAFF, rows, [LYCEE, COLLEGE]).snapshots

    site = merge_site(list(snapshots.values()))

    pasteur = site.people["csv:PERSON.m-mmelouispasteur"]
    assert pasteur.establishments == frozenset({LYCEE, COLLEGE})
    assert len(site.people) == 4
    # Nothing the two snapshots disagree on: only the DIR role's missing context.
    assert [w.entry for w in site.warnings] == ["csv:PERSON.m-mmemariecurie"]


def test_logins_avoid_those_taken_and_keep_those_given_before(tmp_path: Path) -> None:
    rows = checked(tmp_path, StaffKind.TEACHERS)
    taken = {"fplaton": "sdet:F0800001", "fplaton2": "sdet:F0800002"}
    assigned = {"PERSON.m-mmenicolelavoisier": "nicole.l"}

    records = staff_records(
        StaffKind.TEACHERS, rows, [LYCEE], taken_logins=taken, assigned_logins=assigned
    )

    logins = {r.row.lastname: (r.person.username, r.login_generated) for r in records.report}
    assert logins["PLATON"] == ("fplaton3", True)
    assert logins["LAVOISIER"] == ("nicole.l", False)
    assert logins["DESCARTES"] == ("rdescartes", False)


def test_two_people_whose_logins_would_collide_are_numbered(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        TEACHERS_HEADER[:4],
        [("M", "Martin", "Jean", "Maths"), ("M", "Martin", "Julie", "Maths")],
    )
    rows = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY).rows

    records = staff_records(StaffKind.TEACHERS, rows, [LYCEE])

    assert [r.person.username for r in records.report] == ["jmartin", "jmartin2"]


def test_passwords_are_the_file_s_or_new_and_never_in_a_record(tmp_path: Path) -> None:
    rows = checked(tmp_path, StaffKind.TEACHERS)

    records = staff_records(
        StaffKind.TEACHERS, rows, [LYCEE], existing=["csv:PERSON.m-mmepaulinemozart"]
    )

    by_name = {r.row.lastname: r for r in records.report}
    descartes = by_name["DESCARTES"].password
    assert descartes is not None
    assert descartes.reveal() == "Cogito-1637"
    assert not by_name["DESCARTES"].password_generated
    platon = by_name["PLATON"].password
    assert platon is not None
    assert len(platon.reveal()) == 16
    assert by_name["PLATON"].password_generated
    assert by_name["MOZART"].password is None  # the site has her account already
    assert set(records.passwords) == {r.person.source_key for r in records.report} - {
        "csv:PERSON.m-mmepaulinemozart"
    }
    for snapshot in records.snapshots.values():
        assert platon.reveal() not in repr(snapshot)
    assert staff_records(StaffKind.TEACHERS, rows, [LYCEE], passwords=False).passwords == {
        "csv:PERSON.m-mmerachiddescartes": descartes
    }


def test_the_usertype_of_cfa_sites_comes_from_the_option_or_the_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        [*TEACHERS_HEADER[:4], "Usertype"],
        [("M", "A", "Abel", "Maths", ""), ("M", "B", "Basile", "Maths", "0teacher")],
    )
    rows = check_staff_file(path, StaffKind.TEACHERS, tenant="cfa-occ-montpellier").rows
    options = RecordOptions(usertype=NON_NETYPAREO_TEACHER_USERTYPE)

    snapshot = staff_records(StaffKind.TEACHERS, rows, ["cfa-occ-montpellier"], options).snapshots[
        "cfa-occ-montpellier"
    ]

    assert [p.profile_fields for p in snapshot.people] == [
        {USERTYPE: "_teacher"},
        {USERTYPE: "0teacher"},
    ]
    assert USERTYPE_FIELD == USERTYPE
    plain = staff_records(StaffKind.TEACHERS, rows[:1], ["cfa-occ-montpellier"])
    assert plain.snapshots["cfa-occ-montpellier"].people[0].profile_fields == {}


def test_tenants_not_asked_for_get_no_snapshot_but_stay_establishments(tmp_path: Path) -> None:
    rows = checked(tmp_path, StaffKind.STAFF)

    records = staff_records(StaffKind.STAFF, rows, [COLLEGE])

    assert list(records.snapshots) == [COLLEGE]
    assert len(records.report) == 4  # everyone checked, for the report
    pasteur = next(p for p in records.snapshots[COLLEGE].people if p.lastname == "PASTEUR")
    assert LYCEE in pasteur.establishments


def test_login_and_slug_helpers() -> None:
    assert ascii_login("Éloïse", "D'Argent-Müller") == "edargentmuller"
    assert ascii_login("李", "王") == "staff"
    assert subject_slug("Physique-Chimie") == "physique-chimie"
    assert subject_slug("S.V.T.") == "s-v-t"
