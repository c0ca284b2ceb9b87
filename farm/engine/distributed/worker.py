"""The worker side of the distributed executor: what a ``farm worker`` process runs.

A :class:`WorkerRuntime` holds what the jobs of one worker share: how to
load the farm (reloaded for every job, so a worker follows changes to the
farm files without a restart), the registry, the event sink recording into
it, the Moodle client provider, and the worker's own stop. For each job it
builds the sources, a :class:`~farm.engine.job.JobContext` and runs
:func:`~farm.engine.executor.run_leased_job`: the very unit the local
executor runs.

:func:`run_worker` runs a procrastinate worker around it until stopped.
The first SIGTERM or Ctrl-C stops taking jobs and lets running ones finish
their current batch (they end ``interrupted``, leases given back); a second
one cancels at once (leases are still released, the batch in flight is lost
and found again by the next run).

A worker killed outright leaves its job ``doing`` in the queue, which would
hold the site's queue lock for ever. Every worker therefore looks, at a
steady pace, for jobs whose worker has sent no heartbeat for
``stalled_after`` seconds, marks them failed and records a failed report for
their tenants; the registry's leases of the dead worker expire on their own,
and the next run converges (the index only holds what Moodle confirmed).
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
import procrastinate
import structlog
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Status
from procrastinate.worker import Worker

from farm.config import Farm, FarmConfigError
from farm.engine.distributed.queue import QUEUE, RUNTIME_KEY, SYNC_TASK
from farm.engine.events import EventSink, Phase
from farm.engine.executor import JobFunction, give_up, run_leased_job
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.leases import LeasePolicy
from farm.engine.outcome import JobOutcome
from farm.engine.wiring import ClientProvider, Sources
from farm.registry import Registry
from farm.sources import Source

log = structlog.get_logger("farm.worker")


@dataclass
class WorkerRuntime:
    """What the jobs of one worker share; see the module docstring.

    ``farm`` loads the farm (it may raise :class:`FarmConfigError`);
    ``sources`` are ready-made sources that win over the farm's (tests, demo).
    ``leases`` is the lease policy; its ``wait`` is replaced per job by what
    the run asked for.
    """

    farm: Callable[[], Farm]
    registry: Registry
    events: EventSink
    clients: ClientProvider
    stop: anyio.Event
    sources: Mapping[str, Source] = field(default_factory=dict)
    leases: LeasePolicy = field(default_factory=LeasePolicy)
    job: JobFunction = run_job

    async def sync(
        self,
        spec: JobSpec,
        stop: anyio.Event,
        wait_leases: bool,
        wait_timeout: float | None = None,
    ) -> dict[str, str]:
        """Run ``spec`` here; returns each tenant's final phase. Never raises but on cancellation.

        With ``wait_leases``, leases held elsewhere are waited for, at most
        ``wait_timeout`` seconds when given.

        ``stop`` (the run's abort) and the worker's own stop both end the job
        after its current batch.
        """
        with structlog.contextvars.bound_contextvars(run=spec.run_id, site=spec.site):
            refusal: str | None = None
            try:
                farm = await anyio.to_thread.run_sync(self.farm)
            except FarmConfigError as error:
                first = error.problems[0] if error.problems else "unknown problem"
                refusal = (
                    f"the worker cannot load its farm ({len(error.problems)} problems): {first}"
                )
            else:
                if spec.site not in farm.sites:
                    refusal = (
                        f"the worker's farm ({farm.root}) has no site {spec.site!r}: "
                        "workers and the host starting runs must share the farm files"
                    )
            if refusal is not None:
                failed = await give_up(self.registry, self.events, spec, Phase.FAILED, refusal)
                return _phases(failed)
            sources = Sources(farm, self.sources)
            job_stop = anyio.Event()
            ctx = JobContext(
                farm=farm,
                registry=self.registry,
                events=self.events,
                sources=sources,
                clients=self.clients,
                stop=job_stop,
            )
            policy = dataclasses.replace(
                self.leases,
                wait=wait_leases,
                wait_timeout=self.leases.wait_timeout if wait_timeout is None else wait_timeout,
            )
            try:
                async with anyio.create_task_group() as group:

                    async def relay(event: anyio.Event) -> None:
                        await event.wait()
                        job_stop.set()

                    group.start_soon(relay, stop)
                    group.start_soon(relay, self.stop)
                    outcome = await run_leased_job(spec, ctx, policy, self.job)
                    group.cancel_scope.cancel()
            finally:
                with anyio.CancelScope(shield=True):
                    await sources.aclose()
            log.info("job finished", tenants=_phases(outcome))
            return _phases(outcome)


def _phases(outcome: JobOutcome) -> dict[str, str]:
    return {t: o.phase.value for t, o in outcome.tenants.items()}


async def fail_stalled_jobs(
    app: procrastinate.App, runtime: WorkerRuntime, stalled_after: float
) -> list[int]:
    """Mark failed the sync jobs of workers silent for ``stalled_after`` s; their ids.

    Each such job's tenants get a failed report naming the cause. Several
    workers may race for one job: only the one that finishes it reports.
    """
    jobs = await app.job_manager.get_stalled_jobs(
        task_name=SYNC_TASK, seconds_since_heartbeat=stalled_after
    )
    failed: list[int] = []
    for job in jobs:
        assert job.id is not None
        try:
            await app.job_manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
        except procrastinate_errors.ConnectorException:
            continue  # another worker got there first
        failed.append(job.id)
        try:
            given = job.task_kwargs["spec"]
            if not isinstance(given, dict):
                raise TypeError("spec is not an object")
            spec = JobSpec.from_json(given)
        except (KeyError, TypeError, ValueError):
            log.warning("stalled job without a readable spec", job=job.id)
            continue
        log.warning("stalled job failed", job=job.id, run=spec.run_id, site=spec.site)
        reason = (
            f"the worker running job {job.id} stopped answering (no heartbeat for "
            f"{stalled_after:.0f} s); its leases expire on their own, run these tenants again"
        )
        await give_up(runtime.registry, runtime.events, spec, Phase.FAILED, reason)
    return failed


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker runs: jobs at once, its name, heartbeat and stalled-job timing."""

    concurrency: int = 4
    name: str | None = None
    heartbeat: float = 10.0
    stalled_after: float = 60.0
    poll: float = 5.0
    install_signal_handlers: bool = True


async def run_worker(
    app: procrastinate.App, runtime: WorkerRuntime, settings: WorkerSettings | None = None
) -> None:
    """Work jobs until the runtime's stop is set (or a signal arrives); see the module docstring.

    The app must be open. Returns once running jobs have ended.
    """
    chosen = settings or WorkerSettings()
    worker = Worker(
        app=app,
        queues=[QUEUE],
        name=chosen.name,
        concurrency=chosen.concurrency,
        fetch_job_polling_interval=chosen.poll,
        abort_job_polling_interval=min(chosen.poll, 2.0),
        additional_context={RUNTIME_KEY: runtime},
        install_signal_handlers=False,
        update_heartbeat_interval=chosen.heartbeat,
        stalled_worker_timeout=chosen.stalled_after,
        delete_jobs="successful",
    )
    async with anyio.create_task_group() as group:

        async def stop_when_asked() -> None:
            await runtime.stop.wait()
            log.info("worker stopping: running jobs finish their current batch")
            worker.stop()  # type: ignore[no-untyped-call]

        async def recover() -> None:
            while True:
                try:
                    await fail_stalled_jobs(app, runtime, chosen.stalled_after)
                except procrastinate_errors.ConnectorException:
                    log.warning("could not look for stalled jobs", exc_info=True)
                await anyio.sleep(max(1.0, chosen.stalled_after / 3))

        group.start_soon(stop_when_asked)
        group.start_soon(recover)
        if chosen.install_signal_handlers:
            group.start_soon(_signals, runtime.stop, group.cancel_scope)
        log.info("worker started", concurrency=chosen.concurrency, name=chosen.name)
        await worker.run()  # type: ignore[no-untyped-call]
        group.cancel_scope.cancel()
    log.info("worker stopped")


async def _signals(stop: anyio.Event, scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for signum in received:
            if not stop.is_set():
                log.info("signal received", signal=signal.Signals(signum).name)
                stop.set()
            else:
                log.warning("second signal: cancelling running jobs now")
                scope.cancel()
                return
