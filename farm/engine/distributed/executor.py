"""The distributed executor: jobs go to procrastinate workers, outcomes come back by the registry.

:class:`DistributedExecutor` has the shape of
:class:`~farm.engine.executor.LocalExecutor`: ``run(specs)`` returns one
outcome per spec. It queues each spec as a ``farm.sync_site`` job and then
waits, reading the run's events in the registry (the workers record them
there) until every tenant has a final phase. It also watches the queue:

- a job that ended (or vanished) without its tenants' final events is
  settled from the tenants' reports, else failed with the job's state;
- tenants already queued by another run are skipped, naming the lock;
- jobs nobody picks up while no worker is alive fail after
  ``no_worker_timeout`` seconds, saying to start ``farm worker``;
- the operator's stop (``ctx.stop``) cancels jobs not started and asks
  running ones to stop after their batch, as locally;
- past ``timeout`` seconds the executor stops the same way, waits ``grace``
  seconds more, and fails what is still missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import anyio
import anyio.to_thread
import procrastinate
import structlog
from procrastinate import exceptions as procrastinate_errors

from farm.engine.distributed.queue import AlreadyQueued, check_ready, defer_job
from farm.engine.events import Event, EventKind, Phase
from farm.engine.executor import give_up
from farm.engine.job import JobContext
from farm.engine.jobspec import JobSpec
from farm.engine.leases import LeasePolicy
from farm.engine.outcome import JobOutcome, TenantOutcome
from farm.registry import RegistryError, RunId, TenantReport, TenantStatus, mask_url

log = structlog.get_logger("farm.distributed")

_JOB_STATES: Final = (
    "SELECT id, status::text AS status FROM procrastinate_jobs WHERE id = ANY(%(ids)s)"
)
_LIVE_WORKERS: Final = (
    "SELECT count(*) AS n FROM procrastinate_workers "
    "WHERE last_heartbeat > now() - make_interval(secs => %(seconds)s)"
)
_RUNNING: Final = frozenset({"todo", "doing"})
_PHASE_OF: Final[Mapping[TenantStatus, Phase]] = {
    TenantStatus.SUCCEEDED: Phase.SUCCEEDED,
    TenantStatus.PARTIAL: Phase.SUCCEEDED,  # as the job reports it: refused records do not fail
    TenantStatus.FAILED: Phase.FAILED,
    TenantStatus.INTERRUPTED: Phase.INTERRUPTED,
    TenantStatus.SKIPPED: Phase.SKIPPED,
}


class DistributedExecutor:
    """Runs jobs on procrastinate workers; see the module docstring.

    ``app`` is an open app of :func:`farm.engine.distributed.procrastinate_app`
    on the registry's database. ``leases.wait`` travels with each job: the
    worker then waits for leases held elsewhere instead of skipping.
    """

    def __init__(
        self,
        ctx: JobContext,
        *,
        app: procrastinate.App,
        leases: LeasePolicy | None = None,
        timeout: float | None = None,
        no_worker_timeout: float = 60.0,
        grace: float = 30.0,
        poll: float = 0.5,
        settle: float = 3.0,
        observe: Callable[[Event], None] | None = None,
    ) -> None:
        self._ctx = ctx
        # The workers' events reach this process only through the registry: whoever
        # shows progress (``farm sync``) sees them here, as the executor reads them.
        self.observe = observe
        self._app = app
        self._wait_leases = (leases or LeasePolicy()).wait
        self.timeout = timeout
        self.no_worker_timeout = no_worker_timeout
        self.grace = grace
        self.poll = poll
        self.settle = settle

    async def run(self, specs: Sequence[JobSpec]) -> list[JobOutcome]:
        """Queue every spec, wait for each outcome; raises only when the queue is not usable."""
        await check_ready(self._app, self._ctx.registry.url)
        outcomes: list[JobOutcome] = []
        queued: dict[int, JobSpec] = {}
        registry, events = self._ctx.registry, self._ctx.events
        for spec in specs:
            if self._ctx.stop.is_set():
                reason = "stopped before it began"
                outcomes.append(await give_up(registry, events, spec, Phase.INTERRUPTED, reason))
                continue
            try:
                job_id = await defer_job(self._app, spec, wait_leases=self._wait_leases)
            except AlreadyQueued as refused:
                outcomes.append(await give_up(registry, events, spec, Phase.SKIPPED, str(refused)))
            except procrastinate_errors.ConnectorException as error:
                reason = f"could not queue the job: {error.__cause__ or error}"
                outcomes.append(await give_up(registry, events, spec, Phase.FAILED, reason))
            else:
                log.info("job queued", job=job_id, site=spec.site, tenants=len(spec.tenants))
                queued[job_id] = spec
        if queued:
            outcomes += await _Wait(self, queued).until_done()
        return outcomes


class _Wait:
    """The state of one wait for queued jobs."""

    def __init__(self, executor: DistributedExecutor, queued: dict[int, JobSpec]) -> None:
        self.x = executor
        self.ctx = executor._ctx
        self.app = executor._app
        self.pending = dict(queued)
        self.run_id = next(iter(queued.values())).run_id
        self.final: dict[str, TenantOutcome] = {}
        self.last_event = 0
        self.ended_at: dict[int, float] = {}
        self.no_worker_since: float | None = None
        self.stop_asked_at: float | None = None
        self.timed_out = False
        self.outcomes: list[JobOutcome] = []

    async def until_done(self) -> list[JobOutcome]:
        started = anyio.current_time()
        while self.pending:
            await self.read_events()
            self.collect()
            if not self.pending:
                break
            now = anyio.current_time()
            states = await self.job_states()
            await self.settle_ended(states, now)
            if self.stop_asked_at is None and (
                self.ctx.stop.is_set()
                or (self.x.timeout is not None and now - started > self.x.timeout)
            ):
                self.timed_out = not self.ctx.stop.is_set()
                await self.ask_stop(now)
            if self.stop_asked_at is not None and now - self.stop_asked_at > self.x.grace:
                await self.give_up_all(states)
                break
            await self.check_workers(states, now)
            await anyio.sleep(self.x.poll)
        return self.outcomes

    async def read_events(self) -> None:
        while True:
            rows = await anyio.to_thread.run_sync(
                lambda: self.ctx.registry.events_since(
                    self.last_event, run_id=RunId(self.run_id), limit=1000
                )
            )
            for row in rows:
                self.last_event = row.id
                try:
                    event = Event.from_json(row.payload)
                except (KeyError, ValueError):
                    continue
                if self.x.observe is not None:
                    self.x.observe(event)
                if (
                    event.kind is EventKind.PHASE
                    and event.phase is not None
                    and event.phase.final
                    and event.tenant is not None
                ):
                    self.final[event.tenant] = TenantOutcome(
                        event.tenant, event.phase, event.message, dict(event.counts)
                    )
            if len(rows) < 1000:
                return

    def collect(self) -> None:
        for job_id, spec in list(self.pending.items()):
            if all(t in self.final for t in spec.tenants):
                self.finish(job_id, {t: self.final[t] for t in spec.tenants})

    def finish(self, job_id: int, tenants: Mapping[str, TenantOutcome]) -> None:
        spec = self.pending.pop(job_id)
        self.outcomes.append(JobOutcome(site=spec.site, tenants=dict(tenants)))

    async def job_states(self) -> dict[int, str]:
        rows = await self.app.connector.execute_query_all_async(_JOB_STATES, ids=list(self.pending))
        # Workers delete succeeded jobs: a job missing from the queue has ended.
        return dict.fromkeys(self.pending, "gone") | {
            int(row["id"]): str(row["status"]) for row in rows
        }

    async def settle_ended(self, states: Mapping[int, str], now: float) -> None:
        for job_id, state in states.items():
            if job_id not in self.pending or state in _RUNNING:
                continue
            # The worker's events reach the registry a moment after its job ends.
            if now - self.ended_at.setdefault(job_id, now) < self.x.settle:
                continue
            await self.read_events()
            if job_id in self.pending:
                await self.settle(job_id, state)

    async def settle(self, job_id: int, state: str) -> None:
        spec = self.pending[job_id]
        reports = await self.reports()
        tenants: dict[str, TenantOutcome] = {}
        missing: list[str] = []
        for tenant in spec.tenants:
            if tenant in self.final:
                tenants[tenant] = self.final[tenant]
            elif tenant in reports:
                tenants[tenant] = outcome_of_report(reports[tenant])
            else:
                missing.append(tenant)
        if missing:
            phase, reason = self.why(job_id, state)
            rest = JobSpec(spec.run_id, spec.site, tuple(missing), spec.options, spec.trigger)
            given = await give_up(self.ctx.registry, self.ctx.events, rest, phase, reason)
            tenants.update(given.tenants)
        self.finish(job_id, tenants)

    def why(self, job_id: int, state: str) -> tuple[Phase, str]:
        if state == "cancelled":
            if self.stop_asked_at is not None and not self.timed_out:
                return Phase.INTERRUPTED, "stopped before it began"
            return Phase.FAILED, f"job {job_id} was cancelled in the queue before it began"
        if state == "aborted":
            return Phase.INTERRUPTED, f"job {job_id} was aborted in its worker"
        if state == "failed":
            return Phase.FAILED, f"job {job_id} failed in its worker (see the worker's log)"
        return Phase.FAILED, f"job {job_id} ended without a report (see the worker's log)"

    async def reports(self) -> dict[str, TenantReport]:
        try:
            report = await anyio.to_thread.run_sync(
                self.ctx.registry.get_report, RunId(self.run_id)
            )
        except RegistryError:
            log.warning("could not read the run's reports", exc_info=True)
            return {}
        return {r.tenant: r for r in report.tenants}

    async def ask_stop(self, now: float) -> None:
        self.stop_asked_at = now
        log.warning("stopping queued jobs", timed_out=self.timed_out, jobs=len(self.pending))
        for job_id in self.pending:
            try:
                # Jobs not started are cancelled; running ones end after their batch.
                await self.app.job_manager.cancel_job_by_id_async(job_id, abort=True)
            except procrastinate_errors.ConnectorException:
                log.warning("could not stop job", job=job_id, exc_info=True)

    async def give_up_all(self, states: Mapping[int, str]) -> None:
        for job_id in list(self.pending):
            state = states.get(job_id, "gone")
            if self.timed_out:
                phase = Phase.FAILED
                reason = (
                    f"no outcome within {self.x.timeout:.0f} s: job {job_id} is {state}; "
                    "the run stopped waiting"
                )
            else:
                phase = Phase.INTERRUPTED
                reason = f"stopped by the operator; job {job_id} is {state} and did not answer"
            await self.abandon(job_id, phase, reason)

    async def check_workers(self, states: Mapping[int, str], now: float) -> None:
        waiting = [j for j in self.pending if states.get(j) == "todo"]
        if not waiting:
            self.no_worker_since = None
            return
        seconds = float(max(30.0, self.x.no_worker_timeout / 2))
        row = await self.app.connector.execute_query_one_async(_LIVE_WORKERS, seconds=seconds)
        if int(row["n"]) > 0:
            self.no_worker_since = None
            return
        if self.no_worker_since is None:
            self.no_worker_since = now
            log.warning("no worker is alive; jobs wait in the queue", jobs=len(waiting))
            return
        if now - self.no_worker_since < self.x.no_worker_timeout:
            return
        where = mask_url(self.ctx.registry.url)
        for job_id in waiting:
            cancelled = await self.app.job_manager.cancel_job_by_id_async(job_id)
            if cancelled:
                reason = (
                    f"no worker took job {job_id} within {self.x.no_worker_timeout:.0f} s: "
                    f"is 'farm worker' running against {where}?"
                )
                await self.abandon(job_id, Phase.FAILED, reason)

    async def abandon(self, job_id: int, phase: Phase, reason: str) -> None:
        spec = self.pending[job_id]
        missing = tuple(t for t in spec.tenants if t not in self.final)
        tenants = {t: self.final[t] for t in spec.tenants if t in self.final}
        if missing:
            rest = JobSpec(spec.run_id, spec.site, missing, spec.options, spec.trigger)
            given = await give_up(self.ctx.registry, self.ctx.events, rest, phase, reason)
            tenants.update(given.tenants)
        self.finish(job_id, tenants)


def outcome_of_report(report: TenantReport) -> TenantOutcome:
    """A tenant's outcome told by its report (for jobs whose final event never arrived)."""
    counts: dict[str, Any] = {
        f"{kind}.{action}": n
        for kind, actions in sorted(report.counts.items())
        for action, n in sorted(actions.items())
    }
    if report.errors:
        counts["errors"] = len(report.errors)
    phase = _PHASE_OF.get(TenantStatus(report.status), Phase.FAILED)
    return TenantOutcome(report.tenant, phase, report.reason or "", counts)
