"""Separators, headers, quoted cells and blank lines of a staff file."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.staff.problems import StaffFileError
from farm.staff.table import MAX_ROW_LINES, StaffTable, parse_separator


def table(tmp_path: Path, text: str, **options: object) -> tuple[list[str] | None, list[list[str]]]:
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    with StaffTable(path, **options) as opened:  # type: ignore[arg-type]
        return opened.header, [row.cells for row in opened.rows()]


def test_the_header_is_the_first_line_that_is_not_blank(tmp_path: Path) -> None:
    header, rows = table(tmp_path, "\n;;\n Nom* ;Prénom\nDUPONT;Jean\n;\n\nMARTIN;Anne\n")

    assert header == ["Nom", "Prénom"]
    assert rows == [["DUPONT", "Jean"], ["MARTIN", "Anne"]]


def test_without_a_header_every_row_is_data(tmp_path: Path) -> None:
    header, rows = table(tmp_path, "DUPONT;Jean\nMARTIN;Anne\n", header=False)

    assert header is None
    assert rows == [["DUPONT", "Jean"], ["MARTIN", "Anne"]]


def test_a_quoted_cell_holds_the_separator_and_a_line_break(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text('Nom;Adresse\nDUPONT;"1; rue\nde la Paix"\nMARTIN;x\n', encoding="utf-8")

    with StaffTable(path) as opened:
        rows = list(opened.rows())

    assert rows[0].cells == ["DUPONT", "1; rue\nde la Paix"]
    assert (rows[0].line, rows[1].line) == (2, 4)


def test_a_quote_that_never_closes_refuses_the_file_at_its_line(tmp_path: Path) -> None:
    text = 'Nom;Prénom\nDUPONT;Jean\n"MARTIN;Anne\n' + "x;y\n" * (MAX_ROW_LINES + 5)

    with pytest.raises(StaffFileError) as caught:
        table(tmp_path, text)

    assert caught.value.line == 3
    assert "a quoted cell opened on line 3 is still open" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(";", ";"), (",", ","), ("tab", "\t"), ("\\t", "\t"), ("TAB", "\t"), ("|", "|")],
)
def test_separators_by_character_or_name(text: str, expected: str) -> None:
    assert parse_separator(text) == expected


@pytest.mark.parametrize("text", ["", ";;", "a", "1", '"', "\n"])
def test_what_cannot_separate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a separator"):
        parse_separator(text)


def test_a_file_with_another_separator_is_refused_at_its_first_line(tmp_path: Path) -> None:
    with pytest.raises(StaffFileError) as caught:
        table(tmp_path, "Civilité,Nom,Prénom,Matière\nM,PLATON,Francis,Philosophie\n")

    message = str(caught.value)
    assert caught.value.line == 1
    assert "no ';' on the first line, but 4 cells split on ','" in message
    assert "give --separator ','" in message


def test_the_given_separator_is_used(tmp_path: Path) -> None:
    header, rows = table(tmp_path, "Nom\tPrénom\nDUPONT\tJean\n", separator="\t")

    assert header == ["Nom", "Prénom"]
    assert rows == [["DUPONT", "Jean"]]


def test_only_blank_lines_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StaffFileError, match="only blank lines"):
        table(tmp_path, "\n;;;\n \n")
