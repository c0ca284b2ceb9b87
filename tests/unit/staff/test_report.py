"""The report file: owner-only, never overwritten, formulas neutralised, re-readable."""

from __future__ import annotations

import csv
import io
import stat
from datetime import date
from pathlib import Path

from farm.staff import StaffKind, check_staff_file, staff_records, write_report
from farm.staff.report import REPORT_HEADERS
from tests.staff_files import LYCEE, STAFF, STAFF_HEADER, TEACHERS_HEADER, write_csv

TODAY = date(2026, 9, 1)

HOSTILE = (
    ("M", '=HYPERLINK("http://evil")', "+Jean", "@Maths", "", "", "'06000", "", ""),
    ("M", "-DUPONT", "\tAnne", "Maths", "adupont", "=1+1", "", "", "01/02/1980"),
)


def read_report(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))


def report_of(tmp_path: Path, rows: tuple[tuple[str, ...], ...]) -> tuple[Path, list[str]]:
    source = write_csv(tmp_path / "in.csv", TEACHERS_HEADER, rows)
    check = check_staff_file(source, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)
    records = staff_records(StaffKind.TEACHERS, check.rows, [LYCEE])
    path = write_report(tmp_path / "reports" / "0340041K.csv", StaffKind.TEACHERS, records.report)
    passwords = [r.password.reveal() for r in records.report if r.password is not None]
    return path, passwords


def test_the_report_is_owner_only_in_an_owner_only_git_ignored_folder(tmp_path: Path) -> None:
    path, _ = report_of(tmp_path, HOSTILE)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert (path.parent / ".gitignore").read_text(encoding="utf-8") == "*\n"


def test_cells_that_start_a_formula_are_written_as_text(tmp_path: Path) -> None:
    path, passwords = report_of(tmp_path, HOSTILE)

    lines = read_report(path)

    assert lines[0] == list(REPORT_HEADERS[StaffKind.TEACHERS])
    first, second = lines[1], lines[2]
    assert first[2:5] == ['\'=HYPERLINK("http://evil")', "'+Jean", "'@Maths"]
    assert first[11] == "'06000"  # the seed's apostrophe keeps the zero
    assert second[2:4] == ["'-DUPONT", "Anne"]
    assert second[6:8] == ["adupont", "'=1+1"]  # the file's own password, neutralised
    assert second[9] == "01/02/1980"
    assert passwords[1] == "=1+1"
    for line in lines[1:]:
        assert not line[0].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_the_report_has_one_line_per_person_and_establishment(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "s.csv", STAFF_HEADER, STAFF)
    check = check_staff_file(source, StaffKind.STAFF, today=TODAY)
    records = staff_records(StaffKind.STAFF, check.rows, [LYCEE])

    path = write_report(tmp_path / "r.csv", StaffKind.STAFF, records.report)

    lines = read_report(path)
    assert lines[0][4] == "Fonction"
    pasteur = [line for line in lines if line[2] == "PASTEUR"]
    assert [(line[4], line[5]) for line in pasteur] == [("EDU", LYCEE), ("EDU", "0341921D")]
    assert pasteur[0][7] == pasteur[1][7] != ""


def test_the_report_reads_back_as_a_staff_file(tmp_path: Path) -> None:
    path, _ = report_of(tmp_path, HOSTILE)

    again = check_staff_file(path, StaffKind.TEACHERS, today=TODAY)

    assert again.encoding == "UTF-8 with BOM"
    assert [c.field.value for c in again.columns.used()][:4] == [
        "civility", "lastname", "firstname", "subject",
    ]  # fmt: skip
    assert again.columns.ignored[0].header == "Cle synchro"
    assert again.conflicts == 0
    assert [r.establishments for r in again.rows] == [(LYCEE,), (LYCEE,)]


def test_an_existing_file_is_never_written_over_or_through(tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    target.write_text("someone else's\n", encoding="utf-8")
    link = tmp_path / "r-2.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")

    source = write_csv(tmp_path / "in.csv", TEACHERS_HEADER, HOSTILE[:1])
    check = check_staff_file(source, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)
    written = write_report(
        target, StaffKind.TEACHERS, staff_records(StaffKind.TEACHERS, check.rows, [LYCEE]).report
    )

    assert written == tmp_path / "r-3.csv"
    assert target.read_text(encoding="utf-8") == "someone else's\n"
    assert not (tmp_path / "elsewhere.csv").exists()


def test_report_rows_show_no_password_when_printed(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", TEACHERS_HEADER, HOSTILE)
    check = check_staff_file(source, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)
    records = staff_records(StaffKind.TEACHERS, check.rows, [LYCEE])

    shown = repr(records) + str(records.report)

    assert "=1+1" not in shown
    for row in records.report:
        assert row.password is not None
        assert row.password.reveal() not in shown
