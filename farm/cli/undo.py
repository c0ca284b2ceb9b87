"""``farm undo RUN``: take a run back from its journal, simulated first, then ``--apply``.

The undo is built from what the run's journal says it did and the index as
it is now (:mod:`farm.undo`), and recorded as a simulated run of its own
with one stored plan per site (:mod:`farm.engine.undo_request`). This
command prints it value by value, as ``farm plan show`` does, with the
records it leaves alone and why (changed again by a later run: list them
with ``--include KEY`` to take them back anyway). Nothing is written.

With ``--apply`` the stored plan is then applied as ``farm apply`` applies
one: a new run through the coordinator (leases, progress, reports, journal,
notifications, ``--executor``) that checks, before writing, that the index
and Moodle still hold what the undo was computed from. That run has a
journal of its own, so ``farm undo`` takes it back in turn.

Exit status, like ``farm sync``: 0 when every tenant succeeded, 1 when
something failed or was refused (a run that cannot be undone, drift, a
safety stop, with ``--apply`` nothing left to take back), 130 when
interrupted, 2 for a bad command line.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import click

from farm.cli.context import (
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
)
from farm.cli.plan import plan_json, print_plan
from farm.cli.run_summary import exit_code, print_summary, registry_failure_line, result_json
from farm.cli.screen import table_console
from farm.cli.sync import run_options, run_request
from farm.clock import zone_of
from farm.config import Farm, TenantConfig
from farm.engine.apply_request import ApplyRefused, apply_request
from farm.engine.coordinator import InvalidOptions, RunResult, check_options
from farm.engine.distributed.errors import DistributedUnavailable
from farm.engine.undo_request import UndoRefused, UndoSimulation, simulate_undo
from farm.logs import configure_logs
from farm.registry import RegistryError
from farm.undo import CreatedPolicy


@click.command()
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--apply", "apply_", is_flag=True, help="Apply the undo (without it: only show it).")
@click.option(
    "--created",
    type=click.Choice([p.value for p in CreatedPolicy]),
    default=CreatedPolicy.SUSPEND.value,
    show_default=True,
    help="What becomes of the accounts the run created.",
)
@click.option(
    "--include",
    "include",
    multiple=True,
    metavar="KEY",
    help="Take this record back even if a later run changed it (repeatable).",
)
@click.option("--allow-mass-removal", is_flag=True, help="Lift the safety rules for this undo.")
@click.option("--verbose", "-v", is_flag=True, help="Keep one line per operation in the reports.")
@click.option("--quiet", "-q", is_flag=True, help="No plan, no progress display.")
@run_options
@registry_option
@click.pass_obj
def undo(
    obj: CliContext,
    run_id: int,
    apply_: bool,
    created: str,
    include: tuple[str, ...],
    allow_mass_removal: bool,
    verbose: bool,
    wait: bool,
    quiet: bool,
    as_json: bool,
    log_json: bool,
    executor: str,
    registry_retry: float,
    registry_url: str | None,
) -> None:
    """Take run RUN back: created accounts suspended, old values restored, links put back.

    Built from RUN's journal: accounts it created are suspended (or deleted,
    --created delete), fields it updated get their old values back,
    suspensions are revived, accounts and cohorts it deleted are created
    again with their members, cohorts it created are deleted, links it added
    or removed are removed or added back. A record a later run changed again
    is left alone and named; --include KEY takes it back anyway.

    Without --apply the undo is stored as a simulated run and shown value by
    value (old -> new); nothing is written. With --apply it is then applied
    like 'farm apply', after checking that nothing it was computed from
    drifted. The applying run can itself be undone. Exit status: 0 when
    every tenant succeeded, 1 otherwise (nothing to undo, drift, a safety
    stop), 130 when interrupted.

    \b
    Examples:
      farm journal --run 42                       # what run 42 did
      farm undo 42                                # what its undo would do (run 43)
      farm undo 42 --apply                        # do it now (runs 44 and 45)
      farm apply 43                               # or apply exactly what was shown
      farm undo 42 --include sdet:F17ivg --apply  # F17ivg changed since: take it back anyway
      farm undo 45 --apply                        # the undo of the undo
    """
    configure_logs(as_json=True if log_json else None)
    farm = load_farm_or_fail(obj)
    show = not quiet and not as_json
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            registry.load_farm(farm)
            simulation = simulate_undo(
                farm,
                registry,
                run_id,
                created=CreatedPolicy(created),
                include=include,
                allow_mass_removal=allow_mass_removal,
                verbose=verbose,
            )
        except UndoRefused as error:
            fail(f"farm undo: {error}; nothing was recorded")
        except RegistryError as error:
            fail(f"{error}; nothing was undone")
        where, now = zone_of(obj.farm_dir), registry.registry_time()
        if show:
            click.echo(f"Undo of run {run_id}, stored as simulated run {simulation.run_id}:")
            console = table_console()
            for stored in simulation.plans:
                print_plan(console, stored, where, now)
        if not apply_:
            if as_json:
                summary = result_json(simulation.result, simulated=True)
                summary.update(_undo_json(simulation))
                summary["plans"] = [plan_json(p, where, now) for p in simulation.plans]
                click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
            elif not quiet:
                _end_simulation(farm, simulation)
            raise SystemExit(exit_code(simulation.result))
        _refuse_unappliable(simulation, as_json=as_json)
        try:
            request = apply_request(farm, registry, simulation.run_id, verbose=verbose)
            check_options(farm, request.tenants, request.options)
            result = anyio.run(
                run_request,
                farm,
                registry,
                request,
                wait,
                show and sys.stdout.isatty(),
                executor,
                registry_retry,
            )
        except (ApplyRefused, InvalidOptions) as error:
            fail(f"farm undo: {error}; nothing was applied")
        except DistributedUnavailable as error:
            fail(str(error))
        except RegistryError as error:
            fail(f"{error}; nothing was applied")
    _end_apply(simulation, request.tenants, result, as_json=as_json, quiet=quiet)


def _undo_json(simulation: UndoSimulation) -> dict[str, Any]:
    """What a JSON summary says of the undo: the run it takes back, its size, what it leaves."""
    return {
        "undoes": simulation.undoes,
        "simulation": simulation.run_id,
        "operations": simulation.operations,
        "left_alone": [
            {
                "site": site,
                "kind": item.kind.value,
                "key": item.key,
                "label": item.label,
                "reason": item.reason,
                "includable": item.includable,
                "later_runs": list(item.later),
            }
            for site, items in simulation.left_alone.items()
            for item in items
        ],
    }


def _end_simulation(farm: Farm, simulation: UndoSimulation) -> None:
    """The simulation's tenants, then what to do next."""
    print_summary(simulation.result, tuple(farm.tenants[t] for t in simulation.result.tenants))
    if simulation.blocked:
        click.echo("A safety rule stopped the undo: review it, or rerun with --allow-mass-removal.")
    elif simulation.operations:
        click.echo(
            f"Apply it: farm undo {simulation.undoes} --apply, or exactly this plan: "
            f"farm apply {simulation.run_id}"
        )
    else:
        click.echo(f"Nothing of run {simulation.undoes} to take back.")


def _refuse_unappliable(simulation: UndoSimulation, *, as_json: bool) -> None:
    """Exit 1 before applying an undo a safety rule stopped, or one with nothing to do."""
    if simulation.blocked:
        sites = ", ".join(p.site for p in simulation.blocked)
        fail(
            f"farm undo: a safety rule stopped the undo on {sites} "
            f"(see farm plan show {simulation.run_id}); nothing was applied: "
            "rerun with --allow-mass-removal to lift it"
        )
    if not simulation.operations:
        if as_json:
            click.echo(json.dumps(_undo_json(simulation), indent=2, ensure_ascii=False))
        fail(f"farm undo: nothing of run {simulation.undoes} to take back; nothing was applied")


def _end_apply(
    simulation: UndoSimulation,
    tenants: tuple[TenantConfig, ...],
    result: RunResult,
    *,
    as_json: bool,
    quiet: bool,
) -> None:
    """The applying run's summary (its tenants, or JSON), then its exit status."""
    if as_json:
        summary = result_json(result)
        summary.update(_undo_json(simulation))
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    elif not quiet:
        print_summary(result, tenants)
        if result.succeeded:
            click.echo(f"Run {simulation.undoes} taken back; undo this: farm undo {result.run_id}")
    if result.registry_error is not None:
        click.echo(registry_failure_line(result), err=True)
    raise SystemExit(exit_code(result))
