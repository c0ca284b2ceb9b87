"""Which column of the file holds which field: found from the header, given, or by position.

:func:`map_columns` matches each header to a field by its synonyms
(:mod:`farm.staff.fields`); a mapping given explicitly (``--columns``, or a
saved column profile) overrides it field by field. A file without a header
is read by position, in the order of the seed's field lists
(:data:`~farm.staff.fields.POSITIONAL`), again overridden by what is given.

The file is refused, naming its header line, when a mandatory field has no
column, when two columns name the same field, and when the header shows the
file is of the other kind (a teachers file checked as staff, or the reverse)
or a students or parents file, which staff imports do not take (seed 004,
§1: pupils and parents come from the directory only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from farm.staff.fields import (
    KIND_WORDS,
    MANDATORY,
    NOT_FOR,
    POSITIONAL,
    StaffField,
    StaffKind,
    field_of_header,
    header_key,
    header_words,
)
from farm.staff.problems import StaffFileError

ColumnRef = str | int
"""A column as given: its header text, or its number (1 for the first)."""

Origin = Literal["header", "given", "position"]


@dataclass(frozen=True, slots=True)
class Column:
    """One mapped column: ``index`` is 0-based, ``header`` its text (or ``column N``)."""

    field: StaffField
    index: int
    header: str
    origin: Origin

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True, slots=True)
class IgnoredColumn:
    index: int
    header: str
    reason: str

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """The fields of one file and the columns that hold them, and the columns left aside."""

    kind: StaffKind
    columns: Mapping[StaffField, Column]
    ignored: tuple[IgnoredColumn, ...]
    width: int
    has_header: bool

    def index(self, staff_field: StaffField) -> int | None:
        column = self.columns.get(staff_field)
        return None if column is None else column.index

    def header_of(self, index: int) -> str:
        for column in self.columns.values():
            if column.index == index:
                return column.header
        return f"column {index + 1}"

    def used(self) -> list[Column]:
        """The mapped columns in file order."""
        return sorted(self.columns.values(), key=lambda c: c.index)

    def given_form(self) -> dict[StaffField, ColumnRef]:
        """The mapping as one would give it: headers for a file with one, numbers otherwise."""
        return {
            c.field: (c.header if self.has_header else c.number)
            for c in self.used()
            if c.field is not StaffField.SYNC_KEY
        }


def parse_columns(text: str) -> dict[StaffField, ColumnRef | None]:
    """``lastname=Nom enseignant,firstname=3,email=`` as a mapping (empty: not mapped).

    Fields are named in the farm's words (``lastname``) or by any header
    synonym (``nom``). Raises ValueError naming the entry that is wrong.
    """
    given: dict[StaffField, ColumnRef | None] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        name, sep, ref = entry.partition("=")
        if not sep:
            raise ValueError(f"--columns: {entry!r} is not FIELD=COLUMN")
        staff_field = field_named(name.strip())
        if staff_field is None:
            known = ", ".join(f.value for f in StaffField)
            raise ValueError(f"--columns: {name.strip()!r} is no field; fields: {known}")
        if staff_field in given:
            raise ValueError(f"--columns: {staff_field} is given twice")
        ref = ref.strip()
        given[staff_field] = int(ref) if ref.isdigit() else (ref or None)
        if given[staff_field] == 0:
            raise ValueError(f"--columns: {entry!r}: columns are numbered from 1")
    return given


def field_named(name: str) -> StaffField | None:
    """A field by its own name (``lastname``) or a header synonym (``Nom``)."""
    try:
        return StaffField(name.lower())
    except ValueError:
        return field_of_header(name)


def map_columns(
    path: Path,
    kind: StaffKind,
    header: Sequence[str] | None,
    width: int,
    *,
    given: Mapping[StaffField, ColumnRef | None] | None = None,
    header_line: int = 1,
) -> ColumnMap:
    """The column map of a file whose header is ``header`` (None: no header, ``width`` cells).

    Raises :class:`StaffFileError` naming the file and the header line when
    the file cannot be mapped.
    """
    given = given or {}
    if header is not None:
        _refuse_pupils(path, header, header_line)
        found, ignored = _from_header(path, header, header_line, frozenset(given))
        width = len(header)
    else:
        found = {
            f: Column(f, i, f"column {i + 1}", "position")
            for i, f in enumerate(POSITIONAL[kind])
            if i < width
        }
        ignored = {}
    for staff_field, ref in given.items():
        index = _index_of(path, ref, header, header_line) if ref is not None else None
        before = found.pop(staff_field, None)
        if before is not None and before.index != index:
            reason = (
                f"--columns leaves {staff_field} out"
                if index is None
                else f"--columns gave {staff_field} another column"
            )
            ignored[before.index] = IgnoredColumn(before.index, before.header, reason)
        if index is None:
            continue
        for other, column in list(found.items()):
            if column.index == index:
                del found[other]
        ignored.pop(index, None)
        named = header is not None and index < len(header)
        label = header[index] if header is not None and named else f"column {index + 1}"
        found[staff_field] = Column(staff_field, index, label, "given")
    missing = [f for f in MANDATORY[kind] if f not in found]
    if missing:
        _refuse_missing(path, kind, header, header_line, missing, given)
    for staff_field in [f for f in found if NOT_FOR.get(f) is kind]:
        column = found.pop(staff_field)
        ignored[column.index] = IgnoredColumn(
            column.index, column.header, f"a {kind} file has no {staff_field}"
        )
    if header is None:
        # Columns past the positional fields hold nothing the farm reads.
        used = {c.index for c in found.values()}
        for index in range(width):
            if index not in used:
                ignored[index] = IgnoredColumn(index, f"column {index + 1}", "not mapped")
    return ColumnMap(
        kind=kind,
        columns=dict(sorted(found.items(), key=lambda item: item[1].index)),
        ignored=tuple(ignored[i] for i in sorted(ignored)),
        width=width,
        has_header=header is not None,
    )


def _from_header(
    path: Path, header: Sequence[str], header_line: int, given: frozenset[StaffField]
) -> tuple[dict[StaffField, Column], dict[int, IgnoredColumn]]:
    found: dict[StaffField, Column] = {}
    ignored: dict[int, IgnoredColumn] = {}
    for index, text in enumerate(header):
        if not text:
            ignored[index] = IgnoredColumn(index, f"column {index + 1}", "no header")
            continue
        staff_field = field_of_header(text)
        if staff_field is None:
            ignored[index] = IgnoredColumn(index, text, "no field of that name")
            continue
        if staff_field is StaffField.SYNC_KEY:
            ignored[index] = IgnoredColumn(index, text, "sync keys are made by the farm")
            continue
        first = found.get(staff_field)
        if first is not None and staff_field in given:
            ignored[index] = IgnoredColumn(index, text, f"another {staff_field} column")
            continue
        if first is not None:
            raise StaffFileError(
                path,
                f"columns {first.number} ({first.header!r}) and {index + 1} ({text!r}) "
                f"both name the {staff_field}",
                line=header_line,
                column=index + 1,
                hint=f"say which one with --columns {staff_field}=NUMBER",
            )
        found[staff_field] = Column(staff_field, index, text, "header")
    return found, ignored


def _index_of(path: Path, ref: ColumnRef, header: Sequence[str] | None, header_line: int) -> int:
    if isinstance(ref, int):
        if header is not None and ref > len(header):
            raise StaffFileError(
                path,
                f"--columns names column {ref}, but the header has {len(header)} columns",
                line=header_line,
            )
        return ref - 1
    if header is None:
        raise StaffFileError(
            path, f"--columns names column {ref!r}, but the file has no header: give numbers"
        )
    for index, text in enumerate(header):
        if text == ref.strip():
            return index
    wanted = header_key(ref)
    for index, text in enumerate(header):
        if header_key(text) == wanted:
            return index
    raise StaffFileError(
        path,
        f"--columns names column {ref!r}, which the header does not have "
        f"(it has: {', '.join(repr(h) for h in header)})",
        line=header_line,
    )


def _refuse_pupils(path: Path, header: Sequence[str], header_line: int) -> None:
    for index, text in enumerate(header):
        words = set(header_words(text))
        for who in ("students", "parents"):
            if words & KIND_WORDS[who]:
                raise StaffFileError(
                    path,
                    f"column {text!r} shows a {who} file: staff imports take teachers and "
                    "staff only (students and parents come from the directory)",
                    line=header_line,
                    column=index + 1,
                )


def _refuse_missing(
    path: Path,
    kind: StaffKind,
    header: Sequence[str] | None,
    header_line: int,
    missing: list[StaffField],
    given: Mapping[StaffField, ColumnRef | None],
) -> None:
    names = " and ".join(f.value for f in missing)
    if header is None:
        raise StaffFileError(
            path,
            f"no column for {names}, mandatory in a {kind} file "
            f"(the file has {len(missing)} columns too few, or --columns unmapped them)",
            line=1,
            hint="name the columns with --columns FIELD=NUMBER",
        )
    other = kind.other
    fields_there = {field_of_header(text) for text in header}
    if fields_there <= {None} and not given:
        shown = ", ".join(repr(h) for h in header[:4] if h)
        raise StaffFileError(
            path,
            f"line {header_line} does not look like a header: no column name is known ({shown})",
            line=header_line,
            hint="give --no-header if the file has none, or name the columns with --columns",
        )
    own_words = other_words = 0
    for text in header:
        words = set(header_words(text))
        own_words += bool(words & KIND_WORDS[kind])
        other_words += bool(words & KIND_WORDS[other])
    if all(f in fields_there for f in MANDATORY[other]) or other_words > own_words:
        raise StaffFileError(
            path,
            f"this is a {other} file, not a {kind} file: it has no {names} column, and its "
            f"header ({', '.join(repr(h) for h in header if h)}) is a {other} file's",
            line=header_line,
            hint=f"check it with --profile {other}",
        )
    unmapped = [f.value for f in missing if f in given]
    raise StaffFileError(
        path,
        f"no column for {names}, mandatory in a {kind} file "
        f"(the header has: {', '.join(repr(h) for h in header if h)})"
        + (f"; --columns unmapped {', '.join(unmapped)}" if unmapped else ""),
        line=header_line,
        hint="rename the column, or give it with --columns FIELD=HEADER",
    )
