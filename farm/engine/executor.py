"""Running jobs: the leased job every executor runs, and the local anyio executor.

:func:`run_leased_job` is the unit of work, whichever executor runs it: it
takes the site's and tenants' leases, runs :func:`farm.engine.job.run_job`
with a stop event of its own (set by the run's stop, or when a lease is
lost), and turns a refusal, the registry failing or an unexpected error
into that job's own outcome and reports, so one site's trouble never reaches
another's. Reports the registry refuses travel in the outcome
(:attr:`~farm.engine.job.JobOutcome.unrecorded_reports`) for the coordinator
to record once the registry answers again.

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

from farm.engine.events import Event, EventKind, EventSink, Phase
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.leases import LeasePolicy, LeaseRefused, describe_holder, hold_leases, lease_order
from farm.engine.outcome import JobOutcome, TenantOutcome
from farm.registry import LeaseHeld, Registry, RegistryError, RunId, TenantReport, TenantStatus

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
            return await give_up(ctx.registry, ctx.events, spec, Phase.SKIPPED, str(refused))
        except RegistryError as error:
            # Taking the leases met the registry failing: nothing ran.
            log.error("job not started: the registry failed", error=str(error))
            return await give_up(
                ctx.registry,
                ctx.events,
                spec,
                Phase.FAILED,
                f"registry: {error}",
                registry_error=str(error),
            )
        except Exception as error:
            # run_job reports source and Moodle failures itself; this is anything else.
            log.exception("job failed")
            return await give_up(
                ctx.registry, ctx.events, spec, Phase.FAILED, f"internal error: {error!r}"
            )


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


async def give_up(
    registry: Registry,
    events: EventSink,
    spec: JobSpec,
    phase: Phase,
    reason: str,
    *,
    registry_error: str | None = None,
) -> JobOutcome:
    """Record that ``spec`` did not run: each tenant's report and final event say ``reason``.

    For jobs no worker could run to the end (refused by the queue, cancelled
    before they began, lost with a dead worker, or the registry failing
    before they began: ``registry_error``); never raises for the registry.
    After the registry refused one report, the others are not tried: they
    are in the outcome's ``unrecorded_reports``.
    """
    status = {
        Phase.SKIPPED: TenantStatus.SKIPPED,
        Phase.INTERRUPTED: TenantStatus.INTERRUPTED,
    }.get(phase, TenantStatus.FAILED)
    simulated = spec.options.simulate
    unrecorded: dict[str, TenantReport] = {}
    failure: str | None = None  # the registry's refusal of a report: skip the others
    with anyio.CancelScope(shield=True):
        for tenant in spec.tenants:
            report = TenantReport(
                tenant=tenant, site=spec.site, status=status, reason=reason, simulated=simulated
            )
            if failure is not None:
                unrecorded[tenant] = report  # recorded later, by the coordinator
                continue
            try:
                await anyio.to_thread.run_sync(
                    registry.record_tenant_report, RunId(spec.run_id), report
                )
            except RegistryError as error:
                log.warning("could not record report", tenant=tenant, error=str(error))
                failure = str(error)
                unrecorded[tenant] = report
            except Exception:
                log.warning("could not record report", tenant=tenant, exc_info=True)
    for tenant in spec.tenants:
        events.publish(
            Event(
                run_id=spec.run_id,
                kind=EventKind.PHASE,
                site=spec.site,
                tenant=tenant,
                phase=phase,
                message=reason,
            )
        )
    return JobOutcome(
        site=spec.site,
        tenants={t: TenantOutcome(t, phase, reason, {}) for t in spec.tenants},
        registry_error=registry_error or failure,
        unrecorded_reports=unrecorded,
    )


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
                        await give_up(
                            self._ctx.registry,
                            self._ctx.events,
                            spec,
                            Phase.INTERRUPTED,
                            "stopped before it began",
                        )
                    )
                    return
                outcomes.append(await run_leased_job(spec, self._ctx, self._leases, self._job))

        async with anyio.create_task_group() as group:
            for spec in specs:
                group.start_soon(one, spec, name=f"job {spec.site}")
        return outcomes
