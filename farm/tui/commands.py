"""What the dashboard asks for: syncs and simulations through the coordinator, and stops.

:class:`Commander` is the only part of the dashboard that starts work. It
runs :class:`~farm.engine.coordinator.Coordinator` in the dashboard's event
loop, with the same leases as ``farm sync`` (a tenant another run holds is
refused, naming the holder), and publishes to an
:class:`~farm.engine.bus.EventBus` that records into the registry; the
dashboard then sees its own runs the way it sees everybody else's, by
following the registry. Nothing here imports Textual.

A run's jobs are one per Moodle site, each with a stop of its own
(:meth:`Commander.stop_tenants`): stopping a tenant stops its site's job
after the current batch (a cité scolaire's tenants share theirs), and the
rest of the run goes on. A job asked to stop before it began does not start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from farm.config import Farm, TenantConfig
from farm.config.selection import select_tenants
from farm.engine.apply_request import apply_request
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, RunResult, SyncRequest
from farm.engine.events import Event, EventKind, Phase
from farm.engine.executor import JobFunction, give_up
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.leases import LeasePolicy, lease_order
from farm.engine.outcome import JobOutcome
from farm.engine.wiring import ClientProvider, Sources, client_provider
from farm.options import RunOptions
from farm.registry import LeaseHeld, Registry, RunStatus, RunSummary, RunTrigger

SourcesFactory = Callable[[Farm], Sources]


@dataclass
class _Started:
    stop: anyio.Event
    tenants: tuple[str, ...]
    sites: Mapping[str, tuple[str, ...]]  # site -> this run's tenants on it: one job each
    run_id: int | None = None
    jobs: dict[str, anyio.Event] = field(default_factory=dict)  # site -> its job's stop
    stopped: set[str] = field(default_factory=set)  # sites asked to stop

    def stop_sites(self, sites: set[str]) -> None:
        self.stopped |= sites
        for site in sites:
            if site in self.jobs:
                self.jobs[site].set()


@dataclass(frozen=True, slots=True)
class Stopping:
    """What a stop of some tenants stops in one run started here: its whole site jobs."""

    run_id: int
    tenants: tuple[str, ...]  # every tenant of the stopped jobs, the asked ones and their site's
    whole: bool  # every job of the run stops: the run ends "stopped by the operator"


@dataclass
class _Recorder:
    """An event sink that remembers which run this request started, then forwards."""

    bus: EventBus
    started: _Started

    def publish(self, event: Event) -> None:
        if event.kind is EventKind.RUN_STARTED and self.started.run_id is None:
            self.started.run_id = event.run_id
        self.bus.publish(event)


@dataclass
class Commander:
    """Starts runs for the dashboard and stops the ones it started."""

    farm: Farm
    registry: Registry
    sources: SourcesFactory = field(default=lambda farm: Sources(farm))
    clients: ClientProvider = field(default_factory=client_provider)
    leases: LeasePolicy = field(default_factory=LeasePolicy)
    job: JobFunction = run_job
    _bus: EventBus | None = None
    _started: list[_Started] = field(default_factory=list)
    _idle: anyio.Event | None = None

    def bus(self) -> EventBus:
        if self._bus is None:
            self._bus = EventBus(self.registry, flush_interval=0.1)
            self._bus.start()
        return self._bus

    async def aclose(self) -> None:
        """Stop what is running, then flush the events left to the registry."""
        for started in self._started:
            started.stop.set()
        if self._bus is not None:
            await self._bus.aclose()
            self._bus = None

    def tenants(
        self, ids: Sequence[str] = (), *, tag: str | None = None
    ) -> tuple[TenantConfig, ...]:
        """The farm's tenants among ``ids``, or with ``tag``, or all when neither is given."""
        if tag is not None:
            return select_tenants(self.farm, tags=[tag])
        if ids:
            known = [i for i in ids if i in self.farm.tenants]
            return tuple(self.farm.tenants[i] for i in known)
        return tuple(self.farm.tenants.values())

    async def sync(
        self,
        tenants: Sequence[TenantConfig],
        *,
        simulate: bool = False,
        options: RunOptions | None = None,
        selection: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Run a sync (or a simulation) of ``tenants`` to the end; see the module docstring.

        ``options`` narrow it (one scheduled task's, :func:`farm.engine.schedule.task_options`);
        ``simulate`` makes any of them a simulation.
        """
        chosen = options or RunOptions()
        if simulate:
            chosen = dataclasses.replace(chosen, simulate=True)
        request = SyncRequest(
            tenants=tuple(tenants),
            options=chosen,
            trigger=RunTrigger.BATCH if len(tenants) > 1 else RunTrigger.TARGETED,
            selection={"from": "dashboard", **(selection or {})},
        )
        return await self._run(request)

    async def apply(self, run_id: int) -> RunResult:
        """Apply exactly what simulated run ``run_id`` stored, as ``farm apply RUN`` does.

        Raises :class:`~farm.engine.apply_request.ApplyRefused` before any run
        starts when the plan cannot be applied (already applied, too old...);
        drift and safety fail the tenants with their reasons, writing nothing.
        """
        request = await anyio.to_thread.run_sync(
            lambda: apply_request(self.farm, self.registry, run_id)
        )
        selection = {"from": "dashboard", **request.selection}
        return await self._run(dataclasses.replace(request, selection=selection))

    async def _run(self, request: SyncRequest) -> RunResult:
        sites: dict[str, list[str]] = {}
        for tenant in request.tenants:
            sites.setdefault(tenant.site, []).append(tenant.id)
        started = _Started(
            stop=anyio.Event(),
            tenants=tuple(t.id for t in request.tenants),
            sites={site: tuple(ids) for site, ids in sites.items()},
        )
        if not self._started:
            self._idle = anyio.Event()
        self._started.append(started)
        sources = self.sources(self.farm)
        coordinator = Coordinator(
            farm=self.farm,
            registry=self.registry,
            events=_Recorder(self.bus(), started),
            sources=sources,
            clients=self.clients,
            stop=started.stop,
            leases=self.leases,
            job=_stoppable(started, self.job),
        )
        try:
            return await coordinator.run(request)
        finally:
            self._started.remove(started)
            if not self._started and self._idle is not None:
                self._idle.set()
            with anyio.CancelScope(shield=True):
                await sources.aclose()

    def running(self) -> dict[int, tuple[str, ...]]:
        """Runs this dashboard started that are still going, with their tenants."""
        return {s.run_id: s.tenants for s in self._started if s.run_id is not None}

    @property
    def busy(self) -> bool:
        """Whether a run this dashboard started is still going."""
        return bool(self._started)

    async def wait_idle(self) -> None:
        """Return once no run this dashboard started is going."""
        if self._started and self._idle is not None:
            await self._idle.wait()

    def stop_all(self) -> None:
        """Ask every run this dashboard started to stop after its current batches."""
        for started in self._started:
            started.stop.set()

    def cancel(self, run_id: int) -> bool:
        """Ask run ``run_id`` to stop after its current batches; False if it is not ours."""
        for started in self._started:
            if started.run_id == run_id:
                started.stop.set()
                return True
        return False

    def stopping(self, ids: Sequence[str]) -> list[Stopping]:
        """What :meth:`stop_tenants` of ``ids`` would stop, run by run (runs started here)."""
        wanted = set(ids)
        out = []
        for started in self._started:
            if started.run_id is None:
                continue
            sites = {s for s, members in started.sites.items() if wanted & set(members)}
            if not sites:
                continue
            stops = tuple(t for s in sorted(sites) for t in started.sites[s])
            out.append(Stopping(started.run_id, stops, whole=sites == set(started.sites)))
        return out

    def stop_tenants(self, ids: Sequence[str]) -> list[Stopping]:
        """Stop the jobs of ``ids`` after their current batch; the rest of their runs go on.

        A run whose every job is asked to stop is stopped as a whole, as
        :meth:`cancel` does. Returns what stops, as :meth:`stopping` says.
        """
        plan = self.stopping(ids)
        wanted = set(ids)
        for item in plan:
            for started in self._started:
                if started.run_id != item.run_id:
                    continue
                if item.whole:
                    started.stop.set()
                else:
                    started.stop_sites(
                        {s for s, members in started.sites.items() if wanted & set(members)}
                    )
        return plan

    def held(self, tenants: Sequence[TenantConfig]) -> dict[str, LeaseHeld]:
        """The leases someone holds that keep ``tenants`` from syncing now, by tenant. Blocking.

        A site's lease blocks every tenant of the site; a tenant's lease, that tenant.
        """
        taken = {h.key: h for h in self.registry.leases("site:")}
        taken.update((h.key, h) for h in self.registry.leases("tenant:"))
        out: dict[str, LeaseHeld] = {}
        for tenant in tenants:
            site_key, tenant_key = lease_order(tenant.site, [tenant.id])
            found = taken.get(tenant_key) or taken.get(site_key)
            if found is not None:
                out[tenant.id] = found
        return out

    def runs_going(self) -> list[RunSummary]:
        """The runs the registry says are running, wherever they were started. Blocking."""
        return self.registry.list_runs(limit=50, status=RunStatus.RUNNING)


def _stoppable(started: _Started, job: JobFunction) -> JobFunction:
    """``job``, with a stop of its own per site that :meth:`Commander.stop_tenants` sets."""

    async def one_site(spec: JobSpec, ctx: JobContext) -> JobOutcome:
        if spec.site in started.stopped:
            return await give_up(
                ctx.registry,
                ctx.events,
                spec,
                Phase.INTERRUPTED,
                "stopped by the operator before it began",
            )
        stop = anyio.Event()
        started.jobs[spec.site] = stop
        async with anyio.create_task_group() as group:

            async def relay() -> None:
                await ctx.stop.wait()
                stop.set()

            group.start_soon(relay)
            try:
                outcome = await job(spec, dataclasses.replace(ctx, stop=stop))
            finally:
                group.cancel_scope.cancel()
        return outcome

    return one_site


__all__ = ["Commander", "SourcesFactory"]
