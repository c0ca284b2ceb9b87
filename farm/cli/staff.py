"""``farm staff``: staff CSV files (teachers and staff the directory lacks), checked and imported.

``farm staff check`` runs the seed's first three steps (load, map the
columns, check every row) and prints what an import would take: the column
map, the table of problems, and the summary. It reads the farm only to know
its tenants and writes nothing, except a column profile when asked
(``--save-profile``). ``farm staff import`` (:mod:`farm.cli.staff_import`)
runs all five, keeps each establishment's roster in the registry and syncs
it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from farm.cli.context import EXIT_FAILED, CliContext, fail, load_farm_or_fail
from farm.cli.staff_import import import_file, staff_file_options
from farm.cli.staff_views import (
    check_json,
    console,
    error_json,
    print_read,
    read_layout,
    rows_word,
    summary_table,
    tenant_of,
)
from farm.config import Farm
from farm.staff import (
    ColumnMap,
    ColumnProfile,
    ColumnProfileError,
    StaffCheck,
    StaffFileError,
    check_staff_file,
    save_profile,
)


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
      farm staff import remplacants.csv --tenant 0340041K --profile teachers --apply
    """


staff.add_command(import_file)


@staff.command()
@staff_file_options
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
    tenant_id = tenant_of(farm, tenant) if tenant else None
    layout = read_layout(farm, kind, separator, no_header, columns)
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
            click.echo(json.dumps({"file": str(file), "ok": False, "error": error_json(error)}))
        fail(f"{error}\nnothing was done.")
    saved = None
    if save_profile:
        saved = _save(farm, save_profile, result.columns, layout.separator)
    ok = not result.has_conflicts or skip_conflicts
    if as_json:
        data = check_json(farm, result, ok)
        data["saved_profile"] = str(saved) if saved else None
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_check(farm, result, skip_conflicts)
        if saved is not None:
            click.echo(f"column profile saved: {saved} (give it with --columns {save_profile})")
    if not ok:
        raise SystemExit(EXIT_FAILED)


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


def _print_check(farm: Farm, result: StaffCheck, skip: bool) -> None:
    out = console()
    print_read(out, result)
    out.print(summary_table(farm, result))
    if result.has_conflicts and not skip:
        out.print(
            f"{rows_word(result.conflicts)} in conflict: correct them, or give --skip-conflicts "
            "to leave them out. Nothing was written."
        )
    else:
        left = f", {rows_word(result.conflicts)} in conflict left out" if result.conflicts else ""
        out.print(f"ready: {result.accepted} people to import{left}. Nothing was written.")
