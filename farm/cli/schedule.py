"""``farm schedule list``, ``execute`` and ``run``: the farm's scheduled tasks.

``list`` shows the tasks as Moodle's scheduled-task page does, at farm
scale (:mod:`farm.cli.schedule_views`): one row per task and cron expression
with its tenants counted, or with ``--tenant`` that tenant's tasks with
their cron fields, override, last run and result, next run or "disabled:
CLI only"; ``--json`` has every tenant x task. Times in the farm's zone, as
in every view. ``execute TASK`` is Moodle's "Run now": one task for the
tenants chosen, now, with the options the scheduler gives it, through the
coordinator as ``farm sync`` runs. ``run`` is
the scheduler: a long-running process (systemd or cron friendly) that holds
the registry's ``scheduler`` lease, so only one runs per registry, and
launches due tasks through the coordinator. A task whose site another run
holds (two tasks firing together, or a long run still going) waits for it,
until the task's next firing or ``--max-wait``, then runs; its reports say
how long it waited. SIGTERM or Ctrl-C stops it cleanly: nothing new starts,
running jobs finish their current batch. ``run`` follows the farm's files:
at every wake-up (at least once a minute) it reloads them if one changed and
logs what changed, so a task disabled in the files stops firing; after each
task it tells operators (``[notify]``) about tenants whose state changed.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import anyio
import click
import structlog
from rich.text import Text

from farm.cli.context import CliContext, fail, load_farm_or_fail, open_registry, registry_option
from farm.cli.schedule_views import farm_table, task_json, task_legend, task_lines, tenant_table
from farm.cli.screen import table_console
from farm.clock import label, zone
from farm.config import Farm, FarmConfigError, load_farm
from farm.config.selection import SelectionError, select_tenants
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator
from farm.engine.leases import LeasePolicy, LeaseRefused, hold_leases
from farm.engine.schedule import (
    FarmFiles,
    TaskSchedule,
    run_scheduler,
    schedule_changes,
    schedules,
    task_last_results,
)
from farm.engine.schedule_queue import SiteQueue, run_task
from farm.engine.wiring import Sources, client_provider
from farm.logs import bind_task, configure_logs
from farm.notify import notify_after_run
from farm.registry import Registry, RegistryError

log = structlog.get_logger("farm.scheduler")

SCHEDULER_LEASE = "scheduler"


@click.group()
def schedule() -> None:
    """List schedules, run a task now, or run the scheduler.

    Schedules are cron expressions per task in farm.toml's [schedules], with
    site and tenant overrides; "disabled" tasks run only from the command
    line ('farm schedule execute TASK' or 'farm sync --task TASK').
    """


@schedule.command("list")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only tenants with this tag.")
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Only this site's tenants.")
@click.option(
    "--tenant", "tenants", multiple=True, metavar="ID", help="This tenant's tasks, one by one."
)
@click.option("--json", "as_json", is_flag=True, help="Every tenant x task, for scripts.")
@registry_option
@click.pass_obj
def list_(
    obj: CliContext,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    tenants: tuple[str, ...],
    as_json: bool,
    registry_url: str | None,
) -> None:
    """The farm's scheduled tasks: one row per task and schedule, or one tenant's tasks.

    Without --tenant, a row per task and cron expression: how many tenants
    run it so, how many through a site or tenant override, its last run
    among them and their last results counted by state, its next run.
    A line under the tables says what each task does. With --tenant, that tenant's tasks
    as Moodle's scheduled-task page shows them: the cron fields, the
    override in effect, the last run and its result, the next run, or
    "disabled: CLI only" (run it with 'farm sync --task'). The last run of
    a task is the last run that did its work (a full sync counts). --json
    lists every tenant x task with all of that. Times in [farm] timezone.

    \b
    Examples:
      farm schedule list
      farm schedule list --tag academie:toulouse
      farm schedule list --tenant 0340041K
      farm schedule list --json | jq '.[] | select(.last_run.status == "failed")'
    """
    farm = load_farm_or_fail(obj)
    try:
        chosen = select_tenants(farm, tags=tags, sites=sites, tenants=tenants)
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    entries = schedules(farm, chosen)
    where = zone(farm.settings.timezone)
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            last = task_last_results(registry, {e.tenant for e in entries})
        except RegistryError as error:
            fail(str(error))
    lines = task_lines(farm, entries, last, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps([task_json(line, where) for line in lines], indent=2))
        return
    console = table_console()
    if not tenants:
        console.print(farm_table(lines, where))
    for tenant in chosen if tenants else ():
        config = farm.tenants[tenant.id]
        console.print(
            Text(f"{config.id}  {config.name}", style="bold")
            + Text(f"  (site {config.site})", style="dim")
        )
        console.print(tenant_table([li for li in lines if li.entry.tenant == tenant.id], where))
    console.print(task_legend(lines), end="")
    console.print(
        f"Times in {label(where)}. 'override': a site or tenant file sets the task's "
        "schedule; last run: the last run that did the task's work (a full sync counts).",
        highlight=False,
    )


@schedule.command("execute")
@click.argument("task")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tenants with this tag.")
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Tenants of this site.")
@click.option("--tenant", "tenants", multiple=True, metavar="ID", help="A UAI or NetYpareo id.")
@click.option("--wait", is_flag=True, help="Wait for tenants another run holds (default: refuse).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary at the end.")
@registry_option
@click.pass_obj
def execute(
    obj: CliContext,
    task: str,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    tenants: tuple[str, ...],
    wait: bool,
    quiet: bool,
    as_json: bool,
    registry_url: str | None,
) -> None:
    """Run TASK now for the tenants chosen: Moodle's "Run now" (its --execute).

    The task runs with the options the scheduler gives it (users: accounts
    only; delta: entries changed since the last run; ...), through the
    coordinator as 'farm sync --task' runs, and counts as the task's last run in
    'farm schedule list'. A disabled task runs too: that is what "CLI only"
    means. Say which tenants with --tenant, --site or --tag; a tenant whose
    kind has no such task is refused. Exit status as 'farm sync'.

    \b
    Examples:
      farm schedule execute users --tenant 0340041K
      farm schedule execute delta --site cite-clemenceau-montpellier
      farm schedule execute students --tenant cfa-occ-montpellier --json
    """
    from farm.cli.run_summary import exit_code, print_summary, registry_failure_line, result_json
    from farm.cli.sync import run_request
    from farm.engine.coordinator import InvalidOptions, SyncRequest, check_options
    from farm.engine.schedule import task_options, task_refusal
    from farm.registry import RunTrigger

    if not (tags or sites or tenants):
        raise click.UsageError("say which tenants: --tenant, --site or --tag")
    farm = load_farm_or_fail(obj)
    try:
        chosen = select_tenants(farm, tags=tags, sites=sites, tenants=tenants)
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    refusal = task_refusal(task, chosen)
    if refusal is not None:
        raise click.UsageError(refusal)
    options = task_options(task)
    request = SyncRequest(
        tenants=chosen,
        options=options,
        trigger=RunTrigger.BATCH,
        selection={
            "task": task,
            "tags": list(tags),
            "sites": list(sites),
            "tenants_asked": list(tenants),
            "from": "schedule execute",
        },
    )
    try:
        check_options(farm, chosen, options)
    except InvalidOptions as error:
        raise click.UsageError(str(error)) from None
    show = not quiet and not as_json and sys.stdout.isatty()
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            registry.load_farm(farm)
            result = anyio.run(run_request, farm, registry, request, wait, show)
        except RegistryError as error:
            fail(f"{error}; nothing was run")
    if as_json:
        click.echo(json.dumps(result_json(result), indent=2, ensure_ascii=False))
    elif not quiet:
        print_summary(result, chosen)
    if result.registry_error is not None:
        click.echo(registry_failure_line(result), err=True)
    raise SystemExit(exit_code(result))


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class DurationType(click.ParamType[timedelta]):
    """``90m``, ``2h``, ``1d12h``, ``45s`` or plain seconds."""

    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip()
        if text.isdigit():
            return timedelta(seconds=int(text))
        match = _DURATION.fullmatch(text)
        if not text or match is None:
            self.fail(f"{value!r} is not a duration: write e.g. 90m, 2h, 1d12h or 45s", param, ctx)
        days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@schedule.command("run")
@click.option("--log-json", is_flag=True, help="Logs as JSON lines (the default off a terminal).")
@click.option(
    "--max-wait",
    type=DurationType(),
    default=None,
    help="How long a task waits at most for a site another run holds (e.g. 90m, 2h). "
    "Default: until the task's next firing. Past it, the task's tenants are skipped.",
)
@registry_option
@click.pass_obj
def run(
    obj: CliContext, log_json: bool, max_wait: timedelta | None, registry_url: str | None
) -> None:
    """Run the scheduler until SIGTERM: launch each task when its cron expression says.

    One scheduler runs per registry; a second one is refused, naming the first.
    Tasks queue instead of skipping each other: a task whose site another run
    holds (users still going when cohorts fires, two tasks at the same minute)
    waits for it until its own next firing, or --max-wait, then runs; its
    reports say "waited N s". A wait past the bound ends skipped, saying how
    long it waited and who held the site.

    \b
    Examples:
      farm --farm-dir /etc/farm schedule run --log-json   # a systemd unit's ExecStart
      farm schedule run --max-wait 2h                     # no task waits more than 2 hours
    """
    configure_logs(as_json=True if log_json else None, level=logging.INFO)
    farm = load_farm_or_fail(obj)
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            registry.load_farm(farm)
            anyio.run(_scheduler, farm, registry, max_wait)
        except LeaseRefused as refused:
            fail(f"another scheduler is running: {refused}")


class FarmReload:
    """Reloads the farm when its files change: the scheduler follows the files (issue 13).

    Called at every scheduler wake-up (at least once a minute). A change is
    logged with what it did to the schedules; files that no longer load are
    logged with their problems and the previous configuration is kept.
    """

    def __init__(self, farm: Farm, registry: Registry, coordinator: Coordinator | None) -> None:
        self.farm = farm
        self.registry = registry
        self.coordinator = coordinator
        self.entries = schedules(farm)
        self.files = FarmFiles(farm.root)

    def __call__(self) -> list[TaskSchedule] | None:
        if not self.files.changed():
            return None
        try:
            fresh = load_farm(self.farm.root)
        except FarmConfigError as error:
            log.error(
                "farm files changed but do not load: keeping the previous configuration",
                problems=len(error.problems),
                first=str(error.problems[0]) if error.problems else None,
            )
            return None
        entries = schedules(fresh)
        changes = schedule_changes(self.entries, entries)
        try:
            self.registry.load_farm(fresh)
        except RegistryError as error:
            log.error("farm reloaded but not registered", error=str(error))
        self.farm, self.entries = fresh, entries
        if self.coordinator is not None:
            self.coordinator.farm = fresh
        log.info(
            "farm files reloaded",
            tasks=len(entries),
            schedule_changes=len(changes),
            changes=changes[:20],
        )
        return entries


async def _scheduler(farm: Farm, registry: Registry, max_wait: timedelta | None = None) -> None:
    stop = anyio.Event()
    sources = Sources(farm)
    timezone = farm.settings.timezone
    policy = LeasePolicy(ttl=timedelta(seconds=60))
    try:
        async with (
            hold_leases(registry, [SCHEDULER_LEASE], policy) as held,
            EventBus(registry) as bus,
            anyio.create_task_group() as group,
        ):
            coordinator = Coordinator(
                farm=farm,
                registry=registry,
                events=bus,
                sources=sources,
                clients=client_provider(),
                stop=stop,
            )
            reload = FarmReload(farm, registry, coordinator)
            group.start_soon(_signals, stop)
            group.start_soon(_stop_when_lost, held.lost, stop)
            log.info("scheduler started", tasks=len(reload.entries), timezone=timezone)

            queue = SiteQueue()  # the scheduler's tasks take turns on each site

            async def launch(task: str, tenants: list[str]) -> None:
                await _launch(coordinator, reload.entries, queue, task, tenants, max_wait)
                await notify_after_run(reload.farm, registry, tenants)

            await run_scheduler(reload.entries, timezone, launch, stop, reload=reload)
            log.info("scheduler stopped")
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await sources.aclose()


async def _stop_when_lost(lost: anyio.Event, stop: anyio.Event) -> None:
    await lost.wait()
    log.error("scheduler lease lost: another scheduler took over; stopping")
    stop.set()


async def _launch(
    coordinator: Coordinator,
    entries: Sequence[TaskSchedule],
    queue: SiteQueue,
    task: str,
    tenants: list[str],
    max_wait: timedelta | None,
) -> None:
    with bind_task(task=task):
        try:
            result = await run_task(
                coordinator, entries, task, tenants, queue=queue, max_wait=max_wait
            )
            log.info("task done", run=result.run_id, status=result.status.value)
        except Exception:
            log.exception("task failed to start")


async def _signals(stop: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for signum in received:
            log.info(
                "stopping: no new task starts, running ones finish their batch",
                signal=signal.Signals(signum).name,
            )
            stop.set()
            return
