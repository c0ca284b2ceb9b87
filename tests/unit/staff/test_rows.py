"""Every row checked, every problem reported at once, duplicates folded as the seed says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from farm.staff import StaffKind, check_staff_file
from farm.staff.problems import HIDDEN, RowProblem, Severity
from tests.staff_files import (
    COLLEGE,
    ENCODINGS,
    LYCEE,
    STAFF,
    STAFF_HEADER,
    TEACHERS,
    TEACHERS_HEADER,
    write_csv,
)

TODAY = date(2026, 9, 1)
TENANTS = (LYCEE, COLLEGE)


def problems(path: Path, kind: StaffKind = StaffKind.TEACHERS, **options: object) -> list[str]:
    check = check_staff_file(path, kind, today=TODAY, **options)  # type: ignore[arg-type]
    return [str(p) for p in check.problems]


def teachers(tmp_path: Path, *rows: tuple[str, ...], encoding: str = "utf-8") -> Path:
    return write_csv(tmp_path / "teachers.csv", TEACHERS_HEADER, rows, encoding=encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_seed_teachers_file_passes_in_every_encoding(tmp_path: Path, encoding: str) -> None:
    path = teachers(tmp_path, *TEACHERS, encoding=encoding)

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert check.problems == ()
    assert (check.read, check.accepted, check.conflicts) == (5, 5, 0)
    first, *_, last = check.rows
    assert first.sync_key == "PERSON.m-mmefrancisplaton"
    assert (first.civility, first.postcode, first.birthdate) == ("M.", "06000", date(1971, 3, 12))
    assert first.assignments == [(LYCEE, "Philosophie")]
    assert (last.civility, last.lastname, last.firstname) == ("Mlle", "CŒUR", "Hélène")
    assert last.sync_key == "PERSON.m-mmehelenecoeur"
    assert check.rows[1].password is not None
    assert check.rows[1].password.reveal() == "Cogito-1637"
    assert check.per_tenant == {LYCEE: 5}


def test_every_problem_of_a_row_is_reported_with_its_column_and_value(tmp_path: Path) -> None:
    path = teachers(tmp_path, ("Dr", "", "Jean", "", "", "", "", "jean@", "30/02/1980"))

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert [(p.line, p.column, p.header, p.value) for p in check.problems] == [
        (2, 2, "Nom enseignant", ""),
        (2, 4, "Matière enseignant", ""),
        (2, 1, "Civilité enseignant", "Dr"),
        (2, 8, "Adresse e-mail enseignant", "jean@"),
        (2, 9, "Date de naissance enseignant", "30/02/1980"),
    ]
    assert check.problems[0].reason == "empty: mandatory in a teachers file"
    assert {p.severity for p in check.problems} == {Severity.CONFLICT}
    assert (check.read, check.accepted, check.conflicts) == (1, 0, 1)
    assert check.problems[0].where(path) == f"{path}:2:2"


def test_login_and_password_go_together_and_passwords_are_never_shown(tmp_path: Path) -> None:
    path = teachers(
        tmp_path,
        ("M", "A", "Abel", "Maths", "aabel", "", "", "", ""),
        ("M", "B", "Basile", "Maths", "", "s3cr3t-value", "", "", ""),
        ("M", "C", "Cyril", "Maths", "ccyril", "xy", "", "", ""),
    )

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert [(p.line, p.header, p.value, p.reason) for p in check.problems] == [
        (2, "Nom utilisateur enseignant", "aabel",
         "a login and a password go together: this row has no password"),
        (3, "Mot de passe enseignant", HIDDEN,
         "a login and a password go together: this row has no login"),
        (4, "Mot de passe enseignant", HIDDEN, "a password has at least 3 characters"),
    ]  # fmt: skip
    assert "s3cr3t-value" not in repr(check)


def test_a_login_held_in_the_directory_or_on_the_site_is_refused(tmp_path: Path) -> None:
    path = teachers(
        tmp_path,
        ("M", "A", "Abel", "Maths", "aabel", "pass-a", "", "", ""),
        ("M", "B", "Basile", "Maths", "bbasile", "pass-b", "", "", ""),
    )
    taken = {"aabel": "sdet:F08001ab", "bbasile": "csv:PERSON.m-mmebasileb"}

    check = check_staff_file(
        path, StaffKind.TEACHERS, tenant=LYCEE, taken_logins=taken, today=TODAY
    )

    # Basile holds his own login already: an update, not a conflict.
    assert [str(p) for p in check.problems] == [
        "line 2 [Nom utilisateur enseignant] 'aabel': login already used in the directory or "
        "on the site (by sdet:F08001ab) (conflict)"
    ]
    assert [r.login for r in check.rows] == ["bbasile"]


def test_one_login_for_two_people_of_the_file_refuses_the_second(tmp_path: Path) -> None:
    path = teachers(
        tmp_path,
        ("M", "A", "Abel", "Maths", "prof", "pass-a", "", "", ""),
        ("M", "B", "Basile", "Maths", "prof", "pass-b", "", "", ""),
    )

    assert problems(path, tenant=LYCEE) == [
        "line 3 [Nom utilisateur enseignant] 'prof': login also given on line 2 (conflict)"
    ]


def test_a_second_row_of_one_sync_key_adds_its_establishment_to_the_first(
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "staff.csv", STAFF_HEADER, STAFF)

    check = check_staff_file(path, StaffKind.STAFF, tenants=TENANTS, today=TODAY)

    assert [str(p) for p in check.problems] == [
        "line 4: same sync key as line 3 (Louis PASTEUR): establishment 0341921D and function "
        "EDU added to line 3, the rest of this line ignored (merged)",
        "line 6 [Fonction du personnel administratif (code)] 'TOS': TOS agents (agents des "
        "collectivités) are not exported: row left out (left out)",
    ]
    pasteur = check.rows[1]
    assert pasteur.assignments == [(LYCEE, "EDU"), (COLLEGE, "EDU")]
    assert pasteur.establishments == (LYCEE, COLLEGE)
    assert pasteur.lines == [3, 4]
    assert (check.read, check.accepted, check.merged, check.left_out) == (6, 4, 1, 1)
    assert check.conflicts == 0
    assert check.not_imported == 2
    assert check.per_tenant == {LYCEE: 3, COLLEGE: 2}


def test_a_row_repeated_as_it_is_is_left_out_as_merged(tmp_path: Path) -> None:
    path = teachers(tmp_path, TEACHERS[0], ("M.", "Platon", "FRANCIS", "Philosophie"))

    assert problems(path, tenant=LYCEE) == [
        "line 3: repeats line 2 (FRANCIS Platon, same sync key): left out (merged)"
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ENS", "ENS (teaching) is not a staff function: teachers go in a teachers file"),
        ("XYZ", "not a function code of the seed's table (FONCTION_FILIERE: DIR, EDU, DOC...)"),
    ],
)
def test_staff_function_codes_come_from_the_seed_table(
    tmp_path: Path, code: str, message: str
) -> None:
    path = write_csv(tmp_path / "s.csv", STAFF_HEADER, [("M", "A", "Abel", code, LYCEE, "")])

    check = check_staff_file(path, StaffKind.STAFF, today=TODAY)

    assert [p.reason for p in check.problems] == [message]
    assert check.conflicts == 1


def test_function_codes_are_read_in_any_case(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", STAFF_HEADER, [("M", "A", "Abel", " dir ", LYCEE, "")])

    check = check_staff_file(path, StaffKind.STAFF, today=TODAY)

    assert check.rows[0].assignments == [(LYCEE, "DIR")]


def test_establishments_come_from_the_rne_column_or_the_tenant(tmp_path: Path) -> None:
    rows = [
        ("M", "A", "Abel", "EDU", "0340041X", ""),
        ("M", "B", "Basile", "EDU", "0290009C", ""),
        ("M", "C", "Cyril", "EDU", "", ""),
        ("M", "D", "Denis", "EDU", "0341921d", ""),
    ]
    path = write_csv(tmp_path / "s.csv", STAFF_HEADER, rows)

    check = check_staff_file(path, StaffKind.STAFF, tenants=TENANTS, today=TODAY)

    assert [(p.line, p.reason) for p in check.problems] == [
        (2, "0340041X has a wrong check letter: it should end in K"),
        (3, "0290009C is not a tenant of the farm"),
        (4, "no establishment: fill the RNE/UAI column or give --tenant"),
    ]
    assert check.rows[0].assignments == [(COLLEGE, "EDU")]

    with_tenant = check_staff_file(path, StaffKind.STAFF, tenant=LYCEE, today=TODAY)
    assert [r.establishments for r in with_tenant.rows] == [("0290009C",), (LYCEE,), (COLLEGE,)]


def test_cells_that_look_like_formulas_are_kept_as_data(tmp_path: Path) -> None:
    path = teachers(
        tmp_path,
        ("M", '=HYPERLINK("http://x")', "+Jean", "-Maths", "", "", "", "", ""),
        ("M", "@SUM(A1)", "\tAnne", "Maths", "", "", "", "", ""),
    )

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert check.problems == ()
    assert [(r.lastname, r.firstname) for r in check.rows] == [
        ('=HYPERLINK("http://x")', "+Jean"),
        ("@SUM(A1)", "Anne"),
    ]
    assert check.rows[0].assignments == [(LYCEE, "-Maths")]


def test_a_row_with_more_cells_than_the_header_is_a_conflict(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        TEACHERS_HEADER[:4],
        [("M", "A", "Abel", "Maths", "", ""), ("M", "B", "Basile", "Maths", "extra")],
    )

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert [(p.line, p.column, p.reason) for p in check.problems] == [
        (3, None, "5 cells where the header has 4: a separator inside a cell that is not "
                  "between quotes?"),
    ]  # fmt: skip
    assert check.accepted == 1


def test_a_row_with_another_separator_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Civilité;Nom;Prénom;Matière\nM;A;Abel;Maths\nM,B,Basile,Maths\nM;C;Cyril;Maths\n",
        encoding="utf-8",
    )

    assert problems(path, tenant=LYCEE) == [
        "line 3: cells separated by ',', the file's separator is ';': the file mixes "
        "separators (conflict)"
    ]


def test_postal_codes_that_lost_their_zero_are_kept_with_a_warning(tmp_path: Path) -> None:
    path = teachers(tmp_path, ("M", "A", "Abel", "Maths", "", "", "6000", "", ""))

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert [p.severity for p in check.problems] == [Severity.WARNING]
    assert check.rows[0].postcode == "06000"
    assert check.accepted == 1


def test_checking_without_keeping_rows_finds_the_same(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "staff.csv", STAFF_HEADER, STAFF)

    kept = check_staff_file(path, StaffKind.STAFF, tenants=TENANTS, today=TODAY)
    light = check_staff_file(path, StaffKind.STAFF, tenants=TENANTS, today=TODAY, keep_rows=False)

    assert light.rows == ()
    assert light.problems == kept.problems
    assert (light.accepted, light.merged, light.per_tenant) == (
        kept.accepted, kept.merged, kept.per_tenant,
    )  # fmt: skip


def test_a_staff_file_of_subjects_is_hinted_to_be_a_teachers_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", None, [("M", "A", "Abel", "Philosophie")])

    check = check_staff_file(path, StaffKind.STAFF, tenant=LYCEE, header=False, today=TODAY)

    assert check.conflicts == 1
    assert check.notes == (
        "no row has a function code of the seed's table: is this a teachers file "
        "(--profile teachers)?",
    )


def test_problem_text_names_line_column_and_value() -> None:
    problem = RowProblem(7, 3, "Nom", "x", "why")

    assert problem.where("f.csv") == "f.csv:7:3"
    assert str(problem) == "line 7 [Nom] 'x': why (conflict)"
