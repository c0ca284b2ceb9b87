"""The coordinator: one run over the selected tenants, one job per site.

:func:`run_sync` records a run, groups the selected tenants by site into
:class:`JobSpec` values (plain, serialisable: a distributed executor runs
them unchanged), hands them to an executor, and finishes the run with a
status that sums up its tenants:

- ``succeeded``: every tenant succeeded and every record was written;
- ``interrupted``: the operator stopped it (Ctrl-C, SIGTERM) or it was cancelled;
- ``failed``: no tenant succeeded;
- ``partial``: some did, some did not, or some records were not written:
  Moodle refused them, or the farm would not guess (an ambiguous account).
  The tenant's report names each record with the reason.

The run's id and its final status are published as events so a view in
another process knows when the run is over.

The registry failing is handled like a site failing: the jobs it hits fail
with its reason (a batch Moodle confirmed that the index could not take is
adopted by the next run), and the run still ends with a :class:`RunResult`,
whose ``registry_error`` and ``unrecorded`` say what happened. At the end of
the run the coordinator retries, for at most ``registry_retry`` seconds, what
the registry refused: the tenants' reports, the run's end and the leases
this process owes. If the registry still fails, the run is left ``running``
with a note in the farm folder, and the next run settles it before starting
(:mod:`farm.engine.run_end`, :mod:`farm.engine.unfinished`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import structlog

from farm.config import Farm, TenantConfig
from farm.engine.events import Event, EventKind, EventSink, Phase
from farm.engine.executor import Executor, JobFunction, LocalExecutor
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.leases import LeasePolicy
from farm.engine.outcome import JobOutcome, TenantOutcome
from farm.engine.run_end import RunEnd, end_run
from farm.engine.unfinished import settle_unfinished
from farm.engine.wiring import ClientProvider, SourceProvider
from farm.options import RunOptions
from farm.registry import Registry, RunId, RunStatus, RunTrigger

log = structlog.get_logger("farm.coordinator")


class InvalidOptions(ValueError):
    """The run's options are not valid for one of its sites; nothing was started."""


@dataclass(frozen=True)
class SyncRequest:
    """What to sync and how: tenants already selected, typed options, what asked for it.

    ``selection`` is how the operator chose (tags, sites, tenants, user,
    task...), kept with the run for ``farm runs`` and the scheduler.
    """

    tenants: tuple[TenantConfig, ...]
    options: RunOptions = field(default_factory=RunOptions)
    trigger: RunTrigger = RunTrigger.BATCH
    selection: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    """How a run ended, tenant by tenant.

    ``registry_error`` is the registry's failure during the run, if any, and
    ``unrecorded`` says in words what it left unrecorded (a batch Moodle
    confirmed, reports, the run's end, leases); ``notes`` what this run did
    about earlier runs the registry had failed to finish.
    """

    run_id: RunId
    status: RunStatus
    tenants: Mapping[str, TenantOutcome]
    reason: str | None = None
    registry_error: str | None = None
    unrecorded: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status is RunStatus.SUCCEEDED


def job_specs(
    run_id: int,
    tenants: Iterable[TenantConfig],
    options: RunOptions,
    trigger: RunTrigger = RunTrigger.BATCH,
) -> list[JobSpec]:
    """One spec per site with its selected tenants, sites and tenants in the order given."""
    by_site: dict[str, list[str]] = {}
    for tenant in tenants:
        by_site.setdefault(tenant.site, []).append(tenant.id)
    return [
        JobSpec(
            run_id=run_id,
            site=site,
            tenants=tuple(ids),
            options=options,
            trigger=RunTrigger(trigger).value,
        )
        for site, ids in by_site.items()
    ]


def run_status(outcomes: Mapping[str, TenantOutcome], *, stopped: bool) -> RunStatus:
    """The run's status from its tenants' final phases (see the module docstring)."""
    phases = [o.phase for o in outcomes.values()]
    if stopped or Phase.INTERRUPTED in phases:
        return RunStatus.INTERRUPTED
    ran = [o for o in outcomes.values() if o.phase is Phase.SUCCEEDED]
    # A tenant whose records Moodle partly refused ran, but needs an operator's look.
    clean = [o for o in ran if not o.counts.get("errors")]
    if phases and len(clean) == len(phases):
        return RunStatus.SUCCEEDED
    return RunStatus.FAILED if not ran else RunStatus.PARTIAL


def check_options(farm: Farm, tenants: Sequence[TenantConfig], options: RunOptions) -> None:
    """Raise :class:`InvalidOptions` if ``options`` do not make a plan for one of the sites."""
    for site in {t.site for t in tenants}:
        try:
            farm.plan_options(site, options)
        except ValueError as error:
            raise InvalidOptions(f"invalid options: {error}") from None


@dataclass
class Coordinator:
    """Everything runs share: the farm, the registry, where events go, sources and clients.

    ``stop`` is the operator's stop: set it and jobs finish their current
    batch, record what Moodle confirmed and return. ``executor`` builds the
    executor of a run from its job context; by default the local one.
    ``registry_retry`` is how many seconds the end of a run keeps retrying a
    registry that fails (see the module docstring).
    """

    farm: Farm
    registry: Registry
    events: EventSink
    sources: SourceProvider
    clients: ClientProvider
    stop: anyio.Event = field(default_factory=anyio.Event)
    leases: LeasePolicy = field(default_factory=LeasePolicy)
    job: JobFunction = run_job
    registry_retry: float = 30.0

    def context(self) -> JobContext:
        return JobContext(
            farm=self.farm,
            registry=self.registry,
            events=self.events,
            sources=self.sources,
            clients=self.clients,
            stop=self.stop,
        )

    def local_executor(self) -> Executor:
        return LocalExecutor(
            self.context(),
            jobs_in_flight=self.farm.settings.jobs_in_flight,
            leases=self.leases,
            job=self.job,
        )

    async def run(self, request: SyncRequest, executor: Executor | None = None) -> RunResult:
        """Run ``request`` to the end and return how it went; see the module docstring.

        Raises :class:`InvalidOptions` before anything is recorded when the
        options are wrong.
        """
        if not request.tenants:
            raise InvalidOptions("no tenant selected")
        check_options(self.farm, request.tenants, request.options)
        notes = await anyio.to_thread.run_sync(settle_unfinished, self.farm.root, self.registry)
        await anyio.to_thread.run_sync(interrupt_stale_runs, self.registry)
        selection = {**request.selection, "tenants": [t.id for t in request.tenants]}
        run_id = await anyio.to_thread.run_sync(
            lambda: self.registry.start_run(
                trigger=request.trigger,
                selection=selection,
                options=request.options.to_json(),
                simulated=request.options.simulate,
            )
        )
        specs = job_specs(run_id, request.tenants, request.options, request.trigger)
        with structlog.contextvars.bound_contextvars(run=run_id):
            log.info("run started", tenants=len(request.tenants), sites=len(specs))
            self.events.publish(
                Event(
                    run_id=run_id,
                    kind=EventKind.RUN_STARTED,
                    counts={"tenants": len(request.tenants), "sites": len(specs)},
                    message=str(request.trigger),
                )
            )
            for spec in specs:
                for tenant in spec.tenants:
                    self.events.publish(
                        Event(
                            run_id=run_id,
                            kind=EventKind.PHASE,
                            site=spec.site,
                            tenant=tenant,
                            phase=Phase.QUEUED,
                        )
                    )
            outcomes: list[JobOutcome] = []
            tenants: dict[str, TenantOutcome] = {}
            status = RunStatus.INTERRUPTED
            reason: str | None = "cancelled"
            end = RunEnd()
            completed = False
            try:
                outcomes = await (executor or self.local_executor()).run(specs)
                tenants = {t: o for outcome in outcomes for t, o in outcome.tenants.items()}
                status = run_status(tenants, stopped=self.stop.is_set())
                reason = _reason(status, tenants)
                completed = True
            finally:
                with anyio.CancelScope(shield=True):
                    # Cancelled (a second Ctrl-C): one try, no waiting for the registry.
                    end = await self._finish(run_id, status, reason, outcomes, patient=completed)
            log.info("run finished", status=end.status.value)
        return RunResult(
            run_id=run_id,
            status=end.status,
            tenants=tenants,
            reason=end.reason,
            registry_error=end.registry_error,
            unrecorded=end.unrecorded,
            notes=tuple(notes),
        )

    async def _finish(
        self,
        run_id: RunId,
        status: RunStatus,
        reason: str | None,
        outcomes: Sequence[JobOutcome],
        *,
        patient: bool,
    ) -> RunEnd:
        """Record the run's end and what the registry refused; see the module docstring."""
        end = RunEnd(status, reason)
        try:
            end = await end_run(
                self.registry,
                self.farm.root,
                run_id,
                status,
                reason,
                outcomes,
                retry=self.registry_retry if patient else 0.0,
            )
        finally:
            self.events.publish(
                Event(
                    run_id=run_id,
                    kind=EventKind.RUN_FINISHED,
                    message=end.status.value
                    if end.reason is None
                    else f"{end.status.value}: {end.reason}",
                )
            )
        return end


def _reason(status: RunStatus, tenants: Mapping[str, TenantOutcome]) -> str | None:
    if status is RunStatus.SUCCEEDED:
        return None
    if status is RunStatus.INTERRUPTED:
        return "stopped by the operator"
    bad = sorted(t for t, o in tenants.items() if o.phase is not Phase.SUCCEEDED)
    refused = sorted(
        t for t, o in tenants.items() if o.phase is Phase.SUCCEEDED and o.counts.get("errors")
    )
    parts = []
    if bad:
        parts.append(f"{len(bad)} of {len(tenants)} tenants did not succeed: {_first(bad)}")
    if refused:
        parts.append(
            f"records not written for {len(refused)} tenant(s), see their reports: "
            f"{_first(refused)}"
        )
    return "; ".join(parts)


def _first(tenants: Sequence[str], shown: int = 5) -> str:
    more = len(tenants) - shown
    return ", ".join(tenants[:shown]) + (f" and {more} more" if more > 0 else "")


def interrupt_stale_runs(registry: Registry) -> list[RunId]:
    """Mark ``interrupted`` the runs left ``running`` by a process of this host that is gone.

    Runs of other hosts are left alone: this host cannot tell whether they live.
    """
    host = socket.gethostname()
    stale: list[RunId] = []
    for run in registry.list_runs(limit=200, status=RunStatus.RUNNING):
        if run.host == host and not _alive(run.pid):
            registry.finish_run(run.id, RunStatus.INTERRUPTED, reason="its process died")
            stale.append(run.id)
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
