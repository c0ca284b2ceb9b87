"""``farm schedule list`` and ``farm schedule run``: the farm's scheduled tasks.

``list`` shows, per tenant and task, its cron expression, whether a site or
tenant file overrides it, the last run that did the task's work and how it
ended ("never"), and the next run ("disabled"), as Moodle's scheduled-task
page does; times in the farm's zone, as in every view. ``run`` is
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

import logging
import re
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import anyio
import click
import structlog

from farm.cli.context import CliContext, fail, load_farm_or_fail, open_registry, registry_option
from farm.config import Farm, FarmConfigError, load_farm
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator
from farm.engine.leases import LeasePolicy, LeaseRefused, hold_leases
from farm.engine.schedule import (
    FarmFiles,
    TaskSchedule,
    next_run,
    override_of,
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
    """List schedules, or run the scheduler.

    Schedules are cron expressions per task in farm.toml's [schedules], with
    site and tenant overrides; "disabled" tasks run only from 'farm sync'.
    """


@schedule.command("list")
@click.option("--tenant", "tenants", multiple=True, metavar="ID", help="Only this tenant.")
@registry_option
@click.pass_obj
def list_(obj: CliContext, tenants: tuple[str, ...], registry_url: str | None) -> None:
    """Last and next run of each task of each tenant.

    \b
    Example:
      farm schedule list
      farm schedule list --tenant 0340041K
    """
    farm = load_farm_or_fail(obj)
    entries = [e for e in schedules(farm) if not tenants or e.tenant in tenants]
    zone = ZoneInfo(farm.settings.timezone)
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            last = task_last_results(registry, {e.tenant for e in entries})
        except RegistryError as error:
            fail(str(error))
    now = datetime.now(UTC)
    click.echo(
        f"{'tenant':<22} {'task':<9} {'schedule':<20} {'':<8} {'last run':<17} "
        f"{'last result':<12} next run"
    )
    for entry in entries:
        previous = last.get((entry.tenant, entry.task))
        upcoming = next_run(entry.cron, now, farm.settings.timezone)
        override = override_of(farm, farm.tenants[entry.tenant], entry.task)
        click.echo(
            f"{entry.tenant:<22} {entry.task:<9} {entry.cron:<20} {override:<8} "
            f"{_local(previous.at, zone) if previous else 'never':<17} "
            f"{previous.status if previous else '-':<12} "
            f"{_local(upcoming, zone) if upcoming else 'disabled'}"
        )
    click.echo(
        f"Times in {farm.settings.timezone}. 'override': a site or tenant file sets this "
        "task's schedule; last run: the last run that did the task's work (a full sync counts)."
    )


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


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
