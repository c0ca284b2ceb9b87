"""``farm sync``: sync selected tenants into their Moodle sites, now.

The command selects tenants, runs the coordinator in this process and shows
its events: a line per tenant and an overall bar in a terminal, nothing with
``--quiet``, one JSON summary with ``--json``. Ctrl-C or SIGTERM once: jobs
finish their current batch, record what Moodle confirmed and give their
leases back, and the run is marked interrupted; a second signal cancels at
once (leases are still released). Exit status: 0 when every tenant
succeeded, 1 otherwise, 130 when interrupted, 2 for usage errors.

The registry failing during the run is a failure like a site's: the run ends,
its summary (and ``--json``) is still printed with each tenant's reason, and
one line on stderr names the registry and what was left unrecorded; no
traceback. The end of the run retries the registry for ``--registry-retry``
seconds; what it still refuses is settled by the next run.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import click
import structlog

from farm.cli.context import (
    EXIT_INTERRUPTED,
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
)
from farm.cli.progress import ProgressView
from farm.cli.run_summary import exit_code, print_summary, registry_failure_line, result_json
from farm.config import Farm, TenantConfig
from farm.config.selection import SelectionError, select_tenants
from farm.engine.bus import EventBus
from farm.engine.coordinator import (
    Coordinator,
    InvalidOptions,
    RunResult,
    SyncRequest,
    check_options,
)
from farm.engine.distributed.errors import DistributedUnavailable
from farm.engine.events import Event
from farm.engine.executor import Executor
from farm.engine.leases import LeasePolicy
from farm.engine.wiring import Sources, client_provider
from farm.logs import configure_logs
from farm.model import Entity, Profile
from farm.notify import notify_after_run
from farm.options import CohortRetirementPolicy, RunOptions
from farm.registry import RegistryError, RunTrigger

#: Executors ``farm sync`` can run jobs on, by name.
EXECUTORS: tuple[str, ...] = ("local", "distributed")


_F = TypeVar("_F", bound=Callable[..., Any])


def run_options(function: _F) -> _F:
    """The options of every command that starts a run: --wait, --json, --log-json,
    --executor and --registry-retry (``farm sync``, ``farm apply``, ``farm undo``)."""
    for option in reversed(
        (
            click.option(
                "--wait", is_flag=True, help="Wait for tenants another run holds (default: refuse)."
            ),
            click.option(
                "--json", "as_json", is_flag=True, help="Print one JSON summary at the end."
            ),
            click.option(
                "--log-json",
                is_flag=True,
                help="Logs as JSON lines (the default off a terminal).",
            ),
            click.option(
                "--executor",
                type=click.Choice(EXECUTORS),
                default="local",
                show_default=True,
                help="Run jobs here, or queue them for 'farm worker' processes "
                "(PostgreSQL registry).",
            ),
            click.option(
                "--registry-retry",
                type=click.FloatRange(min=0),
                default=30.0,
                show_default=True,
                envvar="FARM_REGISTRY_RETRY",
                metavar="SECONDS",
                help="How long the end of a run retries a failing registry before leaving it "
                "to the next run.",
            ),
        )
    ):
        function = option(function)
    return function


def _csv(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


log = structlog.get_logger("farm.sync")


@click.command()
@click.option("--all", "everything", is_flag=True, help="Every tenant of the farm.")
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="Tenants with this tag (all given)."
)
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Tenants of this Moodle site.")
@click.option(
    "--tenant", "tenants", multiple=True, metavar="ID", help="A UAI or NetYpareo site id."
)
@click.option("--user", metavar="UID", help="Only this person (uid, login or source key).")
@click.option("--simulate", is_flag=True, help="Plan and report everything, write nothing.")
@click.option("--force", is_flag=True, help="Re-examine everything, ignoring digests.")
@click.option("--refresh-only", is_flag=True, help="Create nothing; update, link and remove.")
@click.option("--delta", is_flag=True, help="Read only entries changed since the last run.")
@click.option(
    "--entities", multiple=True, metavar="LIST", help=f"Among {','.join(Entity)} (default: all)."
)
@click.option(
    "--profiles", multiple=True, metavar="LIST", help=f"Among {','.join(Profile)} (default: all)."
)
@click.option(
    "--mode",
    type=click.Choice(["create-only", "update-only", "delete-only"]),
    help="Only one kind of operation: create-only (new accounts, cohorts, memberships), "
    "update-only (changed values), delete-only (removals: suspensions or deletions as the "
    "site's removal says, memberships ended). Default: all of them.",
)
@click.option("--allow-mass-removal", is_flag=True, help="Lift the safety stops for this run.")
@click.option(
    "--cohort-retirement",
    type=click.Choice([policy.value for policy in CohortRetirementPolicy]),
    help="Cohorts no tenant reads any more (last year's at the rentrée): keep them as they "
    "are, archive them (renamed and hidden), empty them, or delete them (default: the "
    "site's cohort_retirement).",
)
@click.option(
    "--cohort-removal",
    type=click.Choice(["keep", "delete"]),
    hidden=True,
    help="The old name of --cohort-retirement: keep is empty, delete is delete.",
)
@click.option(
    "--verbose", "-v", is_flag=True, help="Keep one line per operation in the run's reports."
)
@click.option(
    "--adopt-cohorts",
    is_flag=True,
    help="Also manage cohorts and groups without the farm's prefix (use with care).",
)
@click.option(
    "--task",
    metavar="NAME",
    help="Run this scheduled task, enabled or disabled, with its options "
    "(farm schedule list says what each does).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@run_options
@registry_option
@click.pass_obj
def sync(
    obj: CliContext,
    everything: bool,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    tenants: tuple[str, ...],
    user: str | None,
    simulate: bool,
    force: bool,
    refresh_only: bool,
    delta: bool,
    entities: tuple[str, ...],
    profiles: tuple[str, ...],
    mode: str | None,
    allow_mass_removal: bool,
    cohort_retirement: str | None,
    cohort_removal: str | None,
    verbose: bool,
    adopt_cohorts: bool,
    task: str | None,
    wait: bool,
    quiet: bool,
    as_json: bool,
    log_json: bool,
    executor: str,
    registry_retry: float,
    registry_url: str | None,
) -> None:
    """Sync tenants into their Moodle sites: one job per site, sites in parallel.

    Choose tenants with --all, or any of --tag, --site, --tenant (criteria
    combine with "and"); --user narrows the run to one person. A tenant
    another run is syncing is refused, naming who holds it and since when,
    unless --wait is given. --task runs one scheduled task (NetYpareo's
    pdgroups, an ENT's users...) with the options the scheduler gives it,
    even a disabled one; it counts as the task's last run.

    \b
    Examples:
      farm sync --all
      farm sync --tag academie:montpellier --simulate
      farm sync --tenant 0340041K --user F1700ivg
      farm sync --site cfa-occitanie --entities users,cohorts --wait
      farm sync --site cfa-occitanie --task pdgroups --simulate
      farm sync --all --json --quiet > run.json
      farm sync --all --executor distributed   # jobs run on 'farm worker' machines
    """
    configure_logs(as_json=True if log_json else None)
    if not (everything or tags or sites or tenants):
        raise click.UsageError("say which tenants: --all, --tag, --site or --tenant")
    farm = load_farm_or_fail(obj)
    try:
        chosen = select_tenants(farm, tags=tags, sites=sites, tenants=tenants)
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    given: dict[str, Any] = {}
    for name, flag in (
        ("simulate", simulate),
        ("force", force),
        ("refresh_only", refresh_only),
        ("delta", delta),
        ("allow_mass_removal", allow_mass_removal),
        ("adopt_cohorts", adopt_cohorts),
        ("verbose", verbose),
    ):
        if flag:
            given[name] = True
    if entities:
        given["entities"] = _csv(entities)
    if profiles:
        given["profiles"] = _csv(profiles)
    if mode:
        given["mode"] = mode
    if cohort_retirement:
        given["cohort_retirement"] = cohort_retirement
    if cohort_removal:
        given["cohort_removal"] = cohort_removal
    if user:
        given["person"] = user
    if task is not None:
        given = _with_task(task, chosen, given)
    try:
        # Typed once, here: the coordinator, the jobs and the queue carry RunOptions.
        options = RunOptions.from_mapping(given)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    selection: dict[str, Any] = {
        "tags": list(tags),
        "sites": list(sites),
        "tenants_asked": list(tenants),
    }
    if task is not None:
        # The registry finds a task's last run by this (farm schedule list).
        selection["task"] = task
    if user:
        selection["user"] = [user]
    request = SyncRequest(
        tenants=chosen,
        options=options,
        trigger=RunTrigger.TARGETED if user else RunTrigger.BATCH,
        selection=selection,
    )
    try:
        check_options(farm, chosen, options)
    except InvalidOptions as error:
        raise click.UsageError(str(error)) from None
    show = not quiet and not as_json and sys.stdout.isatty()
    url = registry_url or farm.settings.registry_url
    with open_registry(url) as registry:
        try:
            # The farm files are the truth: a site added since the last load gets its rows.
            registry.load_farm(farm)
            result = anyio.run(
                run_request, farm, registry, request, wait, show, executor, registry_retry
            )
        except InvalidOptions as error:
            raise click.UsageError(str(error)) from None
        except DistributedUnavailable as error:
            fail(str(error))
        except RegistryError as error:
            fail(f"{error}; nothing was synced")
    if as_json:
        summary = result_json(result, simulated=simulate)
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    elif not quiet:
        print_summary(result, chosen)
    if result.registry_error is not None:
        click.echo(registry_failure_line(result), err=True)
    raise SystemExit(exit_code(result))


#: What a task decides itself: given with --task, these are refused rather than merged.
_TASK_DECIDES = ("entities", "profiles", "mode", "delta", "refresh_only")


def _with_task(task: str, chosen: Sequence[TenantConfig], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (the command line's options) on top of ``task``'s, or a usage error."""
    from farm.engine.schedule import task_options, task_refusal

    refusal = task_refusal(task, chosen)
    if refusal is not None:
        raise click.UsageError(refusal)
    clash = [name for name in _TASK_DECIDES if name in given]
    if clash:
        flags = ", ".join("--" + name.replace("_", "-") for name in clash)
        raise click.UsageError(f"--task {task} decides {flags} itself: leave them out")
    return {**task_options(task).to_json(), **given}


@asynccontextmanager
async def open_executor(
    name: str, coordinator: Coordinator, observe: Callable[[Event], None] | None = None
) -> AsyncIterator[Executor]:
    """The executor called ``name`` for ``coordinator``'s runs.

    ``local`` runs the jobs in this process; ``distributed`` queues them for
    ``farm worker`` processes on the registry's PostgreSQL database, and
    passes the events the workers record to ``observe``. Raises
    ``DistributedUnavailable`` when the queue cannot be used, before any run
    is recorded; ValueError for an unknown name.
    """
    if name == "local":
        yield coordinator.local_executor()
        return
    if name != "distributed":
        raise ValueError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
    from farm.engine.distributed.app import procrastinate_app
    from farm.engine.distributed.executor import DistributedExecutor
    from farm.engine.distributed.queue import check_ready

    app = procrastinate_app(coordinator.registry.url)
    async with app.open_async():
        await check_ready(app, coordinator.registry.url)
        yield DistributedExecutor(
            coordinator.context(), app=app, leases=coordinator.leases, observe=observe
        )


async def run_request(
    farm: Farm,
    registry: Any,
    request: SyncRequest,
    wait: bool,
    show: bool,
    executor: str = "local",
    registry_retry: float = 30.0,
) -> RunResult:
    """Run ``request`` through the coordinator as ``farm sync`` does, and return how it ended.

    The progress board is drawn when ``show``; Ctrl-C or SIGTERM once
    finishes the current batches, twice stops at once (exit 130). Tells
    ``[notify]`` about tenants whose state changed, unless simulated.
    ``farm schedule execute`` runs a task with it.
    """
    stop = anyio.Event()
    sources = Sources(farm)
    result: RunResult | None = None
    async with EventBus(registry) as bus:
        view = ProgressView(request.tenants) if show else None
        unsubscribe: Callable[[], None] = (
            bus.subscribe(view.update) if view is not None else (lambda: None)
        )
        coordinator = Coordinator(
            farm=farm,
            registry=registry,
            events=bus,
            sources=sources,
            clients=client_provider(),
            stop=stop,
            leases=LeasePolicy(wait=wait, ttl=timedelta(seconds=90)),
            registry_retry=registry_retry,
        )
        observe = view.update if view is not None else None
        try:
            # Opened before the run exists: a queue that cannot be used records nothing.
            async with (
                open_executor(executor, coordinator, observe) as chosen,
                anyio.create_task_group() as group,
            ):
                group.start_soon(_signals, stop, group.cancel_scope)
                if view is not None:
                    view.start()
                result = await coordinator.run(request, chosen)
                group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            # The run's own error (the registry failing before the run began, say),
            # as it is: the caller says it in one line, not as an exception group.
            raise _sole(group_error) from None
        finally:
            unsubscribe()
            if view is not None:
                view.stop()
            with anyio.CancelScope(shield=True):
                await sources.aclose()
    if result is None:
        # Cancelled hard by a second signal: the coordinator marked the run interrupted.
        raise SystemExit(EXIT_INTERRUPTED)
    if not request.options.simulate and result.registry_error is None:
        await notify_after_run(farm, registry, list(result.tenants))
    return result


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error of an exception group (nested or not), or the group itself."""
    errors = [e for e in group.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
    if len(errors) != 1:
        return group
    error = errors[0]
    return _sole(error) if isinstance(error, BaseExceptionGroup) else error


async def _signals(stop: anyio.Event, scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for signum in received:
            if not stop.is_set():
                click.echo(
                    f"\n{signal.Signals(signum).name}: finishing current batches "
                    "(send it again to stop at once)",
                    err=True,
                )
                stop.set()
            else:
                scope.cancel()
                return
