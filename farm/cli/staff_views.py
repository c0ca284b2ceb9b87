"""What ``farm staff check`` and ``farm staff import`` share: options read, tables printed, JSON.

The layout of a file (kind, separator, header, column map) comes from the
options or a saved column profile; the tenant named by ``--tenant`` is
found in any case. The check's report (how the file was read, the column
map, the problems, the summary) is printed the same way by both commands,
and its JSON is the same object. Passwords are never shown: a problem
about one says ``(hidden)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from farm.cli.context import fail
from farm.config import Farm
from farm.config.selection import close_matches
from farm.staff import (
    DEFAULT_SEPARATOR,
    ColumnProfile,
    ColumnProfileError,
    ColumnRef,
    StaffCheck,
    StaffField,
    StaffFileError,
    StaffKind,
    is_profile_name,
    load_profile,
    parse_columns,
    parse_separator,
    separator_name,
)

SHOWN_PROBLEMS = 200
"""Problems printed in the table; --json lists every one."""


@dataclass(frozen=True, slots=True)
class StaffLayout:
    """How to read the file: from the options, else a saved profile, else the defaults."""

    kind: StaffKind
    separator: str
    header: bool
    columns: dict[StaffField, ColumnRef | None]


def read_layout(
    farm: Farm, kind: str | None, separator: str | None, no_header: bool, columns: str | None
) -> StaffLayout:
    given: dict[StaffField, ColumnRef | None] = {}
    profile: ColumnProfile | None = None
    if columns and is_profile_name(columns):
        try:
            profile = load_profile(farm.root, columns)
        except ColumnProfileError as error:
            fail(f"--columns {columns}: {error}")
        if kind is not None and kind != profile.kind.value:
            fail(f"--columns {columns} is a profile of {profile.kind} files, not of {kind} files")
        # A profile is the whole map: what it does not name stays unmapped.
        given = {f: profile.columns.get(f) for f in StaffField}
    elif columns:
        try:
            given = parse_columns(columns)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--columns") from None
    chosen = StaffKind(kind) if kind else (profile.kind if profile else None)
    if chosen is None:
        raise click.UsageError("say which kind of file it is: --profile teachers or staff")
    try:
        sep = parse_separator(separator) if separator else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--separator") from None
    return StaffLayout(
        chosen,
        sep or (profile.separator if profile else DEFAULT_SEPARATOR),
        not no_header and (profile.header if profile else True),
        given,
    )


def tenant_of(farm: Farm, text: str) -> str:
    found = next((c for c in (text, text.upper()) if c in farm.tenants), None)
    if found is None:
        close = close_matches(text, farm.tenants)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        fail(f"--tenant: no tenant {text!r} in the farm{hint}; 'farm tenants list' shows them all")
    return found


def console() -> Console:
    console = Console()
    # Piped output (scripts, less) gets the full width instead of 80 folded columns.
    return console if console.is_terminal else Console(width=200)


def shown(value: str | None) -> Text:
    if value is None:
        return Text("")
    text = value if value.isprintable() else repr(value)[1:-1]
    return Text(text if len(text) <= 60 else text[:57] + "...")


def print_read(out: Console, result: StaffCheck) -> None:
    """How the file was read, its column map, its problems and notes."""
    console = out
    header = "header on the first line" if result.columns.has_header else "no header"
    console.print(
        Text(
            f"{result.path}: {result.kind} file, {result.encoding}, "
            f"separator {separator_name(result.separator)}, {header}"
        )
    )
    mapping = Table(title="Columns")
    for name in ("field", "column", "header", "from"):
        mapping.add_column(name)
    for column in result.columns.used():
        mapping.add_row(column.field.value, str(column.number), Text(column.header), column.origin)
    for ignored in result.columns.ignored:
        mapping.add_row(
            "-", str(ignored.number), Text(ignored.header), f"ignored: {ignored.reason}"
        )
    console.print(mapping)
    if result.problems:
        problems = Table(title=Text(f"{len(result.problems)} problems in {result.path}"))
        for name in ("line", "column", "value", "reason", "what happens"):
            problems.add_column(name, overflow="fold")
        for problem in result.problems[:SHOWN_PROBLEMS]:
            where = f"{problem.column} {problem.header}" if problem.column else ""
            problems.add_row(
                str(problem.line),
                Text(where),
                shown(problem.value),
                Text(problem.reason),
                problem.severity.value,
            )
        console.print(problems)
        if len(result.problems) > SHOWN_PROBLEMS:
            console.print(f"... and {len(result.problems) - SHOWN_PROBLEMS} more: --json lists all")
    for note in result.notes:
        console.print(Text(f"note: {note}"))


def summary_table(farm: Farm, result: StaffCheck) -> Table:
    """The check's summary (establishments, profile, rows, columns); callers add their rows."""
    summary = Table(title="Summary", show_header=False)
    summary.add_column(style="bold")
    summary.add_column()
    for tenant, count in sorted(result.per_tenant.items()):
        name = farm.tenants[tenant].name if tenant in farm.tenants else tenant
        summary.add_row("establishment", Text(f"{tenant} {name}: {count} people"))
    summary.add_row("profile", result.kind.value)
    summary.add_row("rows read", str(result.read))
    summary.add_row("rows to import", str(result.accepted))
    summary.add_row(
        "rows left out",
        f"{result.not_imported} ({result.conflicts} in conflict, {result.left_out} not exported, "
        f"{result.merged} merged into an earlier row)",
    )
    used = ", ".join(c.field.value for c in result.columns.used())
    ignored = ", ".join(c.header for c in result.columns.ignored) or "none"
    summary.add_row("columns used", Text(f"{len(result.columns.columns)}: {used}"))
    summary.add_row("columns ignored", Text(ignored))
    return summary


def rows_word(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


# -- JSON -----------------------------------------------------------------------------------


def error_json(error: StaffFileError) -> dict[str, Any]:
    return {
        "line": error.line,
        "column": error.column,
        "reason": error.reason,
        "hint": error.hint,
        "message": str(error),
    }


def check_json(farm: Farm, result: StaffCheck, ok: bool) -> dict[str, Any]:
    return {
        "file": str(result.path),
        "ok": ok,
        "profile": result.kind.value,
        "encoding": result.encoding,
        "separator": result.separator,
        "header": result.columns.has_header,
        "tenant": result.tenant,
        "columns": [
            {"field": c.field.value, "column": c.number, "header": c.header, "from": c.origin}
            for c in result.columns.used()
        ],
        "ignored": [
            {"column": c.number, "header": c.header, "reason": c.reason}
            for c in result.columns.ignored
        ],
        "problems": [
            {
                "line": p.line,
                "column": p.column,
                "header": p.header,
                "value": p.value,
                "reason": p.reason,
                "severity": p.severity.value,
            }
            for p in result.problems
        ],
        "notes": list(result.notes),
        "summary": {
            "rows": result.read,
            "to_import": result.accepted,
            "not_imported": result.not_imported,
            "conflicts": result.conflicts,
            "left_out": result.left_out,
            "merged": result.merged,
            "establishments": {
                tenant: {
                    "name": farm.tenants[tenant].name if tenant in farm.tenants else tenant,
                    "people": count,
                }
                for tenant, count in sorted(result.per_tenant.items())
            },
        },
    }
