"""CSV the farm writes: every text cell safe to open in a spreadsheet.

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a TAB or a carriage
return is taken for a formula by Excel, LibreOffice and Google Sheets when
the file is opened, and a formula can fetch URLs or run commands. Names,
identifiers and reasons in the farm's reports come from directories and
files the farm does not control, so every CSV the farm writes goes through
:func:`safe_cell`: such a cell gets a leading apostrophe, which spreadsheets
show as text and hide. Numbers (``int``, ``float``) are written as they are:
a negative count is a number, not a formula. ``None`` is an empty cell.

Write with :func:`write_rows` (a header and rows) or :class:`SafeWriter`
(rows one at a time); both use ``\\n`` line ends and the ``csv`` module's
quoting.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import TextIO

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str | int | float:
    """``value`` as a CSV cell that no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def safe_row(values: Iterable[object]) -> list[str | int | float]:
    """Every cell of a row through :func:`safe_cell`."""
    return [safe_cell(value) for value in values]


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def row(self, values: Iterable[object]) -> None:
        self._writer.writerow(safe_row(values))


def write_rows(out: TextIO, header: Sequence[str], rows: Iterable[Iterable[object]]) -> int:
    """Write ``header`` then ``rows`` to ``out``; return how many rows (header excluded)."""
    writer = SafeWriter(out)
    writer.row(header)
    count = 0
    for row in rows:
        writer.row(row)
        count += 1
    return count
