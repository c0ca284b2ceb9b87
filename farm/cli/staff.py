"""``farm staff``: staff CSV files (teachers and staff the directory lacks), checked before import.

``farm staff check`` runs the seed's first three steps (load, map the
columns, check every row) and prints what an import would take: the column
map, the table of problems, and the summary. It reads the farm only to know
its tenants and writes nothing, except a column profile when asked
(``--save-profile``). Importing, and keeping each establishment's roster in
the registry, come with ``farm staff import``, which is not there yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from farm.cli.context import EXIT_FAILED, CliContext, fail, load_farm_or_fail
from farm.config import Farm
from farm.config.selection import close_matches
from farm.staff import (
    DEFAULT_SEPARATOR,
    ColumnMap,
    ColumnProfile,
    ColumnProfileError,
    ColumnRef,
    StaffCheck,
    StaffField,
    StaffFileError,
    StaffKind,
    check_staff_file,
    is_profile_name,
    load_profile,
    parse_columns,
    parse_separator,
    save_profile,
    separator_name,
)

SHOWN_PROBLEMS = 200
"""Problems printed in the table; --json lists every one."""


@click.group()
def staff() -> None:
    """Staff CSV files: teachers and staff the directory does not carry.

    Contract CPE and nurses, substitutes the directory brings late, people of
    two establishments: establishments send them in CSV files, one file of
    teachers or one of staff at a time (docs/staff-csv.md describes the
    format, the columns and the checks).

    \b
    Example:
      farm staff check remplacants.csv --tenant 0340041K --profile teachers
      farm staff check personnels.csv --profile staff --save-profile vie-scolaire
    """


@staff.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--tenant", metavar="ID", help="Establishment of rows without an RNE/UAI cell.")
@click.option(
    "--profile",
    "kind",
    type=click.Choice([k.value for k in StaffKind]),
    help="The kind of file: teachers (matière) or staff (function code).",
)
@click.option("--separator", metavar="CHAR", help="Cell separator: ';' (default), ',', 'tab'...")
@click.option("--no-header", is_flag=True, help="The first line is a row, not a header.")
@click.option(
    "--columns",
    metavar="MAP|NAME",
    help="FIELD=HEADER or FIELD=NUMBER pairs (lastname=Nom,email=7), or a saved profile's name.",
)
@click.option("--save-profile", metavar="NAME", help="Save the column map as a profile NAME.")
@click.option("--skip-conflicts", is_flag=True, help="Rows in conflict are left out: exit 0.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
def check(
    obj: CliContext,
    file: Path,
    tenant: str | None,
    kind: str | None,
    separator: str | None,
    no_header: bool,
    columns: str | None,
    save_profile: str | None,
    skip_conflicts: bool,
    as_json: bool,
) -> None:
    """Load, map and check a staff CSV FILE, and say what an import would take.

    The encoding is found (UTF-8 with or without BOM, UTF-16, Windows-1252),
    the columns are matched to fields by their headers (or given with
    --columns), and every row is checked at once: mandatory fields,
    civilité, dates, postal codes, logins and passwords, function codes,
    establishments, duplicate sync keys. Each problem names its line, column
    and value; passwords are never shown. Nothing is written but the column
    profile --save-profile asks for.

    Exit code 0 when no row is in conflict (or with --skip-conflicts), 1
    otherwise or when the file cannot be read as a staff file.

    \b
    Example:
      farm staff check remplacants.csv --tenant 0340041K --profile teachers
      farm staff check export.csv --profile staff --separator , --columns function=Code
      farm staff check export.csv --tenant 0340041K --columns vie-scolaire --json
    """
    farm = load_farm_or_fail(obj)
    tenant_id = _tenant(farm, tenant) if tenant else None
    layout = _layout(farm, kind, separator, no_header, columns)
    try:
        result = check_staff_file(
            file,
            layout.kind,
            tenant=tenant_id,
            tenants=list(farm.tenants),
            separator=layout.separator,
            header=layout.header,
            given=layout.columns,
            keep_rows=False,
        )
    except StaffFileError as error:
        if as_json:
            click.echo(json.dumps({"file": str(file), "ok": False, "error": _error_json(error)}))
        fail(f"{error}\nnothing was done.")
    saved = None
    if save_profile:
        saved = _save(farm, save_profile, result.columns, layout.separator)
    ok = not result.has_conflicts or skip_conflicts
    if as_json:
        data = _check_json(farm, result, ok)
        data["saved_profile"] = str(saved) if saved else None
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_check(farm, result, skip_conflicts)
        if saved is not None:
            click.echo(f"column profile saved: {saved} (give it with --columns {save_profile})")
    if not ok:
        raise SystemExit(EXIT_FAILED)


@dataclass(frozen=True, slots=True)
class _StaffLayout:
    """How to read the file: from the options, else a saved profile, else the defaults."""

    kind: StaffKind
    separator: str
    header: bool
    columns: dict[StaffField, ColumnRef | None]


def _layout(
    farm: Farm, kind: str | None, separator: str | None, no_header: bool, columns: str | None
) -> _StaffLayout:
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
    return _StaffLayout(
        chosen,
        sep or (profile.separator if profile else DEFAULT_SEPARATOR),
        not no_header and (profile.header if profile else True),
        given,
    )


def _tenant(farm: Farm, text: str) -> str:
    found = next((c for c in (text, text.upper()) if c in farm.tenants), None)
    if found is None:
        close = close_matches(text, farm.tenants)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        fail(f"--tenant: no tenant {text!r} in the farm{hint}; 'farm tenants list' shows them all")
    return found


def _save(farm: Farm, name: str, columns: ColumnMap, separator: str) -> Path:
    profile = ColumnProfile(
        name, columns.kind, columns.given_form(), separator=separator, header=columns.has_header
    )
    try:
        path, _ = save_profile(farm.root, profile)
    except ColumnProfileError as error:
        fail(f"--save-profile: {error}")
    return path


# -- text -----------------------------------------------------------------------------------


def _console() -> Console:
    console = Console()
    # Piped output (scripts, less) gets the full width instead of 80 folded columns.
    return console if console.is_terminal else Console(width=200)


def _shown(value: str | None) -> Text:
    if value is None:
        return Text("")
    text = value if value.isprintable() else repr(value)[1:-1]
    return Text(text if len(text) <= 60 else text[:57] + "...")


def _print_check(farm: Farm, result: StaffCheck, skip_conflicts: bool) -> None:
    console = _console()
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
                _shown(problem.value),
                Text(problem.reason),
                problem.severity.value,
            )
        console.print(problems)
        if len(result.problems) > SHOWN_PROBLEMS:
            console.print(f"... and {len(result.problems) - SHOWN_PROBLEMS} more: --json lists all")
    for note in result.notes:
        console.print(Text(f"note: {note}"))
    _print_summary(console, farm, result, skip_conflicts)


def _print_summary(console: Console, farm: Farm, result: StaffCheck, skip: bool) -> None:
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
    console.print(summary)
    if result.has_conflicts and not skip:
        console.print(
            f"{_rows(result.conflicts)} in conflict: correct them, or give --skip-conflicts to "
            "leave them out. Nothing was written."
        )
    else:
        left = f", {_rows(result.conflicts)} in conflict left out" if result.conflicts else ""
        console.print(f"ready: {result.accepted} people to import{left}. Nothing was written.")


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


# -- JSON -----------------------------------------------------------------------------------


def _error_json(error: StaffFileError) -> dict[str, Any]:
    return {
        "line": error.line,
        "column": error.column,
        "reason": error.reason,
        "hint": error.hint,
        "message": str(error),
    }


def _check_json(farm: Farm, result: StaffCheck, ok: bool) -> dict[str, Any]:
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
