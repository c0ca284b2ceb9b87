"""``farm staff import``: a staff CSV file into its establishments' rosters, and to Moodle.

The seed's five steps (:mod:`farm.engine.staff_import`): the file is
loaded, mapped and checked (with the logins the sites and the directory
already hold), the summary shows the roster's changes and the sync
engine's own plan in simulation, and with ``--apply`` the roster is stored,
the establishments are synced, and the report file of sync keys, logins and
first passwords is written, owner-only. Without ``--apply`` nothing is
imported: the simulation is a run of its own (``farm plan RUN`` shows it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from farm.cli.context import (
    EXIT_FAILED,
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
)
from farm.cli.staff_views import (
    check_json,
    console,
    error_json,
    print_read,
    read_layout,
    summary_table,
    tenant_of,
)
from farm.config import Farm
from farm.staff import StaffFileError, StaffKind

if TYPE_CHECKING:
    from farm.engine.staff_import import StaffImportOutcome

#: Usernames listed per site and change before "and N more".
SHOWN_PEOPLE = 12


_F = TypeVar("_F", bound=Callable[..., Any])


def staff_file_options(command: _F) -> _F:
    """FILE and how to read it: the options ``farm staff check`` and ``import`` share."""
    decorators = (
        click.argument("file", type=click.Path(dir_okay=True, path_type=Path)),
        click.option(
            "--tenant", metavar="ID", help="Establishment of rows without an RNE/UAI cell."
        ),
        click.option(
            "--profile",
            "kind",
            type=click.Choice([k.value for k in StaffKind]),
            help="The kind of file: teachers (matière) or staff (function code).",
        ),
        click.option(
            "--separator", metavar="CHAR", help="Cell separator: ';' (default), ',', 'tab'..."
        ),
        click.option("--no-header", is_flag=True, help="The first line is a row, not a header."),
        click.option(
            "--columns",
            metavar="MAP|NAME",
            help=(
                "FIELD=HEADER or FIELD=NUMBER pairs (lastname=Nom,email=7), "
                "or a saved profile's name."
            ),
        ),
    )
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@click.command("import")
@staff_file_options
@click.option("--skip-conflicts", is_flag=True, help="Leave rows in conflict out, import the rest.")
@click.option(
    "--complete",
    is_flag=True,
    help="The seed's 'Complet' mode: people of this kind absent from the file leave.",
)
@click.option(
    "--usertype",
    metavar="VALUE",
    help="Usertype of rows without one, on a CFA site (seed 000: _teacher).",
)
@click.option(
    "--manager-category",
    metavar="ID",
    help="Moodle course category of the establishment, where DIR gets the manager role.",
)
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Let a Complet file take more people off a site than its mass-removal threshold.",
)
@click.option("--apply", is_flag=True, help="Import for real (without it: a simulation).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@registry_option
@click.pass_obj
def import_file(
    obj: CliContext,
    file: Path,
    tenant: str | None,
    kind: str | None,
    separator: str | None,
    no_header: bool,
    columns: str | None,
    skip_conflicts: bool,
    complete: bool,
    usertype: str | None,
    manager_category: str | None,
    allow_mass_removal: bool,
    apply: bool,
    as_json: bool,
    registry_url: str | None,
) -> None:
    """Import a staff CSV FILE into its establishments' rosters, and sync them.

    The file is checked as 'farm staff check' does, the logins the sites and
    the directory already hold included (a login someone else holds is a
    conflict). The summary gives the roster's changes and the sync's own
    plan, simulated: who is created, updated, suspended, on which site.
    Without --apply nothing is imported. With it, the roster is stored, the
    establishments are synced, and the report file (sync keys, logins, first
    passwords) is written under var/staff-reports, readable by its owner
    only; passwords are never printed.

    People absent from the file stay, unless --complete says the file is
    the whole list; then they leave, through the site's mass-removal guard.
    A file that cannot be read, or rows in conflict without
    --skip-conflicts, import nothing.

    \b
    Example:
      farm staff import remplacants.csv --tenant 0340041K --profile teachers
      farm staff import remplacants.csv --tenant 0340041K --profile teachers --apply
      farm staff import personnels.csv --profile staff --manager-category 12 --apply
      farm staff import formateurs.csv --tenant cfa-31-01 --profile teachers --usertype _teacher
    """
    # Imported here: `farm staff check` and every --help stay light.
    from farm.engine.staff_import import ImportOptions, check_file, import_staff_file
    from farm.registry import RegistryError, RunStatus

    farm = load_farm_or_fail(obj)
    tenant_id = tenant_of(farm, tenant) if tenant else None
    layout = read_layout(farm, kind, separator, no_header, columns)
    options = ImportOptions(
        kind=layout.kind,
        tenant=tenant_id,
        separator=layout.separator,
        header=layout.header,
        columns=layout.columns,
        complete=complete,
        usertype=usertype,
        manager_category=manager_category,
        skip_conflicts=skip_conflicts,
        allow_mass_removal=allow_mass_removal,
    )
    try:
        # Before the registry is opened: a file refused leaves everything as it was.
        checked = check_file(farm, file, options)
    except StaffFileError as error:
        if as_json:
            data = {"file": str(file), "ok": False, "error": error_json(error)}
            click.echo(json.dumps(data, ensure_ascii=False))
        fail(f"{error}\nnothing was imported.")
    url = registry_url or farm.settings.registry_url
    with open_registry(url) as registry:
        try:
            registry.load_farm(farm)
            outcome = anyio.run(
                lambda: import_staff_file(
                    farm, registry, file, options, apply=apply, checked=checked
                )
            )
        except StaffFileError as error:
            # The file changed between the two reads.
            fail(f"{error}\nnothing was imported.")
        except RegistryError as error:
            fail(f"{error}; nothing was imported")
    ok = outcome.failure is None and (
        outcome.sync is None or outcome.sync.status is RunStatus.SUCCEEDED
    )
    if as_json:
        click.echo(json.dumps(_json(farm, outcome, ok, apply), indent=2, ensure_ascii=False))
    else:
        _print(farm, outcome, apply)
    if outcome.failure is not None:
        if as_json:
            click.echo(outcome.failure, err=True)
        raise SystemExit(EXIT_FAILED)
    if not ok:
        raise SystemExit(EXIT_FAILED)


def _print(farm: Farm, outcome: StaffImportOutcome, apply: bool) -> None:
    out = console()
    print_read(out, outcome.check)
    summary = summary_table(farm, outcome.check)
    if outcome.plan is not None:
        counts = outcome.plan.counts()
        summary.add_row(
            "roster",
            f"{counts['add']} added, {counts['update']} updated, {counts['revive']} back, "
            f"{counts['retire']} leaving, {counts['kept']} unchanged"
            + (f", {counts['left']} absent from the file and kept" if counts["left"] else ""),
        )
        mode = "Complet: people absent from the file leave" if outcome.plan.complete else ""
        summary.add_row("mode", mode or "people absent from the file stay")
    out.print(summary)
    if outcome.preview is not None:
        _print_plan(out, outcome, outcome.preview.run_id)
    if outcome.failure is not None:
        click.echo(outcome.failure, err=True)
        return
    if not apply and outcome.preview is not None:
        out.print(
            f"Simulation (run {outcome.preview.run_id}): nothing was imported. "
            "Run it again with --apply to import."
        )
        return
    _print_applied(out, outcome)


def _print_plan(out: Console, outcome: StaffImportOutcome, run_id: int) -> None:
    table = Table(title=f"The sync's plan, simulated (run {run_id})")
    for name in ("site", "created", "updated", "leaving", "back", "other changes"):
        table.add_column(name, overflow="fold")
    for site in outcome.sites:
        others = ", ".join(f"{n} {k}" for k, n in site.others.items()) or "-"
        table.add_row(
            site.site,
            _names(site.created),
            _names(site.updated),
            _names(site.suspended),
            _names(site.revived),
            Text(others),
        )
    out.print(table)
    for site in outcome.sites:
        if site.blocked:
            out.print(Text(f"{site.site}: stopped: {site.blocked}"))
        for refusal in site.refused:
            out.print(Text(f"{site.site}: refused: {refusal}"))


def _names(names: Sequence[str]) -> Text:
    if not names:
        return Text("-")
    shown = ", ".join(names[:SHOWN_PEOPLE])
    more = len(names) - SHOWN_PEOPLE
    return Text(f"{len(names)}: {shown}" + (f" and {more} more" if more > 0 else ""))


def _print_applied(out: Console, outcome: StaffImportOutcome) -> None:
    stored, sync = outcome.stored, outcome.sync
    if stored is not None:
        out.print(f"imported: the roster is stored (import {stored.id}).")
    if sync is not None:
        reason = f": {sync.reason}" if sync.reason else ""
        out.print(Text(f"sync run {sync.run_id}: {sync.status.value}{reason}"))
    if outcome.passwords:
        out.print(f"first passwords set in Moodle: {outcome.passwords}")
    for failure in outcome.password_failures:
        out.print(Text(f"first password not set: {failure}"))
    if outcome.missing:
        out.print(
            Text(
                f"not on the site yet ({len(outcome.missing)}): {', '.join(outcome.missing)}; "
                "the sync's report says why, and the next sync tries again"
            )
        )
    if outcome.report is not None:
        out.print(
            Text(
                f"report file: {outcome.report} ({outcome.reported} people; readable by you "
                "only; it holds first passwords: hand them out, then remove it)"
            )
        )


def _json(farm: Farm, outcome: StaffImportOutcome, ok: bool, apply: bool) -> dict[str, Any]:
    data = check_json(farm, outcome.check, ok)
    data["applied"] = bool(apply and outcome.stored is not None)
    data["failure"] = outcome.failure
    data["tenants"] = list(outcome.tenants)
    if outcome.plan is not None:
        data["roster"] = {**outcome.plan.counts(), "complete": outcome.plan.complete}
    if outcome.preview is not None:
        data["simulation"] = {
            "run": outcome.preview.run_id,
            "status": outcome.preview.status.value,
            "sites": [
                {
                    "site": s.site,
                    "created": list(s.created),
                    "updated": list(s.updated),
                    "suspended": list(s.suspended),
                    "revived": list(s.revived),
                    "others": dict(s.others),
                    "refused": list(s.refused),
                    "blocked": s.blocked,
                }
                for s in outcome.sites
            ],
        }
    if outcome.stored is not None:
        data["import"] = outcome.stored.id
    if outcome.sync is not None:
        data["sync"] = {
            "run": outcome.sync.run_id,
            "status": outcome.sync.status.value,
            "reason": outcome.sync.reason,
        }
        data["passwords_set"] = outcome.passwords
        data["password_failures"] = list(outcome.password_failures)
        data["missing"] = list(outcome.missing)
        data["report"] = str(outcome.report) if outcome.report is not None else None
        data["reported"] = outcome.reported
    return data
