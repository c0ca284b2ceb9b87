"""``farm plan show``: the plan a simulation stored, value by value, before it is applied.

``farm sync --simulate`` stores, per site, the operations it would run with
the values each changes (old -> new), the index entry each was computed
from and the safety verdict (:mod:`farm.stored_plan`). This command prints
them: one row per changed value in a table, or everything as JSON
(``--format json``: each operation as stored, plus its field changes). A
plan re-planned after drift (``farm apply RUN --replan-drifted``) shows the
drift first. ``farm apply RUN`` then applies exactly what was shown.

The rendering functions here are ``farm apply``'s too (:mod:`farm.cli.apply`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from farm.cli.context import CliContext, fail, open_registry, registry_option, resolve_registry_url
from farm.cli.screen import table_console
from farm.clock import iso, label, local_text, zone_of
from farm.drift import Drift
from farm.model import Kind
from farm.operation import Operation
from farm.plan_codec import StoredPlanError, operation_to_json
from farm.registry import RegistryError, RunId
from farm.stored_plan import StoredPlan, field_changes

FORMATS = ("table", "json")


@click.group()
def plan() -> None:
    """Show the plans simulations stored, to review them before 'farm apply'."""


@plan.command("show")
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--site", metavar="SITE", help="Only this Moodle site's plan.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@registry_option
@click.pass_obj
def show(
    obj: CliContext, run_id: int, site: str | None, fmt: str, registry_url: str | None
) -> None:
    """Print the plan simulated run RUN stored, value by value (old -> new per field).

    One row per value an operation changes: a creation brings each of the
    record's values, an update its changed fields, a removal takes the
    indexed values away. The safety verdict, the notes and, for a plan
    re-planned after drift, the drift come first. Exit code 1 when the run
    stored no plan (it was not a simulation, or the site had none).

    \b
    Examples:
      farm sync --tenant 0340041K --simulate
      farm plan show 42
      farm plan show 42 --site lycee-a --format json | jq '.plans[0].operations[0]'
      farm apply 42
    """
    where = zone_of(obj.farm_dir)
    with open_registry(resolve_registry_url(obj, registry_url)) as registry:
        try:
            run = registry.get_run(RunId(run_id))
            plans = registry.stored_plans(run_id, site)
            now = registry.registry_time()
        except (RegistryError, StoredPlanError) as error:
            fail(str(error))
    if not plans:
        why = "" if run.simulated else ": it was not a simulation (farm sync --simulate)"
        fail(f"run {run_id} stored no plan{f' for site {site}' if site else ''}{why}")
    if fmt == "json":
        out = {"run": run_id, "plans": [plan_json(p, where, now) for p in plans]}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    console = table_console()
    for stored in plans:
        print_plan(console, stored, where, now)


def value_text(value: Any) -> str:
    """A field's value as a reviewer reads it: ``—`` for none, lists and maps spelled out."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or "(empty)"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={value_text(v)}" for k, v in value.items()) or "(empty)"
    return str(value)


def label_of(op: Operation) -> str:
    """``update person sdet:F17 (jdupont), Moodle id 123``."""
    username = getattr(op.record, "username", None) if op.kind is Kind.PERSON else None
    if username is None and op.kind is Kind.PERSON and op.previous is not None:
        username = op.previous.values.get("username")
    text = f"{op.action} {op.kind} {op.key}"
    if username:
        text += f" ({username})"
    if op.moodle_id is not None:
        text += f", Moodle id {op.moodle_id}"
    return text


def _state(stored: StoredPlan, where: ZoneInfo) -> str:
    if stored.applied_by is None:
        return "not applied"
    return f"applied by run {stored.applied_by} at {local_text(stored.applied_at, where)}"


def _age(stored: StoredPlan, now: datetime) -> str:
    minutes = int(stored.age(now).total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def print_drift(console: Console, drifts: Sequence[Drift], title: str) -> None:
    console.print(f"[bold]{title}[/] ({len(drifts)})")
    for drift in drifts:
        console.print(Text(f"  {drift}", overflow="fold"))


def print_plan(
    console: Console,
    stored: StoredPlan,
    where: ZoneInfo,
    now: datetime,
    *,
    only: Iterable[tuple[Kind, str]] | None = None,
) -> None:
    """One site's plan: header, verdict, drift, notes, then a row per changed value.

    ``only`` keeps the operations of these records (a re-plan's drifted ones).
    """
    shown = stored.shown()
    chosen = set(only) if only is not None else None
    ops = [op for op in shown if chosen is None or (op.kind, op.key) in chosen]
    created = local_text(stored.created_at, where) if stored.created_at else "?"
    console.print(
        f"[bold]Plan of run {stored.run_id} for site {stored.site}[/]: "
        f"{len(shown)} operations; tenants {', '.join(stored.tenants) or '—'}; "
        f"stored {created} ({label(where)}), {_age(stored, now)}; {_state(stored, where)}"
    )
    if stored.blocked is not None:
        console.print(
            Text(f"Safety stop: {stored.blocked.reason} (the operations below are withheld)")
        )
    else:
        console.print("Safety: the checks passed")
    if stored.replanned_from is not None:
        console.print(f"Re-planned from run {stored.replanned_from}.")
        if stored.drift:
            print_drift(console, stored.drift, "Drifted since that plan, planned again")
    for note in stored.notes:
        if not note.startswith("re-planned after drift: "):
            console.print(Text(f"note: {note}", overflow="fold"))
    for refusal in stored.refusals:
        console.print(Text(f"refused: {refusal}", overflow="fold"))
    if not ops:
        console.print("Nothing to change.")
        return
    table = Table("#", "operation", "field", "old", "new")
    for number, op in enumerate(ops, 1):
        changes = field_changes(op) or [("", None, None)]
        for row, (name, old, new) in enumerate(changes):
            head = (str(number), label_of(op)) if row == 0 else ("", "")
            cells = (*head, name, value_text(old) if name else "", value_text(new) if name else "")
            table.add_row(*(Text(cell, overflow="fold") for cell in cells))
    console.print(table)


def plan_json(stored: StoredPlan, where: ZoneInfo, now: datetime) -> dict[str, Any]:
    """One site's plan as ``farm plan show --format json`` prints it."""
    return {
        "run": stored.run_id,
        "site": stored.site,
        "tenants": list(stored.tenants),
        "stored_at": iso(stored.created_at, where),
        "age_seconds": round(stored.age(now).total_seconds()),
        "applied_by": stored.applied_by,
        "applied_at": iso(stored.applied_at, where),
        "blocked": None
        if stored.blocked is None
        else {"rule": stored.blocked.rule, "reason": stored.blocked.reason},
        "replanned_from": stored.replanned_from,
        "drift": [d.to_json() for d in stored.drift],
        "notes": list(stored.notes),
        "warnings": [str(w) for w in stored.warnings],
        "refusals": [str(r) for r in stored.refusals],
        "operations": [operation_json(op) for op in stored.shown()],
        "withheld": stored.blocked is not None,
    }


def operation_json(op: Operation) -> dict[str, Any]:
    """An operation as stored, with its label and its field changes (old -> new)."""
    return {
        **operation_to_json(op),
        "label": label_of(op),
        "moodle_id": op.moodle_id,
        "fields": [{"field": n, "old": old, "new": new} for n, old, new in field_changes(op)],
    }
