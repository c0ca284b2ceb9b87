"""``farm pronote``: the school's Pronote identifiers, imported, reported, linked and exported.

Every command reads the establishments' people from their ENT directory as a
sync does (:mod:`farm.engine.pronote_people`); links and imports live in the
registry (:mod:`farm.registry.pronote`). ``import`` is a simulation unless
``--apply`` is given: it prints what would change and writes nothing.
``docs/pronote.md`` tells the whole story.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from farm.cli.context import (
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
    resolve_registry_url,
)
from farm.cli.pronote_export import export
from farm.cli.pronote_link import link
from farm.cli.pronote_scope import (
    FLAGS,
    establishments_of,
    farm_people,
    read_people_or_fail,
    status_line,
)
from farm.config import Farm
from farm.csv_cells import write_rows
from farm.pronote.records import ImportMode, Population, PronoteTally
from farm.pronote.report import CSV_HEADER, csv_rows, report_lines
from farm.registry import RegistryError


@click.group(context_settings=FLAGS)
def pronote() -> None:
    """Pronote identifiers: import the school's export, report, link by hand, export ours.

    \b
    The yearly step, per establishment (a cité scolaire's UAIs together):
      1. the school exports its identifiers from Pronote (IdPN_To_<ENT>.xml):
         in full at the start of the year, partial for newcomers;
      2. 'farm pronote import' previews the match, then writes it with --apply;
      3. 'farm pronote report' lists who did not match, each with the command
         that links them by hand ('farm pronote link').
    'farm pronote export' writes the opposite file, PARTENAIRE_INDEX, for Pronote.

    \b
    Example:
      farm pronote import IdPN_To_KOSMOS.xml --tenant 0301746K --mode full
      farm pronote import IdPN_To_KOSMOS.xml --tenant 0301746K --mode full --apply
      farm pronote status
    """


def write_csv_files(report: dict[str, Any], folder: Path, stem: str) -> list[Path]:
    """One CSV per population into ``folder``; cells made safe for spreadsheets."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for population in Population:
        path = folder / f"{stem}-{population.value}.csv"
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as out:
            write_rows(out, CSV_HEADER, csv_rows(report, population.value))
        os.replace(tmp, path)
        written.append(path)
    return written


def _show(report: dict[str, Any], as_json: bool, csv_dir: Path | None, limit: int) -> None:
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        for line in report_lines(report, limit=limit):
            click.echo(line)
    if csv_dir is not None:
        stem = Path(str(report["file"])).stem
        for path in write_csv_files(report, csv_dir, stem):
            click.echo(f"wrote {path}", err=as_json)


_OUTPUT = [
    click.option("--json", "as_json", is_flag=True, help="The whole report as JSON."),
    click.option(
        "--csv",
        "csv_dir",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help="Also write one CSV per population into DIR (safe for spreadsheets).",
    ),
    click.option(
        "--limit",
        type=click.IntRange(min=0),
        default=20,
        show_default=True,
        help="Lines per list in the table (0: all).",
    ),
]


def _output_options(function: Any) -> Any:
    for option in reversed(_OUTPUT):
        function = option(function)
    return function


@pronote.command("import", context_settings=FLAGS)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    required=True,
    metavar="UAI",
    help="An establishment the file is for; repeat it for each UAI of a cité scolaire.",
)
@click.option(
    "--mode",
    type=click.Choice([m.value for m in ImportMode]),
    required=True,
    help="full (Complet): replaces the links, unlinking the absent; partial (Partiel): adds.",
)
@click.option("--apply", "apply_", is_flag=True, help="Write the links; without it, a preview.")
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Let a full import unlink more than the site's mass_removal_threshold.",
)
@_output_options
@registry_option
@click.pass_obj
def import_file(
    obj: CliContext,
    file: Path,
    tenants: tuple[str, ...],
    mode: str,
    apply_: bool,
    allow_mass_removal: bool,
    as_json: bool,
    csv_dir: Path | None,
    limit: int,
    registry_url: str | None,
) -> None:
    """Match a Pronote identifier file with the establishments' people and link them.

    FILE is Pronote's export (IdPN_To_<ENT>.xml, format in docs/pronote.md) or
    a PARTENAIRE_INDEX document. People match by the ENT identifier when the
    file has it, else by names and birth date (pupils) or names and profile;
    several candidates are ambiguous, never guessed. Without --apply nothing
    is written. A full import that would unlink more than the site's
    mass_removal_threshold stops unless --allow-mass-removal is given.

    \b
    Example:
      farm pronote import IdPN_To_KOSMOS.xml --tenant 0900001M --tenant 0900038C --mode full
      farm pronote import IdPN_To_KOSMOS.xml --tenant 0900001M --mode partial --apply
    """
    from farm.options import PlanOptions
    from farm.pronote.links import LinksChanged, plan_links
    from farm.pronote.matching import match_people
    from farm.pronote.parser import PronoteFileError, read_pronote_file
    from farm.pronote.report import build_report

    farm = load_farm_or_fail(obj)
    scope = establishments_of(farm, tenants)
    settings = farm.pronote
    chosen = ImportMode(mode)
    try:
        read = read_pronote_file(file, settings)
    except PronoteFileError as error:
        fail(f"{error}\nnothing was imported.")
    if read.mode is ImportMode.PARTIAL and chosen is ImportMode.FULL:
        fail(
            f"{read.name} is a partial export (only newcomers): a full import would unlink "
            "everyone else; import it with --mode partial. Nothing was imported."
        )
    listed = {e.uai for e in read.establishments}
    if listed:
        foreign = [t for t in scope if t not in listed]
        if foreign:
            fail(
                f"{read.name} is for {', '.join(sorted(listed))}, not for {', '.join(foreign)}: "
                "nothing was imported."
            )
    registry = open_registry(resolve_registry_url(obj, registry_url))
    with registry:
        people = read_people_or_fail(farm, scope, settings)
        try:
            existing = registry.pronote_links(scope)
        except RegistryError as error:
            fail(str(error))
        result = match_people(read.people, farm_people(people, settings), existing, tenants=scope)
        sites = {farm.tenants[t].site for t in scope}
        plan = plan_links(
            result,
            existing,
            mode=chosen,
            tenants=scope,
            file=read.name,
            at=datetime.now(UTC),
            threshold=min(farm.sites[s].mass_removal_threshold for s in sites),
            floor=PlanOptions().mass_removal_floor,
            allow_mass_removal=allow_mass_removal,
        )
        report = build_report(read, result, plan)
        report["applied"] = False
        others = sorted(listed - set(scope))
        if others:
            report["other_establishments"] = others
        if plan.stop is not None:
            _show(report, as_json, csv_dir, limit)
            fail(f"{plan.stop}. Nothing was imported.")
        if not apply_:
            _show(report, as_json, csv_dir, limit)
            _note_others(others, as_json)
            click.echo(
                "Simulation: nothing was written. Rerun with --apply to write these links.",
                err=as_json,
            )
            return
        try:
            imports = registry.apply_pronote_plan(plan, file_kind=read.kind, report=report)
        except (LinksChanged, RegistryError) as error:
            fail(str(error))
        report["applied"] = True
        _show(report, as_json, csv_dir, limit)
        _note_others(others, as_json)
        zone = ZoneInfo(farm.settings.timezone)
        names = {t: farm.tenants[t].name for t in scope}
        for done in imports:
            tally = PronoteTally(done.tenant, done.count, done)
            click.echo(f"applied: {status_line(tally, names[done.tenant], zone)}", err=as_json)


def _note_others(others: Sequence[str], as_json: bool) -> None:
    if others:
        click.echo(
            f"note: the file also lists {', '.join(others)}; add --tenant for each to match "
            "their people too",
            err=as_json,
        )


def _establishments(farm: Farm, given: Sequence[str], sites: Sequence[str]) -> tuple[str, ...]:
    if given:
        return establishments_of(farm, given)
    unknown = [s for s in sites if s not in farm.sites]
    if unknown:
        raise click.UsageError(f"no site {unknown[0]!r} in {farm.root}")
    return tuple(
        t.id
        for t in farm.tenants.values()
        if t.kind == "establishment" and (not sites or t.site in sites)
    )


@pronote.command(context_settings=FLAGS)
@click.option("--tenant", "tenants", multiple=True, metavar="UAI", help="Only this establishment.")
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Only this site's.")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@registry_option
@click.pass_obj
def status(
    obj: CliContext,
    tenants: tuple[str, ...],
    sites: tuple[str, ...],
    as_json: bool,
    registry_url: str | None,
) -> None:
    """Per establishment: how many Pronote identifiers, and the last import's date and mode.

    \b
    Example:
      farm pronote status --site cite-clemenceau-montpellier
      farm pronote status --json
    """
    farm = load_farm_or_fail(obj)
    scope = _establishments(farm, tenants, sites)
    with open_registry(resolve_registry_url(obj, registry_url)) as registry:
        try:
            tallies = registry.pronote_tallies(scope)
        except RegistryError as error:
            fail(str(error))
    zone = ZoneInfo(farm.settings.timezone)
    if as_json:
        click.echo(json.dumps([_tally_json(farm, tallies[t]) for t in scope], indent=1))
        return
    for tenant in scope:
        click.echo(status_line(tallies[tenant], farm.tenants[tenant].name, zone))


def _tally_json(farm: Farm, tally: PronoteTally) -> dict[str, Any]:
    tenant = farm.tenants[tally.tenant]
    last = tally.last
    return {
        "tenant": tally.tenant,
        "name": tenant.name,
        "site": tenant.site,
        "links": tally.links,
        "last_import": None
        if last is None
        else {
            "at": last.at.isoformat(),
            "mode": last.mode.value,
            "mode_label": last.mode.label,
            "file": last.file,
            "file_kind": last.file_kind.value,
            "count": last.count,
            "added": last.added,
            "updated": last.updated,
            "removed": last.removed,
        },
    }


@pronote.command(context_settings=FLAGS)
@click.option("--tenant", "tenant", required=True, metavar="UAI", help="The establishment.")
@_output_options
@registry_option
@click.pass_obj
def report(
    obj: CliContext,
    tenant: str,
    as_json: bool,
    csv_dir: Path | None,
    limit: int,
    registry_url: str | None,
) -> None:
    """The match report of an establishment's last applied import.

    Matched, unmatched in the file, unmatched in the directory and ambiguous,
    per population, each unmatched line with its closest candidates and the
    'farm pronote link' command that links it by hand.

    \b
    Example:
      farm pronote report --tenant 0900001M --limit 0
      farm pronote report --tenant 0900001M --csv reports/
    """
    farm = load_farm_or_fail(obj)
    (uai,) = establishments_of(farm, [tenant])
    with open_registry(resolve_registry_url(obj, registry_url)) as registry:
        try:
            last = registry.last_pronote_import(uai)
        except RegistryError as error:
            fail(str(error))
    if last is None or last.report is None:
        fail(f"{uai} has had no Pronote import applied yet (farm pronote import --apply)")
    _show(dict(last.report), as_json, csv_dir, limit)


# The other commands live in their own modules, registered here.
pronote.add_command(link)
pronote.add_command(export)
