"""The rows of a staff CSV file: separator, header, and one :class:`RawRow` at a time.

The separator is ``;`` unless told otherwise (the seed's default, and what a
French Excel writes). The header is the first line that is not blank, unless
the file has none. Cells are split by the ``csv`` module with ``"`` as the
quote, so a quoted cell may hold the separator or a line break; a row
spanning more than :data:`MAX_ROW_LINES` lines means a quote that never
closes, and refuses the file.

A file written with another separator is refused at its first line, with the
separator it seems to use. A later row that holds no separator of the file
but splits on another one is kept as a row, and the check reports it as
written with mixed separators, naming its line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from farm.staff.encoding import BadLine, TextLines, open_lines
from farm.staff.problems import StaffFileError

DEFAULT_SEPARATOR: Final = ";"
MAX_ROW_LINES: Final = 20
#: Separators other files use, tried when a line does not split on the file's own.
OTHER_SEPARATORS: Final = (";", ",", "\t", "|")
_NAMED: Final = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


def parse_separator(text: str) -> str:
    """A separator as given on the command line: one character, or ``tab``, ``\\t``..."""
    separator = _NAMED.get(text.lower(), text)
    if len(separator) != 1 or separator in "\"'\r\n" or separator.isalnum():
        raise ValueError(
            f"{text!r} is not a separator: give one character such as ';' or ',', or 'tab'"
        )
    return separator


def separator_name(separator: str) -> str:
    """How messages write a separator (``';'``, ``TAB``)."""
    return "TAB" if separator == "\t" else repr(separator)


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as read: its first line, its cells, its text, and why it is badly encoded."""

    line: int
    cells: list[str]
    text: str
    bad_encoding: BadLine | None = None
    """Why a line of the row is not in the file's encoding; its offset is in ``text``."""

    def is_blank(self) -> bool:
        return all(not cell.strip() for cell in self.cells)


def other_separator(text: str, separator: str, wanted: int) -> tuple[str, int] | None:
    """Another separator that splits ``text`` into more cells (``wanted``, else at least 2)."""
    best: tuple[str, int] | None = None
    for candidate in OTHER_SEPARATORS:
        if candidate == separator or candidate not in text:
            continue
        count = len(next(csv.reader([text.rstrip("\r\n")], delimiter=candidate), []))
        if count == wanted and wanted > 1:
            return candidate, count
        if count >= 2 and (best is None or count > best[1]):
            best = (candidate, count)
    return best


class _Feed:
    """The lines of the row being read, so that a row knows its text and its lines."""

    def __init__(self, lines: TextLines) -> None:
        self.lines = lines
        self.pending: list[str] = []

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.pending.append(line)
            if len(self.pending) > MAX_ROW_LINES:
                first = self.lines.line - len(self.pending) + 1
                raise StaffFileError(
                    self.lines.path,
                    f"a quoted cell opened on line {first} is still open {MAX_ROW_LINES} lines on",
                    line=first,
                    hint='a cell starting with " must end with "; write "" for a quote inside',
                )
            yield line


class StaffTable:
    """One staff CSV file, open: ``header`` (None without one) and :meth:`rows`.

    Use it as a context manager; it closes the file. Rows that are blank
    (only separators and spaces) are not given.
    """

    def __init__(self, path: Path, *, separator: str = DEFAULT_SEPARATOR, header: bool = True):
        self.path = path
        self.separator = separator
        self._binary: BinaryIO
        self._binary, self._lines = open_lines(path)
        self._feed = _Feed(self._lines)
        self._reader = csv.reader(self._feed, delimiter=separator, quotechar='"', strict=False)
        self.header: list[str] | None = None
        self.header_line = 0
        self._first: RawRow | None = None
        try:
            first = self._next()
            if first is None:
                raise StaffFileError(path, "the file holds only blank lines: nothing to import")
            self._check_separator(first)
            if header:
                self.header = [cell.strip().strip("*").strip() for cell in first.cells]
                self.header_line = first.line
            else:
                self._first = first
        except BaseException:
            self.close()
            raise

    @property
    def encoding(self) -> str:
        """The file's encoding as found so far (final once every row was read)."""
        return self._lines.encoding

    def _check_separator(self, first: RawRow) -> None:
        if len(first.cells) > 1:
            return
        found = other_separator(first.text, self.separator, 0)
        if found is not None:
            candidate, count = found
            raise StaffFileError(
                self.path,
                f"no {separator_name(self.separator)} on the first line, but {count} cells "
                f"split on {separator_name(candidate)}: the file uses another separator",
                line=first.line,
                hint=f"give --separator {'tab' if candidate == chr(9) else candidate!r}",
            )

    def _next(self) -> RawRow | None:
        """The next row that is not blank, or None at the end of the file."""
        lines, feed = self._lines, self._feed
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise StaffFileError(
                    self.path, f"not readable as CSV: {exc}", line=lines.line
                ) from None
            first = lines.line - len(feed.pending) + 1
            text = "".join(feed.pending)
            bad = None
            if lines.bad_lines:
                before = 0
                for number, line in enumerate(feed.pending, start=first):
                    found = lines.bad_lines.pop(number, None)
                    if found is not None and bad is None:
                        bad = BadLine(found.reason, before + found.offset)
                    before += len(line)
            feed.pending.clear()
            row = RawRow(first, cells, text, bad)
            if not row.is_blank() or bad is not None:
                return row

    def rows(self) -> Iterator[RawRow]:
        """The data rows, in file order, one at a time."""
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while (row := self._next()) is not None:
            yield row

    def close(self) -> None:
        self._binary.close()

    def __enter__(self) -> StaffTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
