"""``farm journal``: who changed which record, when, from what to what; and pruning it.

The journal keeps one line per write Moodle confirmed (farm.registry.journal):
the run, the site, the tenants it concerns, the record, the action and the
values before and after. ``farm journal`` reads it through
:meth:`farm.registry.Registry.journal_entries` with the same filters the
dashboard uses, and prints:

- a table for people: one row per change, ``field: old → new`` for each
  field it changed (only the changed ones for an update; the values written
  for a creation, the values removed for a deletion), times in the farm's
  zone, named in the header;
- ``--format json``: one object per line, times in ISO 8601 with their
  offset, the whole ``old`` and ``new`` and the changed fields;
- ``--format csv``: one row per changed field, every cell through
  :mod:`farm.csv_cells` (a value starting with ``=`` is text, not a formula).

A value under a secret's name is ``***`` in every format (the registry
masks it). ``--since`` and ``--until`` take a date (``2026-11-22``: from
that day's midnight, and up to the end of that day) or a time
(``2026-11-22T03:00``), in the farm's zone unless it carries an offset.

``farm journal prune`` is the only thing that ever deletes journal lines:
it says which runs' lines are older than ``[farm] journal_retention_days``
(or ``--before``) and deletes them only with ``--apply``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import click
from click.core import ParameterSource
from rich.table import Table
from rich.text import Text

from farm.cli.context import (
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
    resolve_registry_url,
)
from farm.cli.journal_view import csv_rows, line_json, print_table
from farm.cli.screen import table_console
from farm.clock import label, local_text, zone_of
from farm.csv_cells import write_rows
from farm.model import Kind
from farm.operation import Action
from farm.registry import Registry, RegistryError, RunId, RunJournalLines, RunSummary

#: Every action a journal line may hold: the plan's, and ``adopt`` for an adopted account.
ACTIONS: Final = (*(a.value for a in Action), "adopt")
ENTITIES: Final = tuple(k.value for k in Kind)
FORMATS: Final = ("table", "json", "csv")
CSV_COLUMNS: Final = (
    "at",
    "run",
    "trigger",
    "site",
    "tenants",
    "entity",
    "action",
    "key",
    "person",
    "moodle_id",
    "field",
    "old",
    "new",
)
#: The listing's options, refused before ``prune`` (which has options of its own).
_FILTERS: Final = (
    "tenant",
    "site",
    "person",
    "run_id",
    "actions",
    "entities",
    "since",
    "until",
    "limit",
    "oldest_first",
    "output",
)


@click.group(invoke_without_command=True)
@click.option("--tenant", metavar="ID", help="Only changes about this tenant (UAI or NetYpareo).")
@click.option("--site", metavar="NAME", help="Only changes to this Moodle site.")
@click.option(
    "--user",
    "person",
    metavar="WHO",
    help="Only this person's account and links: a source key (sdet:F1700ivg), a Moodle "
    "login (also an earlier one), an idnumber or the directory's uid.",
)
@click.option("--run", "run_id", type=int, metavar="RUN", help="Only what run RUN changed.")
@click.option(
    "--action",
    "actions",
    multiple=True,
    type=click.Choice(ACTIONS),
    help="Only these actions (repeatable).",
)
@click.option(
    "--entity",
    "entities",
    multiple=True,
    type=click.Choice(ENTITIES),
    help="Only these kinds of record (repeatable).",
)
@click.option("--since", metavar="WHEN", help="From this date or time on (farm's zone).")
@click.option("--until", metavar="WHEN", help="Up to this date (included) or time (excluded).")
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="How many lines to show at most (the newest, or the oldest with --oldest-first).",
)
@click.option("--oldest-first", is_flag=True, help="Oldest change first (default: newest).")
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="A table for people, JSON for scripts, CSV for spreadsheets (a row per field).",
)
@registry_option
@click.pass_context
def journal(
    ctx: click.Context,
    tenant: str | None,
    site: str | None,
    person: str | None,
    run_id: int | None,
    actions: tuple[str, ...],
    entities: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    oldest_first: bool,
    output: str,
    registry_url: str | None,
) -> None:
    """Who changed which record, when, from what to what: the journal of confirmed writes.

    One line per write Moodle confirmed, newest first: its time, run, site,
    tenants, record, action, and each field it changed, old → new. Filters
    combine. --user finds a person by source key, Moodle login (an earlier
    login too, or one whose account is gone), idnumber or uid, and shows
    their account's changes and their memberships, enrolments and roles.
    Times are in the farm's zone ([farm] timezone); --since and --until take
    a date or an ISO time. Secrets never show: a value under a password-like
    name is ***. 'farm journal prune' deletes old lines (see its --help).

    \b
    Example:
      farm journal --user jdupont            # who changed this account, when, how
      farm journal --tenant 0340041K --since 2026-11-01
      farm journal --run 42 --action suspend --action delete
      farm journal --entity cohort --until 2026-11-22 --oldest-first
      farm journal --user sdet:F1700ivg --format csv > jdupont.csv
      farm journal --run 42 --format json | jq '.[].changes'
    """
    obj = ctx.find_object(CliContext)
    assert obj is not None, "farm journal runs under the farm command"
    if ctx.invoked_subcommand is not None:
        given = [n for n in _FILTERS if ctx.get_parameter_source(n) is not ParameterSource.DEFAULT]
        if given:
            flags = {p.name: p.opts[0] for p in ctx.command.params}
            names = ", ".join(flags[n] for n in given)
            raise click.UsageError(
                f"{names}: options of the listing, not of 'farm journal {ctx.invoked_subcommand}'"
            )
        ctx.meta["farm.journal.registry"] = registry_url
        return
    where = zone_of(obj.farm_dir)
    start = parse_moment(since, where, "--since")
    end = parse_moment(until, where, "--until", end_of_day=True)
    if start is not None and end is not None and end <= start:
        raise click.BadParameter("must be later than --since", param_hint="--until")
    with open_registry(resolve_registry_url(obj, registry_url)) as opened:
        try:
            keys = opened.person_keys(person) if person is not None else ()
            found = opened.journal_entries(
                tenant=tenant,
                site=site,
                person=person,
                run_id=None if run_id is None else RunId(run_id),
                actions=actions,
                entities=entities,
                since=start,
                until=end,
                oldest_first=oldest_first,
                limit=limit,
            )
            runs = _runs(opened, {e.run_id for e in found})
        except RegistryError as error:
            fail(str(error))
    if output == "json":
        rows = [line_json(e, runs.get(e.run_id), where) for e in found]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output == "csv":
        write_rows(sys.stdout, CSV_COLUMNS, csv_rows(found, runs, where))
    else:
        print_table(
            found, runs, where, person=person, keys=keys, limit=limit, oldest_first=oldest_first
        )


@journal.command()
@click.option(
    "--before",
    metavar="WHEN",
    help="Delete lines older than this date or time (farm's zone), "
    "instead of [farm] journal_retention_days.",
)
@click.option("--apply", "apply_", is_flag=True, help="Delete them (without it: only say which).")
@registry_option
@click.pass_context
def prune(ctx: click.Context, before: str | None, apply_: bool, registry_url: str | None) -> None:
    """Delete journal lines older than the retention: a simulation unless --apply.

    The cut is [farm] journal_retention_days ago (365 by default: a school
    year), or --before. A run's lines are deleted whole, once its newest
    line is older than the cut, and never while the run is running. Without
    --apply it says how many lines of which runs it would delete and
    deletes nothing; nothing else ever prunes the journal.

    \b
    Example:
      farm journal prune                     # what a prune would delete
      farm journal prune --apply
      farm journal prune --before 2025-09-01 --apply
    """
    obj = ctx.find_object(CliContext)
    assert obj is not None, "farm journal prune runs under the farm command"
    where = zone_of(obj.farm_dir)
    cut = parse_moment(before, where, "--before")
    if cut is None:
        days = load_farm_or_fail(obj).settings.journal_retention_days
        cut = datetime.now(UTC) - timedelta(days=days)
        why = f"[farm] journal_retention_days = {days}"
    else:
        why = "--before"
    url = registry_url or ctx.meta.get("farm.journal.registry")
    with open_registry(resolve_registry_url(obj, url)) as opened:
        try:
            found = opened.prune_journal(cut) if apply_ else opened.journal_runs_before(cut)
            runs = _runs(opened, {r.run_id for r in found})
        except RegistryError as error:
            fail(str(error))
    cut_text = f"{local_text(cut, where)} {label(where)} ({why})"
    if not found:
        click.echo(
            f"No journal line of a finished run is older than {cut_text}: nothing to delete."
        )
        return
    lines = sum(r.lines for r in found)
    verb = "Deleted" if apply_ else "Would delete"
    click.echo(f"{verb} {lines} journal line(s) of {len(found)} run(s), older than {cut_text}:")
    table_console().print(_prune_table(found, runs, where))
    if not apply_:
        click.echo("Nothing was deleted: run again with --apply to delete them.")


def parse_moment(
    text: str | None, where: ZoneInfo, option: str, *, end_of_day: bool = False
) -> datetime | None:
    """A date (its midnight, or the next one with ``end_of_day``) or an ISO time, zone-aware."""
    if text is None:
        return None
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        moment = datetime.combine(day, time(), tzinfo=where)
        return moment + timedelta(days=1) if end_of_day else moment
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a date (2026-11-22) nor a time (2026-11-22T03:00, "
            f"in {label(where)} unless it has an offset such as +01:00)",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=where)


def _runs(registry: Registry, ids: Iterable[RunId]) -> dict[RunId, RunSummary]:
    return {run_id: registry.get_run(run_id) for run_id in sorted(ids)}


def _prune_table(
    found: Sequence[RunJournalLines], runs: Mapping[RunId, RunSummary], where: ZoneInfo
) -> Table:
    zone = label(where)
    table = Table("run", f"started ({zone})", "trigger", "lines", f"oldest line ({zone})")
    table.add_column(f"newest line ({zone})")
    for r in found:
        run = runs.get(r.run_id)
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    str(r.run_id),
                    local_text(None if run is None else run.started_at, where),
                    "-" if run is None else run.trigger.value,
                    str(r.lines),
                    local_text(r.oldest, where),
                    local_text(r.newest, where),
                )
            )
        )
    return table
