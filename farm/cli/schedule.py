"""``farm schedule list`` and ``farm schedule run``: the farm's scheduled tasks.

``list`` shows, per tenant and task, its cron expression, last run ("never")
and next run ("disabled"), as Moodle's scheduled-task page does. ``run`` is
the scheduler: a long-running process (systemd or cron friendly) that holds
the registry's ``scheduler`` lease, so only one runs per registry, and
launches due tasks through the coordinator. A task whose site another run
holds (two tasks firing together, or a long run still going) waits for it,
until the task's next firing or ``--max-wait``, then runs; its reports say
how long it waited. SIGTERM or Ctrl-C stops it cleanly: nothing new starts,
running jobs finish their current batch.
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

from farm.cli import CliContext
from farm.cli.registry import fail, load_farm_or_fail, open_registry, registry_option
from farm.config import Farm
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator
from farm.engine.leases import LeasePolicy, LeaseRefused, hold_leases
from farm.engine.schedule import (
    ALL_TASKS,
    TaskSchedule,
    last_runs,
    next_run,
    run_scheduler,
    schedules,
)
from farm.engine.schedule_queue import SiteQueue, run_task
from farm.engine.wiring import Sources, client_provider
from farm.logs import bind_task, configure_logs
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
            last = last_runs(registry, {e.tenant for e in entries})
        except RegistryError as error:
            fail(str(error))
    now = datetime.now(UTC)
    click.echo(f"{'tenant':<22} {'task':<9} {'schedule':<20} {'last run':<18} next run")
    for entry in entries:
        runs = [last.get((entry.tenant, entry.task)), last.get((entry.tenant, ALL_TASKS))]
        previous = max((r for r in runs if r is not None), default=None)
        upcoming = next_run(entry.cron, now, farm.settings.timezone)
        click.echo(
            f"{entry.tenant:<22} {entry.task:<9} {entry.cron:<20} "
            f"{_local(previous, zone) if previous else 'never':<18} "
            f"{_local(upcoming, zone) if upcoming else 'disabled'}"
        )
    click.echo(f"Times in {farm.settings.timezone}.")


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


async def _scheduler(farm: Farm, registry: Registry, max_wait: timedelta | None = None) -> None:
    stop = anyio.Event()
    sources = Sources(farm)
    entries = schedules(farm)
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
            group.start_soon(_signals, stop)
            group.start_soon(_stop_when_lost, held.lost, stop)
            log.info("scheduler started", tasks=len(entries), timezone=timezone)

            queue = SiteQueue()  # the scheduler's tasks take turns on each site

            async def launch(task: str, tenants: list[str]) -> None:
                await _launch(coordinator, entries, queue, task, tenants, max_wait)

            await run_scheduler(entries, timezone, launch, stop)
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
