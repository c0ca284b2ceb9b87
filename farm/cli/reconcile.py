"""``farm reconcile``: CSV accounts and directory accounts made one; accounts twice; ghosts.

Lists, for one establishment, each with a reason and a confidence: the CSV
people whose directory account has arrived, the Moodle accounts the index
holds twice, and the ghost accounts no source holds any more
(:mod:`farm.engine.reconcile`). With ``--apply``, after the same listing,
each confirmed pair is linked: the person keeps the CSV account and its
history under the directory's key. Ambiguous pairs are listed and left.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
import click
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
from farm.cli.staff_views import console, tenant_of

if TYPE_CHECKING:
    from farm.engine.reconcile import ReconcileOutcome
    from farm.staff import Findings


@click.command()
@click.option("--tenant", metavar="ID", required=True, help="The establishment to reconcile.")
@click.option("--apply", is_flag=True, help="Link the confirmed pairs (without it: a listing).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@registry_option
@click.pass_obj
def reconcile(
    obj: CliContext, tenant: str, apply: bool, as_json: bool, registry_url: str | None
) -> None:
    """Find CSV people the directory now brings, accounts held twice, and ghosts.

    A CSV person and a directory person of the establishment with the same
    names (accents and case aside), one on each side, and the same e-mail
    and birth date wherever both have one, are a pair: confidence high when
    an e-mail or a birth date agrees, medium when only names can be
    compared. Anything else that looks alike is listed as ambiguous and
    never linked.

    With --apply each pair is linked, as seed 004 does by hand: the person
    keeps the CSV account (its history, its login) and the directory key
    takes it over (the index and the account's idnumber); a duplicate
    account a sync created from the directory is suspended and reported;
    the CSV person leaves the roster. The next sync gives the account its
    directory values. Exit code 1 when a pair could not be linked.

    \b
    Example:
      farm reconcile --tenant 0340041K
      farm reconcile --tenant 0340041K --apply
    """
    from farm.engine.reconcile import ReconcileError, reconcile_tenant
    from farm.registry import RegistryError

    farm = load_farm_or_fail(obj)
    tenant_id = tenant_of(farm, tenant)
    url = registry_url or farm.settings.registry_url
    with open_registry(url) as registry:
        try:
            registry.load_farm(farm)
            outcome = anyio.run(lambda: reconcile_tenant(farm, registry, tenant_id, apply=apply))
        except ReconcileError as error:
            fail(f"{tenant_id}: {error}; nothing was linked")
        except RegistryError as error:
            fail(f"{error}; nothing was linked")
    if as_json:
        click.echo(json.dumps(_json(outcome, apply), indent=2, ensure_ascii=False))
    else:
        _print(outcome, apply)
    if not outcome.ok:
        raise SystemExit(EXIT_FAILED)


def _print(outcome: ReconcileOutcome, apply: bool) -> None:
    out = console()
    found = outcome.findings
    pairs = Table(title=f"CSV people the directory brings, in {found.tenant}")
    for name in ("names", "CSV key", "directory key", "accounts", "confidence", "reason"):
        pairs.add_column(name, overflow="fold")
    for pair in found.pairs:
        pairs.add_row(
            Text(pair.names),
            Text(pair.csv_key),
            Text(pair.directory.source_key),
            _accounts(pair.csv_account, pair.directory_account),
            pair.confidence.value,
            Text(pair.reason),
        )
    out.print(pairs if found.pairs else f"no CSV person of {found.tenant} is in the directory")
    if found.ambiguous:
        table = Table(title="Ambiguous: listed, not linked")
        for name in ("names", "CSV keys", "directory keys", "reason"):
            table.add_column(name, overflow="fold")
        for item in found.ambiguous:
            table.add_row(
                Text(item.names),
                Text(", ".join(item.csv_keys)),
                Text(", ".join(item.directory_keys)),
                Text(item.reason),
            )
        out.print(table)
    if found.duplicates:
        table = Table(title="Moodle accounts the index holds twice")
        for name in ("account", "keys", "confidence", "reason"):
            table.add_column(name, overflow="fold")
        for dup in found.duplicates:
            table.add_row(
                str(dup.moodle_id),
                Text(", ".join(dup.keys)),
                dup.confidence.value,
                Text(dup.reason),
            )
        out.print(table)
    if found.ghosts:
        table = Table(title="Ghost accounts: in the index, held by no source")
        for name in ("key", "account", "username", "confidence", "reason"):
            table.add_column(name, overflow="fold")
        for ghost in found.ghosts:
            table.add_row(
                Text(ghost.key),
                str(ghost.moodle_id or "-"),
                Text(ghost.username),
                ghost.confidence.value,
                Text(ghost.reason),
            )
        out.print(table)
    out.print(_counts(found))
    if not apply:
        if found.pairs:
            out.print("Listing only: nothing was linked. Run it again with --apply to link.")
        return
    for link in outcome.linked:
        out.print(Text(f"linked {link.pair.names}: {link.done}"))
    for pair, why in outcome.left:
        out.print(Text(f"left {pair.names}: {why}"))
    if outcome.run_id is not None:
        out.print(
            f"run {outcome.run_id}: {len(outcome.linked)} linked, {len(outcome.left)} left; "
            f"the next sync of {found.tenant} gives the accounts their directory values"
        )


def _accounts(csv: int | None, directory: int | None) -> Text:
    kept = f"CSV {csv}" if csv is not None else "CSV none"
    other = f", directory {directory} (duplicate)" if directory is not None else ""
    return Text(kept + other)


def _counts(found: Findings) -> str:
    return (
        f"{found.tenant}: {len(found.pairs)} pair(s) to link, {len(found.ambiguous)} ambiguous, "
        f"{len(found.duplicates)} account(s) held twice, {len(found.ghosts)} ghost(s)"
    )


def _json(outcome: ReconcileOutcome, apply: bool) -> dict[str, Any]:
    found = outcome.findings
    return {
        "tenant": found.tenant,
        "applied": apply,
        "pairs": [
            {
                "names": p.names,
                "csv_key": p.csv_key,
                "directory_key": p.directory.source_key,
                "csv_account": p.csv_account,
                "directory_account": p.directory_account,
                "confidence": p.confidence.value,
                "reason": p.reason,
            }
            for p in found.pairs
        ],
        "ambiguous": [
            {
                "names": a.names,
                "csv_keys": list(a.csv_keys),
                "directory_keys": list(a.directory_keys),
                "confidence": a.confidence.value,
                "reason": a.reason,
            }
            for a in found.ambiguous
        ],
        "duplicates": [
            {
                "account": d.moodle_id,
                "keys": list(d.keys),
                "confidence": d.confidence.value,
                "reason": d.reason,
            }
            for d in found.duplicates
        ],
        "ghosts": [
            {
                "key": g.key,
                "account": g.moodle_id,
                "username": g.username,
                "confidence": g.confidence.value,
                "reason": g.reason,
            }
            for g in found.ghosts
        ],
        "run": outcome.run_id,
        "linked": [
            {
                "csv_key": x.pair.csv_key,
                "directory_key": x.pair.directory.source_key,
                "done": x.done,
                "journal_lines": x.lines,
            }
            for x in outcome.linked
        ],
        "left": [
            {"csv_key": p.csv_key, "directory_key": p.directory.source_key, "reason": why}
            for p, why in outcome.left
        ],
    }
