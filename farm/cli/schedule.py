"""``farm schedule list`` and ``farm schedule run``: the farm's scheduled tasks.

``list`` shows, per tenant and task, its cron expression, last run ("never")
and next run ("disabled"), as Moodle's scheduled-task page does. ``run`` is
the scheduler: a long-running process (systemd or cron friendly) that holds
the registry's ``scheduler`` lease, so only one runs per registry, and
launches due tasks through the coordinator. SIGTERM or Ctrl-C stops it
cleanly: nothing new starts, running jobs finish their current batch.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import anyio
import click
import structlog

from farm.cli import CliContext
from farm.cli.registry import fail, load_farm_or_fail, open_registry, registry_option
from farm.cli.sync import configure_logging
from farm.config import Farm
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, SyncRequest
from farm.engine.leases import LeasePolicy, LeaseRefused, hold_leases
from farm.engine.schedule import TaskSchedule, due, next_run, next_wakeup, schedules, task_options
from farm.engine.wiring import Sources, client_provider
from farm.registry import Registry, RegistryError, RunTrigger

log = structlog.get_logger("farm.scheduler")

SCHEDULER_LEASE = "scheduler"
ALL_TASKS = "*"


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
            last = last_runs(registry)
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


def last_runs(registry: Registry, limit: int = 1000) -> Mapping[tuple[str, str], datetime]:
    """When each (tenant, task) last started, from the latest ``limit`` runs.

    A run records its task in its selection (the scheduler does); a run
    without one (a plain 'farm sync') ran every task and is keyed ``ALL_TASKS``.
    """
    found: dict[tuple[str, str], datetime] = {}
    for run in registry.list_runs(limit=limit):
        task = str(run.selection.get("task") or ALL_TASKS)
        for tenant in run.selection.get("tenants", ()):
            found.setdefault((str(tenant), task), run.started_at)
    return found


@schedule.command("run")
@click.option("--log-json", is_flag=True, help="Logs as JSON lines (the default off a terminal).")
@registry_option
@click.pass_obj
def run(obj: CliContext, log_json: bool, registry_url: str | None) -> None:
    """Run the scheduler until SIGTERM: launch each task when its cron expression says.

    One scheduler runs per registry; a second one is refused, naming the first.

    \b
    Example (a systemd unit's ExecStart):
      farm --farm-dir /etc/farm schedule run --log-json
    """
    configure_logging(as_json=log_json or not sys.stderr.isatty(), level=logging.INFO)
    farm = load_farm_or_fail(obj)
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            registry.load_farm(farm)
            anyio.run(_scheduler, farm, registry)
        except LeaseRefused as refused:
            fail(f"another scheduler is running: {refused}")


async def _scheduler(farm: Farm, registry: Registry) -> None:
    stop = anyio.Event()
    sources = Sources(farm)
    policy = LeasePolicy(ttl=timedelta(seconds=60))
    entries = schedules(farm)
    timezone = farm.settings.timezone
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
        signals = anyio.CancelScope()
        group.start_soon(_signals, stop, signals)
        log.info("scheduler started", tasks=len(entries), timezone=timezone)
        last = datetime.now(UTC)
        while not stop.is_set() and not held.lost.is_set():
            wakeup = next_wakeup(entries, last, timezone)
            pause = 60.0 if wakeup is None else (wakeup - datetime.now(UTC)).total_seconds()
            with anyio.move_on_after(max(0.0, min(pause, 60.0))):
                await stop.wait()
            if stop.is_set():
                break
            now = datetime.now(UTC)
            for task, chosen in _by_task(due(entries, last, now, timezone)).items():
                group.start_soon(_launch, coordinator, farm, task, chosen)
            last = now
        log.info("scheduler stopping")
        stop.set()
        signals.cancel()
    await sources.aclose()


def _by_task(entries: list[TaskSchedule]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        grouped[entry.task].append(entry.tenant)
    return grouped


async def _launch(coordinator: Coordinator, farm: Farm, task: str, tenants: list[str]) -> None:
    request = SyncRequest(
        tenants=tuple(farm.tenants[t] for t in tenants),
        options=task_options(task),
        trigger=RunTrigger.SCHEDULE,
        selection={"task": task},
    )
    with structlog.contextvars.bound_contextvars(task=task):
        try:
            result = await coordinator.run(request)
            log.info("task done", run=result.run_id, status=result.status.value)
        except Exception:
            log.exception("task failed to start")


async def _signals(stop: anyio.Event, scope: anyio.CancelScope) -> None:
    with scope, anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for _ in received:
            stop.set()
            return
