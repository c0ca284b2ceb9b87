"""What can be wrong with a staff CSV file: a whole file refused, or one row's problems.

A :class:`StaffFileError` stops the check: the file is not a CSV of people
the farm can read (binary, empty, a mandatory column missing, the wrong kind
of file). Its message names the file, the line and, when it helps, the
column, as ``FILE:LINE:COLUMN: what is wrong (what to do)``.

A :class:`RowProblem` is one line of the problems table: the line, the
column, the value and the reason. Its :class:`Severity` says what becomes
of the row: a *conflict* is left out and fails the check (unless conflicts
are skipped), a row *left out* by the seed's rules (a TOS agent) or *merged*
into an earlier row with the same sync key does not, and a *warning* leaves
the row in with its value fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

HIDDEN: Final = "(hidden)"
"""What a problems table shows instead of a password."""


class Severity(StrEnum):
    CONFLICT = "conflict"
    LEFT_OUT = "left out"
    MERGED = "merged"
    WARNING = "warning"

    @property
    def keeps_row(self) -> bool:
        """Whether the row is imported despite the problem (on its own or merged)."""
        return self is Severity.WARNING


class StaffFileError(Exception):
    """The file cannot be checked at all; nothing was read into the farm, nothing written."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.reason = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.reason}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem of one row: ``column`` is 1-based, ``header`` its name (or ``column N``).

    ``value`` is the cell as read, or :data:`HIDDEN` for a password; None
    when the problem is about the whole row.
    """

    line: int
    column: int | None
    header: str
    value: str | None
    reason: str
    severity: Severity = Severity.CONFLICT

    def where(self, path: Path | str) -> str:
        """``FILE:LINE:COLUMN`` (the column left out for a whole-row problem)."""
        text = f"{path}:{self.line}"
        return f"{text}:{self.column}" if self.column is not None else text

    def __str__(self) -> str:
        column = f" [{self.header}]" if self.header else ""
        value = f" {self.value!r}" if self.value is not None else ""
        return f"line {self.line}{column}{value}: {self.reason} ({self.severity})"
