"""Steps 1 to 3 of a staff import in one call: load the file, map its columns, check every row.

:func:`check_staff_file` reads the file once, row by row, and returns a
:class:`StaffCheck`: how it was read (encoding, separator, header), the
column map, every problem found, the counts and, when asked, the accepted
rows, ready for :func:`farm.staff.records.staff_records`. It writes nothing
anywhere. A file that cannot be read as a staff file at all raises
:class:`~farm.staff.problems.StaffFileError` instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from farm.staff.columns import ColumnMap, ColumnRef, map_columns
from farm.staff.encoding import ASCII, UTF8
from farm.staff.fields import StaffField, StaffKind
from farm.staff.problems import RowProblem, Severity, StaffFileError
from farm.staff.rows import RowChecker, StaffRow
from farm.staff.table import DEFAULT_SEPARATOR, StaffTable


@dataclass(frozen=True)
class StaffCheck:
    """What checking one staff file found.

    ``read`` counts the rows that are not blank; each lands in exactly one
    of ``accepted`` (a person to import), ``conflicts`` (left out for a
    problem), ``left_out`` (left out by the seed's rules: TOS agents) and
    ``merged`` (folded into an earlier row of the same sync key).
    ``per_tenant`` counts the people of each establishment. ``rows`` is
    empty unless the check kept them.
    """

    path: Path
    kind: StaffKind
    encoding: str
    separator: str
    columns: ColumnMap
    tenant: str | None
    problems: tuple[RowProblem, ...]
    rows: tuple[StaffRow, ...]
    read: int
    accepted: int
    conflicts: int
    left_out: int
    merged: int
    per_tenant: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def has_conflicts(self) -> bool:
        return self.conflicts > 0

    @property
    def not_imported(self) -> int:
        """Rows that do not become a person of their own (conflicts, left out, merged)."""
        return self.conflicts + self.left_out + self.merged

    def problems_of(self, severity: Severity) -> list[RowProblem]:
        return [p for p in self.problems if p.severity is severity]


def check_staff_file(
    path: Path,
    kind: StaffKind,
    *,
    tenant: str | None = None,
    tenants: Collection[str] | None = None,
    separator: str = DEFAULT_SEPARATOR,
    header: bool = True,
    given: Mapping[StaffField, ColumnRef | None] | None = None,
    taken_logins: Mapping[str, str] | None = None,
    today: date | None = None,
    keep_rows: bool = True,
) -> StaffCheck:
    """Load, map and check ``path`` as a ``kind`` file (seed 004, steps 1 to 3).

    ``tenant`` is the establishment of rows without an RNE/UAI cell;
    ``tenants`` the tenant ids an RNE/UAI cell may name (None: any valid
    UAI). ``given`` overrides the column map field by field (see
    :func:`~farm.staff.columns.map_columns`). ``taken_logins`` maps logins
    already held in the directory or on the site to their holder's source
    key: a row giving one of them is a conflict, unless it is that holder.
    ``keep_rows=False`` checks without keeping the rows (``rows`` is empty),
    in the memory of the sync keys and logins only.
    """
    with StaffTable(path, separator=separator, header=header) as table:
        first_row = None
        width = len(table.header) if table.header is not None else 0
        rows = table.rows()
        if table.header is None:
            first_row = next(rows, None)
            width = len(first_row.cells) if first_row is not None else 0
        columns = map_columns(
            path, kind, table.header, width, given=given, header_line=table.header_line or 1
        )
        checker = RowChecker(
            columns,
            separator=separator,
            tenant=tenant,
            tenants=tenants,
            taken_logins=taken_logins,
            today=today or date.today(),
            keep_rows=keep_rows,
        )
        if first_row is not None:
            checker.check(first_row)
        for row in rows:
            checker.check(row)
        encoding = table.encoding
    if checker.read == 0:
        raise StaffFileError(
            path,
            "the header is the only line: no row to import",
            line=table.header_line,
        )
    notes: list[str] = []
    if kind is StaffKind.STAFF and checker.function_codes_seen == 0:
        notes.append(
            "no row has a function code of the seed's table: is this a teachers file "
            "(--profile teachers)?"
        )
    return StaffCheck(
        path=path,
        kind=kind,
        encoding=_final(encoding),
        separator=separator,
        columns=columns,
        tenant=tenant,
        problems=tuple(checker.problems),
        rows=tuple(checker.rows.values()),
        read=checker.read,
        accepted=checker.accepted,
        conflicts=checker.conflicts,
        left_out=checker.left_out,
        merged=checker.merged,
        per_tenant=dict(checker.per_tenant),
        notes=tuple(notes),
    )


def _final(encoding: str) -> str:
    # A file that never left ASCII reads the same in UTF-8 and Windows-1252.
    return f"{UTF8} (ASCII only)" if encoding == ASCII else encoding
