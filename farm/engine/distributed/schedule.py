"""Scheduled tasks on the workers: one tick a minute for the whole cluster.

procrastinate's periodic tasks read cron expressions in UTC, while the
farm's schedules are wall-clock times of the farm's time zone (Europe/Paris
by default) with cron's daylight-saving rules, which :mod:`farm.engine.schedule`
implements. So the schedules are not registered one by one as periodic
tasks: a single periodic task, ``farm.schedule_tick``, is deferred every
minute (procrastinate defers each minute once, however many workers run),
and each tick asks :func:`~farm.engine.schedule.due` which tasks fire in the
minute it covers, starts one run per task and queues its jobs.

No process waits on those runs: ``farm.finish_run`` looks at a run every
``FINISH_EVERY`` seconds and, once each tenant has a report, gives the run
its final status (as the coordinator would); a run still missing reports a
day later is marked interrupted.

A ``farm schedule run`` process holds the registry's ``scheduler`` lease;
while it does, ticks start nothing, so one registry never has two schedulers.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import procrastinate
import structlog

from farm.config import Farm
from farm.engine.coordinator import job_specs, run_status
from farm.engine.distributed.executor import outcome_of_report
from farm.engine.distributed.queue import (
    QUEUE,
    RUNTIME_KEY,
    TICK_TASK,
    AlreadyQueued,
    defer_job,
)
from farm.engine.events import Event, EventKind, Phase
from farm.engine.executor import give_up
from farm.engine.schedule import due, schedules, task_options, wait_bound
from farm.registry import (
    Lease,
    LeaseHeld,
    Registry,
    RunId,
    RunStatus,
    RunTrigger,
    holder_role,
    lease_holder,
)

if TYPE_CHECKING:
    from farm.engine.distributed.worker import WorkerRuntime

FINISH_TASK: Final = "farm.finish_run"
FINISH_EVERY: Final = 15
GIVE_UP_AFTER: Final = 24 * 3600
#: The lease ``farm schedule run`` holds for as long as it runs (see farm/cli/schedule.py).
SCHEDULER_LEASE: Final = "scheduler"
#: The role a tick's holder name carries, and how long a tick waits for another minute's.
TICK_ROLE: Final = "tick"
TICK_WAIT: Final = 45.0

log = structlog.get_logger("farm.distributed")


def register_schedule_tasks(app: procrastinate.App) -> None:
    """Add the tick (periodic, every minute) and the run finisher to ``app``."""
    tick = app.task(name=TICK_TASK, queue=QUEUE, pass_context=True)(schedule_tick)
    app.periodic(cron="* * * * *", periodic_id="farm", queueing_lock=TICK_TASK)(tick)
    app.task(name=FINISH_TASK, queue=QUEUE, pass_context=True)(finish_run)


async def schedule_tick(context: procrastinate.JobContext, timestamp: int) -> list[int]:
    """Start the runs of the tasks that fire in the minute ending at ``timestamp``; their ids."""
    runtime: WorkerRuntime = context.additional_context[RUNTIME_KEY]
    registry = runtime.registry
    until = datetime.fromtimestamp(timestamp, UTC)
    holder = lease_holder(TICK_ROLE)
    taken = await _take_scheduler_lease(registry, holder)
    if isinstance(taken, LeaseHeld):
        log.info("tick skipped: another scheduler holds the lease", holder=taken.holder)
        return []
    try:
        farm = await anyio.to_thread.run_sync(runtime.farm)
        fired = due(schedules(farm), until - timedelta(seconds=60), until, farm.settings.timezone)
        by_task: dict[str, list[str]] = defaultdict(list)
        for entry in fired:
            by_task[entry.task].append(entry.tenant)
        started: list[int] = []
        for task, tenants in sorted(by_task.items()):
            started.append(await _start(context.app, runtime, farm, task, tenants, timestamp))
        return started
    finally:
        await anyio.to_thread.run_sync(registry.release_lease, SCHEDULER_LEASE, holder)


async def _take_scheduler_lease(registry: Registry, holder: str) -> Lease | LeaseHeld:
    """The scheduler lease, waiting out another minute's tick but not a ``farm schedule run``.

    Ticks of two minutes can run at once (a worker that starts late defers the
    minute it missed beside the current one, and a slow registry stretches a
    tick): the later one waits for the earlier instead of dropping its minute.
    """
    deadline = time.monotonic() + TICK_WAIT
    while True:
        taken = await anyio.to_thread.run_sync(
            registry.acquire_lease, SCHEDULER_LEASE, holder, timedelta(seconds=60)
        )
        if (
            not isinstance(taken, LeaseHeld)
            or holder_role(taken.holder) != TICK_ROLE
            or time.monotonic() >= deadline
        ):
            return taken
        await anyio.sleep(0.5)


async def _start(
    app: procrastinate.App,
    runtime: WorkerRuntime,
    farm: Farm,
    task: str,
    tenants: list[str],
    timestamp: int,
) -> RunId:
    registry, events = runtime.registry, runtime.events
    options = task_options(task)
    run_id = await anyio.to_thread.run_sync(
        lambda: registry.start_run(
            trigger=RunTrigger.SCHEDULE,
            selection={"task": task, "tenants": tenants, "tick": timestamp},
            options=options.to_json(),
        )
    )
    specs = job_specs(run_id, [farm.tenants[t] for t in tenants], options, RunTrigger.SCHEDULE)
    events.publish(
        Event(
            run_id=run_id,
            kind=EventKind.RUN_STARTED,
            counts={"tenants": len(tenants), "sites": len(specs)},
            message=RunTrigger.SCHEDULE.value,
        )
    )
    for spec in specs:
        for tenant in spec.tenants:
            events.publish(
                Event(run_id, EventKind.PHASE, site=spec.site, tenant=tenant, phase=Phase.QUEUED)
            )
        # A site held elsewhere (a `farm sync`, another worker) is waited for, until
        # the task's next firing: a scheduled task queues, it is not skipped.
        bound = wait_bound(
            schedules(farm),
            task,
            spec.tenants,
            datetime.fromtimestamp(timestamp, UTC),
            farm.settings.timezone,
        )
        try:
            await defer_job(app, spec, wait_leases=True, wait_timeout=bound.seconds)
        except AlreadyQueued as refused:
            await give_up(registry, events, spec, Phase.SKIPPED, str(refused))
    await _finish_later(app, run_id, time.time() + GIVE_UP_AFTER)
    log.info("scheduled run started", run=run_id, task=task, tenants=len(tenants))
    return run_id


async def _finish_later(app: procrastinate.App, run_id: int, deadline: float) -> None:
    deferrer = app.configure_task(
        FINISH_TASK, queue=QUEUE, schedule_in={"seconds": FINISH_EVERY}, lock=f"run:{run_id}"
    )
    await deferrer.defer_async(run_id=run_id, deadline=deadline)


async def finish_run(context: procrastinate.JobContext, run_id: int, deadline: float) -> str:
    """Finish a scheduled run once each tenant has a report; else look again later."""
    runtime: WorkerRuntime = context.additional_context[RUNTIME_KEY]
    registry = runtime.registry
    report = await anyio.to_thread.run_sync(registry.get_report, RunId(run_id))
    if report.run.status is not RunStatus.RUNNING:
        return report.run.status.value
    wanted = [str(t) for t in report.run.selection.get("tenants", ())]
    outcomes = {r.tenant: outcome_of_report(r) for r in report.tenants}
    reason: str | None = None
    if any(t not in outcomes for t in wanted):
        if time.time() < deadline:
            await _finish_later(context.app, run_id, deadline)
            return RunStatus.RUNNING.value
        status = RunStatus.INTERRUPTED
        reason = "no report from some tenants within a day"
    else:
        status = run_status(outcomes, stopped=False)
        bad = sorted(t for t, o in outcomes.items() if o.phase is not Phase.SUCCEEDED)
        if bad:
            reason = f"{len(bad)} of {len(outcomes)} tenants did not succeed: {', '.join(bad[:5])}"
    await anyio.to_thread.run_sync(
        lambda: registry.finish_run(RunId(run_id), status, reason=reason)
    )
    runtime.events.publish(
        Event(
            run_id=run_id,
            kind=EventKind.RUN_FINISHED,
            message=status.value if reason is None else f"{status.value}: {reason}",
        )
    )
    return status.value
