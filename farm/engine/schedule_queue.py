"""Scheduled runs queue for their site instead of skipping it.

Tasks that fire together (``users`` and ``cohorts`` both at 03:00), or a task
that fires while a long run still holds the site, used to find the site's
lease taken and end ``skipped``. :func:`run_task` runs one firing of a task
with a :class:`WaitingExecutor`, whose jobs wait for their site, for at most
the run's :class:`~farm.engine.schedule.WaitBound` (until the task's next
firing, or a configured maximum):

- first for their turn in the scheduler's :class:`SiteQueue`: the
  scheduler's own runs take turns on a site in firing order, each knowing
  which run is ahead, with no polling and no race for the lease;
- then for leases other processes hold (a ``farm sync``, a worker), polling
  the registry, without taking one of the run's ``jobs_in_flight`` slots.

A job that waited, then ran, says "waited N s for site:X, held by ..." in
each tenant's report (a warning, and a ``wait`` duration); a job still
waiting at the bound is skipped, its reason saying how long it waited and
who held the site. The jobs run through
:func:`~farm.engine.executor.run_leased_job`, as under the local executor.
Interactive ``farm sync`` keeps refusing a held site unless ``--wait`` is
given.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import anyio
import anyio.to_thread
import structlog

from farm.engine.coordinator import Coordinator, RunResult, SyncRequest
from farm.engine.events import Event, EventKind, EventSink, Phase
from farm.engine.executor import JobFunction, give_up, run_leased_job
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.leases import LeasePolicy, describe_holder, holder_words, lease_order, site_key
from farm.engine.outcome import JobOutcome, TenantOutcome
from farm.engine.schedule import TaskSchedule, WaitBound, task_options, wait_bound
from farm.registry import LeaseHeld, Registry, ReportWarning, RunId, RunTrigger
from farm.registry.leases import HolderProcess

log = structlog.get_logger("farm.scheduler")


def waited(seconds: float) -> str:
    """``waited 2.4 s``, ``waited 95 s``."""
    return f"waited {seconds:.1f} s" if seconds < 10 else f"waited {seconds:.0f} s"


async def run_task(
    coordinator: Coordinator,
    entries: Sequence[TaskSchedule],
    task: str,
    tenants: Sequence[str],
    *,
    queue: SiteQueue | None = None,
    max_wait: timedelta | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Run one firing of ``task`` for ``tenants``; its jobs wait for held sites (bounded).

    ``queue`` is the scheduler's, shared by all its firings; ``now`` is when
    the task fired (the bound runs to its next firing).
    """
    farm = coordinator.farm
    moment = now or datetime.now(UTC)
    bound = wait_bound(entries, task, tenants, moment, farm.settings.timezone, max_wait)
    request = SyncRequest(
        tenants=tuple(farm.tenants[t] for t in tenants),
        options=task_options(task),
        trigger=RunTrigger.SCHEDULE,
        selection={"task": task},
    )
    executor = WaitingExecutor(
        coordinator.context(),
        jobs_in_flight=farm.settings.jobs_in_flight,
        bound=bound,
        queue=queue,
        task=task,
        leases=coordinator.leases,
        job=coordinator.job,
    )
    return await coordinator.run(request, executor)


class SiteQueue:
    """The turns of one scheduler's runs on each site: first come, first served.

    A job holds its site's turn from before it takes its leases until it is
    done, so the scheduler's tasks wait here for each other, in order.
    """

    def __init__(self) -> None:
        self._locks: dict[str, anyio.Lock] = {}
        self._holders: dict[str, str] = {}

    def holder(self, site: str) -> str | None:
        """Who has ``site``'s turn now (``run 12 (users)``), if anyone."""
        return self._holders.get(site)

    def try_take(self, site: str, who: str) -> bool:
        """Take ``site``'s turn if it is free."""
        try:
            self._locks.setdefault(site, anyio.Lock()).acquire_nowait()
        except anyio.WouldBlock:
            return False
        self._holders[site] = who
        return True

    async def take(self, site: str, who: str, stop: anyio.Event, until: float) -> bool:
        """Wait for ``site``'s turn until ``until`` (anyio's clock) or ``stop``; True if taken."""
        if self.try_take(site, who):
            return True
        lock = self._locks[site]
        taken = False
        with anyio.move_on_after(max(0.0, until - anyio.current_time())):
            async with anyio.create_task_group() as group:

                async def stopped() -> None:
                    await stop.wait()
                    group.cancel_scope.cancel()

                group.start_soon(stopped)
                await lock.acquire()
                taken = True
                self._holders[site] = who
                group.cancel_scope.cancel()
        return taken

    def give(self, site: str) -> None:
        """Give ``site``'s turn to the next in line."""
        self._holders.pop(site, None)
        self._locks[site].release()


class WaitingExecutor:
    """Runs a scheduled run's jobs; a job whose site is held waits for it (see the module).

    As :class:`~farm.engine.executor.LocalExecutor`, ``jobs_in_flight`` at once,
    each through :func:`~farm.engine.executor.run_leased_job`; ``bound`` counts
    from the moment the run's jobs are handed over. Without a ``queue`` (one
    shared by the scheduler's runs) the run has one of its own.
    """

    def __init__(
        self,
        ctx: JobContext,
        *,
        jobs_in_flight: int,
        bound: WaitBound,
        queue: SiteQueue | None = None,
        task: str | None = None,
        leases: LeasePolicy | None = None,
        job: JobFunction = run_job,
    ) -> None:
        self.ctx = ctx
        self.jobs_in_flight = jobs_in_flight
        self.bound = bound
        self.queue = queue or SiteQueue()
        self.task = task
        self.leases = leases or LeasePolicy()
        self.job = job

    async def run(self, specs: Sequence[JobSpec]) -> list[JobOutcome]:
        deadline = anyio.current_time() + self.bound.seconds
        limiter = anyio.CapacityLimiter(self.jobs_in_flight)
        outcomes: list[JobOutcome] = []

        async def one(spec: JobSpec) -> None:
            outcomes.append(await _QueuedJob(self, spec, deadline).run(limiter))

        async with anyio.create_task_group() as group:
            for spec in specs:
                group.start_soon(one, spec, name=f"scheduled job {spec.site}")
        return outcomes


_HOLDER = re.compile(r"(?P<key>\S+) is held by (?P<holder>.+?)(?: since |$)")


class _QueuedJob:
    """One job of a :class:`WaitingExecutor`, and the event sink its leased run publishes to."""

    def __init__(self, executor: WaitingExecutor, spec: JobSpec, deadline: float) -> None:
        self.x = executor
        self.spec = spec
        self.deadline = deadline
        self.who = f"run {spec.run_id}" + (f" ({executor.task})" if executor.task else "")
        self.whom: tuple[str, str] | None = None  # the first lease key found held, and by whom
        self.seconds = 0.0  # waited so far, not counting a wait in progress
        self.since: float | None = None  # when the wait in progress began
        self.skips: dict[str, str] = {}  # a refusal's reason -> the same, saying how long

    # -- how long it waited, and for whom -----------------------------------------------

    def begin_wait(self, key: str, holder: str) -> None:
        self.whom = self.whom or (key, holder)
        if self.since is None:
            self.since = anyio.current_time()

    def end_wait(self) -> None:
        if self.since is not None:
            self.seconds += anyio.current_time() - self.since
            self.since = None

    def waited_for(self) -> float:
        current = 0.0 if self.since is None else anyio.current_time() - self.since
        return self.seconds + current

    def gave_up(self, reason: str) -> str:
        if reason not in self.skips:
            self.skips[reason] = (
                f"{waited(self.waited_for())}, then gave up {self.x.bound.why}: {reason}"
            )
        return self.skips[reason]

    def note(self) -> str:
        key, holder = self.whom or ("a lease", "another run")
        return f"{waited(self.seconds)} for {key}, held by {holder}, before it could run"

    def stopped(self) -> str:
        if self.whom is None:
            return "stopped before it began"
        return f"stopped after it {waited(self.waited_for())} for {self.whom[0]}"

    def announce(self, message: str) -> None:
        spec = self.spec
        for tenant in spec.tenants:
            self.x.ctx.events.publish(
                Event(
                    run_id=spec.run_id,
                    kind=EventKind.PHASE,
                    site=spec.site,
                    tenant=tenant,
                    phase=Phase.WAITING,
                    message=message,
                )
            )

    # -- the event sink of the leased job ----------------------------------------------

    def publish(self, event: Event) -> None:
        if event.phase is Phase.WAITING:
            # Another process took a lease between the poll and the job's own attempt.
            found = _HOLDER.match(event.message)
            self.begin_wait(
                *(found.group("key", "holder") if found else ("a lease", "another run"))
            )
        elif event.phase is Phase.SKIPPED and self.waited_for() > 0:
            event = dataclasses.replace(event, message=self.gave_up(event.message))
        self.x.ctx.events.publish(event)

    # -- the job -------------------------------------------------------------------------

    async def run(self, limiter: anyio.CapacityLimiter) -> JobOutcome:
        ctx, spec, queue = self.x.ctx, self.spec, self.x.queue
        refused = await self.take_turn()
        if refused is not None:
            return refused
        try:
            refused = await self.wait_for_leases()
            if refused is not None:
                return refused
            async with limiter:
                if ctx.stop.is_set():
                    return await give_up(
                        ctx.registry, ctx.events, spec, Phase.INTERRUPTED, self.stopped()
                    )
                remaining = max(0.0, self.deadline - anyio.current_time())
                policy = dataclasses.replace(
                    self.x.leases, wait=remaining > 0, wait_timeout=remaining
                )
                sink: EventSink = self
                outcome = await run_leased_job(
                    spec, dataclasses.replace(ctx, events=sink), policy, self.leased_job
                )
        finally:
            queue.give(spec.site)
        self.end_wait()
        if self.whom is None:
            return outcome
        return await self.tell(outcome)

    async def leased_job(self, spec: JobSpec, ctx: JobContext) -> JobOutcome:
        self.end_wait()
        return await self.x.job(spec, ctx)

    async def take_turn(self) -> JobOutcome | None:
        """Wait for the site's turn in the scheduler's queue; the outcome if it never came."""
        ctx, spec, queue = self.x.ctx, self.spec, self.x.queue
        if queue.try_take(spec.site, self.who):
            return None
        key = site_key(spec.site)
        ahead = queue.holder(spec.site) or "another run"
        self.begin_wait(key, ahead)
        log.info("site busy, the scheduled job waits its turn", key=key, holder=ahead)
        self.announce(f"{key} is held by {ahead} of this scheduler; waiting for its turn")
        taken = await queue.take(spec.site, self.who, ctx.stop, self.deadline)
        if taken:
            self.end_wait()
            return None
        if ctx.stop.is_set():
            reason = self.stopped()
            self.end_wait()
            return await give_up(ctx.registry, ctx.events, spec, Phase.INTERRUPTED, reason)
        holder = queue.holder(spec.site) or ahead
        reason = self.gave_up(f"{key} is held by {holder} of this scheduler")
        self.end_wait()
        log.warning("scheduled job skipped", reason=reason)
        return await give_up(ctx.registry, ctx.events, spec, Phase.SKIPPED, reason)

    async def wait_for_leases(self) -> JobOutcome | None:
        """Return once no other process holds the job's leases; else its outcome, stopped
        or past the bound."""
        ctx, spec, policy = self.x.ctx, self.spec, self.x.leases
        keys = lease_order(spec.site, spec.tenants)
        delay = policy.poll_first
        shown: tuple[str, str] | None = None
        while True:
            if ctx.stop.is_set():
                reason = self.stopped()
                self.end_wait()
                return await give_up(ctx.registry, ctx.events, spec, Phase.INTERRUPTED, reason)
            busy = await anyio.to_thread.run_sync(_first_held, ctx.registry, keys)
            if busy is None:
                self.end_wait()
                return None
            self.begin_wait(busy.key, holder_words(busy.holder))
            if (busy.key, busy.holder) != shown:
                shown = (busy.key, busy.holder)
                log.info("lease busy, the scheduled job waits", key=busy.key, holder=busy.holder)
                self.announce(describe_holder(busy))
            remaining = self.deadline - anyio.current_time()
            if remaining <= 0:
                reason = self.gave_up(describe_holder(busy))
                self.end_wait()
                log.warning("scheduled job skipped", reason=reason)
                return await give_up(ctx.registry, ctx.events, spec, Phase.SKIPPED, reason)
            with anyio.move_on_after(min(delay * random.uniform(0.8, 1.2), remaining)):
                await ctx.stop.wait()
            delay = min(delay * 2, policy.poll_max)

    async def tell(self, outcome: JobOutcome) -> JobOutcome:
        """Say in each tenant's report (and outcome) that the job waited, and how long."""
        note = self.note()
        tenants: dict[str, TenantOutcome] = {}
        for tenant, found in outcome.tenants.items():
            if found.phase is Phase.SKIPPED:
                # Refused again after the poll, past the bound: the reason says how long.
                found = dataclasses.replace(found, reason=self.gave_up(found.reason))
            tenants[tenant] = found
            await self.amend(tenant, found, note)
        return JobOutcome(site=outcome.site, tenants=tenants)

    async def amend(self, tenant: str, found: TenantOutcome, note: str) -> None:
        registry, run_id, seconds = self.x.ctx.registry, RunId(self.spec.run_id), self.seconds

        def rewrite() -> None:
            report = registry.get_report(run_id, tenant).tenants[0]
            if found.phase is Phase.SKIPPED:
                report = dataclasses.replace(report, reason=found.reason)
            else:
                report = dataclasses.replace(
                    report,
                    warnings=(ReportWarning(note), *report.warnings),
                    durations={"wait": round(seconds, 3), **report.durations},
                )
            registry.record_tenant_report(run_id, report)

        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(rewrite)
            except Exception:
                log.warning("could not note the wait in the report", tenant=tenant, exc_info=True)


def _first_held(registry: Registry, keys: Sequence[str]) -> LeaseHeld | None:
    """The first of ``keys`` (in the order jobs take them) that a live lease holds.

    A lease whose holder is a process of this machine known gone counts as
    free: the job's own acquire takes it over at once.
    """
    held = {lease.key: lease for lease in registry.leases()}
    for key in keys:
        lease = held.get(key)
        if lease is None:
            continue
        process = HolderProcess.of(lease.holder)
        if process is not None and process.gone() is not None:
            continue
        return lease
    return None
