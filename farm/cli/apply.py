"""``farm apply RUN``: apply exactly the plan a simulation stored, as a new run.

The new run goes through the coordinator as ``farm sync`` does (leases,
progress, reports, journal, notifications, ``--executor distributed``), but
its jobs read no source and plan nothing: they apply the stored operations,
once nothing they were computed from drifted (:mod:`farm.engine.stored_apply`).
What cannot be applied at all is refused before any run starts (exit 1): an
unknown run, one that was not a simulation, a plan already applied (naming
the run that applied it), a plan older than ``[farm] plan_max_age`` without
``--force-stale``. Drift and a safety stop fail the tenants with their
reasons, each drifted record and field named, and nothing is written: exit 1.

``--replan-drifted`` runs a simulation instead: the drifted records are
planned again from the sources and stored, with the rest of the plan, as the
new run's plan; the command prints the drift and the re-planned operations
first, then how to review and apply it.
"""

from __future__ import annotations

import json
import sys

import anyio
import click

from farm.cli.context import CliContext, fail, load_farm_or_fail, open_registry, registry_option
from farm.cli.plan import print_plan
from farm.cli.run_summary import exit_code, print_summary, registry_failure_line, result_json
from farm.cli.screen import table_console
from farm.cli.sync import run_options, run_request
from farm.clock import zone_of
from farm.engine.apply_request import ApplyRefused, apply_request
from farm.engine.coordinator import InvalidOptions, RunResult, check_options
from farm.engine.distributed.errors import DistributedUnavailable
from farm.logs import configure_logs
from farm.plan_codec import StoredPlanError
from farm.registry import Registry, RegistryError


@click.command()
@click.argument("run_id", metavar="RUN", type=int)
@click.option(
    "--force-stale", is_flag=True, help="Apply a plan older than [farm] plan_max_age anyway."
)
@click.option(
    "--replan-drifted",
    is_flag=True,
    help="Plan the drifted records again and store a new plan to review (writes nothing).",
)
@click.option("--verbose", "-v", is_flag=True, help="Keep one line per operation in the reports.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@run_options
@registry_option
@click.pass_obj
def apply(
    obj: CliContext,
    run_id: int,
    force_stale: bool,
    replan_drifted: bool,
    verbose: bool,
    wait: bool,
    quiet: bool,
    as_json: bool,
    log_json: bool,
    executor: str,
    registry_retry: float,
    registry_url: str | None,
) -> None:
    """Apply exactly the plan simulated run RUN stored (see 'farm plan show RUN').

    Before writing, each job checks that the index and, for the records it
    touches, Moodle still hold what the plan was computed from, and the
    safety rules again; anything drifted is refused and named. A plan is
    applied once. Exit status: 0 when every tenant succeeded, 1 otherwise
    (drift, safety, refusal), 130 when interrupted.

    \b
    Examples:
      farm sync --tag academie:montpellier --simulate     # run 42
      farm plan show 42
      farm apply 42
      farm apply 42 --replan-drifted                      # run 43: a new plan
      farm apply 43
    """
    configure_logs(as_json=True if log_json else None)
    farm = load_farm_or_fail(obj)
    show = not quiet and not as_json and sys.stdout.isatty()
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            registry.load_farm(farm)
            request = apply_request(
                farm,
                registry,
                run_id,
                force_stale=force_stale,
                replan_drifted=replan_drifted,
                verbose=verbose,
            )
            check_options(farm, request.tenants, request.options)
            result = anyio.run(
                run_request, farm, registry, request, wait, show, executor, registry_retry
            )
        except (ApplyRefused, InvalidOptions) as error:
            fail(f"farm apply: {error}; nothing was applied")
        except DistributedUnavailable as error:
            fail(str(error))
        except RegistryError as error:
            fail(f"{error}; nothing was applied")
        if replan_drifted and not as_json and not quiet:
            _show_replan(obj, registry, result)
    if as_json:
        summary = result_json(result, simulated=replan_drifted)
        summary["applies" if not replan_drifted else "replans"] = run_id
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    elif not quiet:
        print_summary(result, request.tenants)
        if replan_drifted and result.succeeded:
            click.echo(
                f"Review the new plan: farm plan show {result.run_id}; "
                f"apply it: farm apply {result.run_id}"
            )
    if result.registry_error is not None:
        click.echo(registry_failure_line(result), err=True)
    raise SystemExit(exit_code(result))


def _show_replan(obj: CliContext, registry: Registry, result: RunResult) -> None:
    """The drift, then the re-planned records' operations value by value."""
    where = zone_of(obj.farm_dir)
    try:
        plans = registry.stored_plans(result.run_id)
        now = registry.registry_time()
    except (RegistryError, StoredPlanError) as error:
        click.echo(f"the re-planned plan cannot be shown: {error}", err=True)
        return
    console = table_console()
    for stored in plans:
        if not stored.drift:
            console.print(f"Site {stored.site}: nothing drifted; the plan is stored again as is.")
            continue
        print_plan(console, stored, where, now, only={(d.kind, d.key) for d in stored.drift})
