"""Every CSV cell the farm writes is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from farm.csv_cells import safe_cell, write_rows


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"],
)
def test_a_cell_a_spreadsheet_would_evaluate_becomes_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Dupont", "", "Jean-Pierre", "a=b", " =x", "'quoted"])
def test_other_text_is_left_alone(text: str) -> None:
    assert safe_cell(text) == text


def test_numbers_none_and_booleans() -> None:
    assert safe_cell(-3) == -3
    assert safe_cell(1.5) == 1.5
    assert safe_cell(None) == ""
    assert safe_cell(True) == "true"


def test_write_rows_neutralises_every_cell_and_counts_rows() -> None:
    out = io.StringIO()
    count = write_rows(out, ["name", "n"], [["=cmd|' /C calc'!A0", 2], ["Durand", -1]])
    assert count == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["name", "n"], ["'=cmd|' /C calc'!A0", "2"], ["Durand", "-1"]]
    assert out.getvalue().endswith("\n")
    assert "\r\n" not in out.getvalue()
