"""What the dashboard asks for: syncs and simulations through the coordinator, and stops.

:class:`Commander` is the only part of the dashboard that starts work. It
runs :class:`~farm.engine.coordinator.Coordinator` in the dashboard's event
loop, with the same leases as ``farm sync`` (a tenant another run holds is
refused, naming the holder), and publishes to an
:class:`~farm.engine.bus.EventBus` that records into the registry; the
dashboard then sees its own runs the way it sees everybody else's, by
following the registry. Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from farm.config import Farm, TenantConfig
from farm.config.selection import select_tenants
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, RunResult, SyncRequest
from farm.engine.events import Event, EventKind
from farm.engine.leases import LeasePolicy
from farm.engine.wiring import ClientProvider, Sources, client_provider
from farm.options import RunOptions
from farm.registry import Registry, RunTrigger

SourcesFactory = Callable[[Farm], Sources]


@dataclass
class _Started:
    stop: anyio.Event
    tenants: tuple[str, ...]
    run_id: int | None = None


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
        selection: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Run a sync (or a simulation) of ``tenants`` to the end; see the module docstring."""
        started = _Started(stop=anyio.Event(), tenants=tuple(t.id for t in tenants))
        if not self._started:
            self._idle = anyio.Event()
        self._started.append(started)
        sources = self.sources(self.farm)
        options = RunOptions(simulate=simulate)
        coordinator = Coordinator(
            farm=self.farm,
            registry=self.registry,
            events=_Recorder(self.bus(), started),
            sources=sources,
            clients=self.clients,
            stop=started.stop,
            leases=self.leases,
        )
        request = SyncRequest(
            tenants=tuple(tenants),
            options=options,
            trigger=RunTrigger.BATCH if len(tenants) > 1 else RunTrigger.TARGETED,
            selection={"from": "dashboard", **(selection or {})},
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


__all__ = ["Commander", "SourcesFactory"]
