"""Running jobs: the leased job every executor runs, and the local anyio executor.

:func:`run_leased_job` is the unit of work, whichever executor runs it: it
takes the site's and tenants' leases, runs :func:`farm.engine.job.run_job`
with a stop event of its own (set by the run's stop, or when a lease is
lost), and turns a refusal or an unexpected error into that job's own
outcome and reports, so one site's trouble never reaches another's.

:class:`LocalExecutor` runs many of them in one process: an anyio task group,
at most ``jobs_in_flight`` at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import anyio
import anyio.to_thread
import structlog

from farm.engine.events import Event, EventKind, Phase
from farm.engine.job import JobContext, JobOutcome, TenantOutcome, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.leases import LeasePolicy, LeaseRefused, describe_holder, hold_leases, lease_order
from farm.registry import LeaseHeld, RunId, TenantReport, TenantStatus

log = structlog.get_logger("farm.executor")

JobFunction = Callable[[JobSpec, JobContext], Awaitable[JobOutcome]]


class Executor(Protocol):
    """Runs a batch of jobs and returns their outcomes, one per spec, in any order."""

    async def run(self, specs: Sequence[JobSpec]) -> list[JobOutcome]: ...


async def run_leased_job(
    spec: JobSpec,
    ctx: JobContext,
    policy: LeasePolicy,
    job: JobFunction = run_job,
) -> JobOutcome:
    """Run one job under its leases; never raises except on cancellation."""
    with structlog.contextvars.bound_contextvars(run=spec.run_id, site=spec.site):
        try:
            return await _leased(spec, ctx, policy, job)
        except LeaseRefused as refused:
            log.warning("job refused", reason=str(refused))
            return await _give_up(spec, ctx, Phase.SKIPPED, str(refused))
        except Exception as error:
            # run_job reports source and Moodle failures itself; this is anything else.
            log.exception("job failed")
            return await _give_up(spec, ctx, Phase.FAILED, f"internal error: {error!r}")


async def _leased(
    spec: JobSpec, ctx: JobContext, policy: LeasePolicy, job: JobFunction
) -> JobOutcome:
    def waiting(held: LeaseHeld) -> None:
        for tenant in spec.tenants:
            ctx.events.publish(
                Event(
                    run_id=spec.run_id,
                    kind=EventKind.PHASE,
                    site=spec.site,
                    tenant=tenant,
                    phase=Phase.WAITING,
                    message=describe_holder(held),
                )
            )

    keys = lease_order(spec.site, spec.tenants)
    async with hold_leases(ctx.registry, keys, policy, on_wait=waiting) as held:
        stop = anyio.Event()
        job_ctx = dataclasses.replace(ctx, stop=stop)
        async with anyio.create_task_group() as group:

            async def relay() -> None:
                # Either the operator's stop or a lost lease ends the job after its batch.
                async with anyio.create_task_group() as watchers:

                    async def on(event: anyio.Event) -> None:
                        await event.wait()
                        stop.set()
                        watchers.cancel_scope.cancel()

                    watchers.start_soon(on, ctx.stop)
                    watchers.start_soon(on, held.lost)

            group.start_soon(relay)
            try:
                outcome = await job(spec, job_ctx)
            finally:
                group.cancel_scope.cancel()
        if held.lost.is_set():
            log.error("lease lost during the job", key=held.lost_key)
        return outcome


async def _give_up(spec: JobSpec, ctx: JobContext, phase: Phase, reason: str) -> JobOutcome:
    """The outcome of a job that could not run: every tenant ends in ``phase`` with ``reason``."""
    status = {Phase.SKIPPED: TenantStatus.SKIPPED, Phase.INTERRUPTED: TenantStatus.INTERRUPTED}.get(
        phase, TenantStatus.FAILED
    )
    tenants = {
        t: TenantOutcome(tenant=t, phase=phase, reason=reason, counts={}) for t in spec.tenants
    }
    reports = [
        TenantReport(
            tenant=t,
            site=spec.site,
            status=status,
            reason=reason,
            simulated=bool(spec.options.get("simulate")),
        )
        for t in spec.tenants
    ]
    with anyio.CancelScope(shield=True):
        for report in reports:
            try:
                await anyio.to_thread.run_sync(
                    ctx.registry.record_tenant_report, RunId(spec.run_id), report
                )
            except Exception:
                log.warning("could not record report", tenant=report.tenant, exc_info=True)
    for tenant in spec.tenants:
        ctx.events.publish(
            Event(
                run_id=spec.run_id,
                kind=EventKind.PHASE,
                site=spec.site,
                tenant=tenant,
                phase=phase,
                message=reason,
            )
        )
    return JobOutcome(site=spec.site, tenants=tenants)


class LocalExecutor:
    """Runs jobs in this process: a task group, ``jobs_in_flight`` at once."""

    def __init__(
        self,
        ctx: JobContext,
        *,
        jobs_in_flight: int,
        leases: LeasePolicy | None = None,
        job: JobFunction = run_job,
    ) -> None:
        self._ctx = ctx
        self._limiter = anyio.CapacityLimiter(jobs_in_flight)
        self._leases = leases or LeasePolicy()
        self._job = job

    async def run(self, specs: Sequence[JobSpec]) -> list[JobOutcome]:
        outcomes: list[JobOutcome] = []

        async def one(spec: JobSpec) -> None:
            async with self._limiter:
                if self._ctx.stop.is_set():
                    outcomes.append(
                        await _give_up(
                            spec, self._ctx, Phase.INTERRUPTED, "stopped before it began"
                        )
                    )
                    return
                outcomes.append(await run_leased_job(spec, self._ctx, self._leases, self._job))

        async with anyio.create_task_group() as group:
            for spec in specs:
                group.start_soon(one, spec, name=f"job {spec.site}")
        return outcomes
