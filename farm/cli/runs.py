"""``farm runs`` and ``farm report``: what past and current runs did.

Tables are for people; ``--json`` and ``--csv`` are for scripts and
spreadsheets and carry the same facts. Times are in the farm's zone (farm.toml's
``[farm] timezone``), named in the table's header; ISO 8601 with the offset in
JSON and CSV. A run's tenants are counted by state with
:mod:`farm.engine.health`'s vocabulary (succeeded, partial, failed,
interrupted, skipped), and ``--status not-ok`` lists the runs that ended
failed, partial or interrupted. The CSV of a report has one row per tenant
(``kind`` = ``tenant``, with its status and reason), per tenant x entity x
action (``count``), per record error (``error``: key and Moodle's reason) and
per warning (``warning``).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
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
from farm.cli.screen import table_console
from farm.clock import iso, label, local_text, zone_of
from farm.config.selection import SelectionError, select_tenants
from farm.engine.health import NOT_OK, PROBLEMS, SEVERITY, State, counts_text, state_counts
from farm.registry import (
    Registry,
    RegistryError,
    RunId,
    RunReport,
    RunStatus,
    RunSummary,
    TenantReport,
    TenantStatus,
)

CSV_COLUMNS = (
    "run",
    "tenant",
    "site",
    "status",
    "kind",
    "entity",
    "action",
    "count",
    "key",
    "message",
)


@click.command()
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="How many runs to list, latest first (with --tenant/--site/--tag: of theirs).",
)
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Runs of tenants with this tag.")
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Runs of this site's tenants.")
@click.option("--tenant", "tenants", multiple=True, metavar="ID", help="Runs of this tenant.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([*(s.value for s in RunStatus), NOT_OK]),
    help="Only runs that ended so (repeatable); not-ok: failed, partial or interrupted.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts instead of a table.")
@registry_option
@click.pass_obj
def runs(
    obj: CliContext,
    limit: int,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    tenants: tuple[str, ...],
    statuses: tuple[str, ...],
    as_json: bool,
    registry_url: str | None,
) -> None:
    """List past and current runs, latest first, with their tenants counted by state.

    --tenant, --site and --tag (criteria combine with "and", as in 'farm
    sync') keep the runs that reported on one of those tenants, and add a
    column counting how those tenants fared; the last 1000 runs are searched.

    \b
    Example:
      farm runs
      farm runs --status failed --limit 5
      farm runs --status not-ok
      farm runs --tenant 0340041K
      farm runs --json | jq '.[0].id'
    """
    where = zone_of(obj.farm_dir)
    wanted = _statuses(statuses)
    chosen: frozenset[str] | None = None
    if tags or sites or tenants:
        farm = load_farm_or_fail(obj)
        try:
            picked = select_tenants(farm, tags=tags, sites=sites, tenants=tenants)
        except SelectionError as error:
            raise click.UsageError(str(error)) from None
        chosen = frozenset(t.id for t in picked)
    theirs: dict[RunId, dict[str, int]] = {}
    with open_registry(resolve_registry_url(obj, registry_url)) as opened:
        try:
            if chosen is None:
                found = opened.list_runs(limit=limit, status=wanted or None)
            else:
                found, theirs = _runs_of(opened, chosen, limit, wanted)
            counts = opened.tenant_status_counts([run.id for run in found])
            others = [] if found or not wanted else opened.list_runs(limit=limit)
        except RegistryError as error:
            fail(str(error))
    if as_json:
        out = [_run_json(run, where, counts.get(run.id, {})) for run in found]
        if chosen is not None:
            for item, run in zip(out, found, strict=True):
                item["tenants"]["chosen"] = dict(sorted(theirs.get(run.id, {}).items()))
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if not found:
        if chosen is not None:
            click.echo(f"No run of these tenants among the last {SCANNED_RUNS}.")
        else:
            click.echo("No runs yet." if not wanted else _none_of(statuses, others))
        return
    table = Table("run", f"started ({label(where)})", "duration", "trigger", "status", "tenants")
    if chosen is not None:
        table.add_column("these tenants")
    table.add_column("simulated")
    for run in found:
        mine = [_tenant_counts(theirs.get(run.id, {}))] if chosen is not None else []
        table.add_row(
            *_cells(
                str(run.id),
                local_text(run.started_at, where, seconds=True),
                _duration(run.duration),
                run.trigger.value,
                run.status.value,
                _tenant_counts(counts.get(run.id, {})),
                *mine,
                "yes" if run.simulated else "",
            )
        )
    _console().print(table)


#: How many of the latest runs ``farm runs --tenant`` searches.
SCANNED_RUNS = 1000


def _runs_of(
    registry: Registry, tenants: frozenset[str], limit: int, statuses: list[RunStatus]
) -> tuple[list[RunSummary], dict[RunId, dict[str, int]]]:
    """The latest ``limit`` runs that reported on one of ``tenants``, and how those fared.

    The registry lists runs, not runs by tenant: runs are read page by page,
    latest first, each with its tenants' reports, up to :data:`SCANNED_RUNS`.
    """
    found: list[RunSummary] = []
    states: dict[RunId, dict[str, int]] = {}
    before: RunId | None = None
    scanned = 0
    while len(found) < limit and scanned < SCANNED_RUNS:
        page = registry.list_runs(limit=100, status=statuses or None, before=before)
        if not page:
            break
        for run in page:
            scanned += 1
            reports = [t for t in registry.get_report(run.id).tenants if t.tenant in tenants]
            if reports:
                found.append(run)
                counted: dict[str, int] = {}
                for report in reports:
                    counted[report.status.value] = counted.get(report.status.value, 0) + 1
                states[run.id] = counted
            if len(found) == limit or scanned == SCANNED_RUNS:
                break
        before = page[-1].id
    return found, states


def _statuses(chosen: tuple[str, ...]) -> list[RunStatus]:
    out: list[RunStatus] = []
    for value in chosen:
        if value == NOT_OK:
            out.extend(RunStatus(s.value) for s in PROBLEMS)
        else:
            out.append(RunStatus(value))
    return list(dict.fromkeys(out))


def _none_of(chosen: tuple[str, ...], recent: list[RunSummary]) -> str:
    """``No failed runs among the last 20 (2 partial, 1 interrupted: ...).``"""
    text = f"No {' or '.join(chosen)} runs among the last {len(recent)}"
    problems = {s.value for s in PROBLEMS}
    seen: dict[str, int] = {}
    for run in recent:
        if run.status.value in problems:
            seen[run.status.value] = seen.get(run.status.value, 0) + 1
    if seen:
        listed = ", ".join(f"{n} {status}" for status, n in seen.items())
        return f"{text} ({listed}: farm runs --status {NOT_OK})."
    return text + "."


def _tenant_counts(counts: Mapping[str, int]) -> str:
    return counts_text(state_counts(s for s, n in counts.items() for _ in range(n)))


@click.command()
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--tenant", metavar="ID", help="Only this tenant's report.")
@click.option(
    "--failed",
    "only_failed",
    is_flag=True,
    help="Only the tenants that did not succeed (failed, interrupted, partial, skipped).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV for spreadsheets (see 'farm report').")
@registry_option
@click.pass_obj
def report(
    obj: CliContext,
    run_id: int,
    tenant: str | None,
    only_failed: bool,
    as_json: bool,
    as_csv: bool,
    registry_url: str | None,
) -> None:
    """Show what run RUN did for each tenant, the ones that did not succeed first.

    Record errors come first, with why each was not written (Moodle's
    refusal or the farm's), then a line per tenant, worst first (failed,
    interrupted, partial, skipped, succeeded), with its counts per entity
    and action and durations per phase, then warnings. --failed keeps only
    the tenants that did not succeed, in the table, the JSON and the CSV.
    The CSV has one row per tenant, per tenant x entity x action, per error
    and per warning (column "kind"); JSON and CSV keep the tenants in id
    order. Exit code 1 for an unknown run or tenant.

    \b
    Example:
      farm report 42
      farm report 42 --failed
      farm report 42 --tenant 0340041K --json
      farm report 42 --csv > run-42.csv
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    where = zone_of(obj.farm_dir)
    with open_registry(resolve_registry_url(obj, registry_url)) as opened:
        try:
            found = opened.get_report(RunId(run_id), tenant)
        except RegistryError as error:
            fail(str(error))
    everyone = found.tenants
    if only_failed:
        found = RunReport(found.run, tuple(t for t in found.tenants if not _succeeded(t)))
    if as_json:
        click.echo(json.dumps(_report_json(found, where), indent=2, ensure_ascii=False))
    elif as_csv:
        _write_csv(found)
    else:
        _print_report(found, where, everyone, only_failed=only_failed)


def _succeeded(report: TenantReport) -> bool:
    return report.status is TenantStatus.SUCCEEDED


def _worst_first(reports: Sequence[TenantReport]) -> list[TenantReport]:
    """Failed, interrupted, partial, skipped, then succeeded; by tenant id within each."""
    return sorted(reports, key=lambda t: (SEVERITY.get(State(t.status.value), 0), t.tenant))


def _run_json(
    run: RunSummary, where: ZoneInfo, counts: Mapping[str, int] | None = None
) -> dict[str, Any]:
    by_state = None if counts is None else dict(sorted(counts.items()))
    return {
        "id": run.id,
        "started_at": iso(run.started_at, where),
        "finished_at": iso(run.finished_at, where),
        "duration_seconds": run.duration.total_seconds() if run.duration else None,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "reason": run.reason,
        "simulated": run.simulated,
        "selection": dict(run.selection),
        "options": dict(run.options),
        "host": run.host,
        "pid": run.pid,
        "tenants": {
            "ok": run.tenants_ok,
            "failed": run.tenants_failed,
            "total": run.tenants_total,
            **({} if by_state is None else {"by_state": by_state}),
        },
    }


def _tenant_json(report: TenantReport) -> dict[str, Any]:
    return {
        "tenant": report.tenant,
        "site": report.site,
        "status": report.status.value,
        "reason": report.reason,
        "simulated": report.simulated,
        "counts": {entity: dict(actions) for entity, actions in report.counts.items()},
        "errors": [{"entity": e.entity, "key": e.key, "reason": e.reason} for e in report.errors],
        "warnings": [{"key": w.key, "message": w.message} for w in report.warnings],
        "durations": dict(report.durations),
        "operations": list(report.operations),
    }


def _report_json(found: RunReport, where: ZoneInfo) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for t in found.tenants:
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    return {
        "run": _run_json(found.run, where, counts),
        "tenants": [_tenant_json(t) for t in found.tenants],
    }


def _write_csv(found: RunReport) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for t in found.tenants:
        base = {"run": found.run.id, "tenant": t.tenant, "site": t.site, "status": t.status.value}
        writer.writerow({**base, "kind": "tenant", "message": t.reason or ""})
        for entity, actions in sorted(t.counts.items()):
            for action, count in sorted(actions.items()):
                writer.writerow(
                    {**base, "kind": "count", "entity": entity, "action": action, "count": count}
                )
        for e in t.errors:
            error = {"entity": e.entity or "", "key": e.key, "message": e.reason}
            writer.writerow({**base, "kind": "error", **error})
        for w in t.warnings:
            writer.writerow({**base, "kind": "warning", "key": w.key or "", "message": w.message})
        for line in t.operations:
            writer.writerow({**base, "kind": "operation", "message": line})


def _print_report(
    found: RunReport,
    where: ZoneInfo,
    everyone: Sequence[TenantReport] = (),
    *,
    only_failed: bool = False,
) -> None:
    run = found.run
    console = _console()
    counts: dict[str, int] = {}
    for t in everyone or found.tenants:
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    console.print(
        f"[bold]Run {run.id}[/]  {run.trigger.value}, {run.status.value}"
        f"{' (simulated)' if run.simulated else ''}, started "
        f"{local_text(run.started_at, where, seconds=True)} {label(where)}, "
        f"{_duration(run.duration)}; tenants: {_tenant_counts(counts)}",
        highlight=False,
    )
    if run.reason:
        console.print(f"reason: {run.reason}", markup=False, highlight=False)
    if not found.tenants:
        said = "No tenant report yet."
        if only_failed and everyone:
            said = f"Every tenant of run {run.id} succeeded."
        console.print(said)
        return
    tenants = _worst_first(found.tenants)
    errors = [(t.tenant, e.entity or "", e.key, e.reason) for t in tenants for e in t.errors]
    if errors:
        problems = Table("tenant", "entity", "record", "why not written", title="Errors")
        for error in errors:
            problems.add_row(*_cells(*error))
        console.print(problems)
    table = Table("tenant", "site", "status", "changes", "errors", "warnings", "time")
    for t in tenants:
        table.add_row(
            *_cells(
                t.tenant,
                t.site,
                t.status.value + (f": {t.reason}" if t.reason else ""),
                _counts(t.counts),
                str(len(t.errors)),
                str(len(t.warnings)),
                _phases(t.durations),
            )
        )
    console.print(table)
    warnings = [(t.tenant, w.key or "", w.message) for t in tenants for w in t.warnings]
    if warnings:
        notes = Table("tenant", "record", "warning", title="Warnings")
        for warning in warnings:
            notes.add_row(*_cells(*warning))
        console.print(notes)
    operations = [(t.tenant, line) for t in tenants for line in t.operations]
    if operations:
        done = Table("tenant", "operation", title="Operations (verbose run)")
        for operation in operations:
            done.add_row(*_cells(*operation))
        console.print(done)
    hidden = len(everyone) - len(found.tenants)
    if not only_failed and any(not _succeeded(t) for t in found.tenants) and len(tenants) > 1:
        console.print(f"Only those that did not succeed: farm report {run.id} --failed")
    elif only_failed and hidden:
        console.print(f"{hidden} succeeded tenant(s) not shown (without --failed: all).")


def _counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    if not counts:
        return "none"
    return "\n".join(
        f"{entity}: " + ", ".join(f"{n} {action}" for action, n in sorted(actions.items()))
        for entity, actions in sorted(counts.items())
    )


def _phases(durations: Mapping[str, float]) -> str:
    return ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in durations.items()) or "-"


def _duration(duration: timedelta | None) -> str:
    if duration is None:
        return "running"
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


def _cells(*values: str) -> list[Text]:
    # Moodle's reasons and record keys may hold [brackets]: never read them as markup.
    # Long keys fold onto the next line rather than lose their end to an ellipsis.
    return [Text(value, overflow="fold") for value in values]


def _console() -> Console:
    return table_console()
