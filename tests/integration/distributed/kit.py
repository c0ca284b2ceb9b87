"""The distributed tests' farm and worker, buildable the same way in any process.

The farm is :mod:`tests.integration.coordinator.farmkit`'s (sites ``site-00``...,
a :class:`StaticSource` named ``ent``), its Moodle sites served on loopback.
:func:`worker_runtime` is what a ``farm worker`` builds from the farm files,
with the static source given instead of a directory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

import anyio
import procrastinate

from farm.config import Farm
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator
from farm.engine.distributed.app import procrastinate_app
from farm.engine.distributed.queue import install_schema
from farm.engine.distributed.worker import WorkerRuntime, WorkerSettings, run_worker
from farm.engine.leases import LeasePolicy
from farm.engine.wiring import Sources, client_provider
from farm.registry import Registry
from tests.integration.coordinator import farmkit

#: Fast heartbeats so that a killed worker is noticed within seconds.
FAST = WorkerSettings(concurrency=2, heartbeat=0.5, stalled_after=3.0, poll=0.5)


def build_farm(
    root: Path, base_url: str, sites: int, schedules: Mapping[str, str] | None = None
) -> Farm:
    """farmkit's farm; every scheduled task disabled unless ``schedules`` says otherwise.

    Workers tick every minute: a farm with the default schedules would start
    runs of its own when the tests happen to run at night.
    """
    farm = farmkit.build_farm(root, base_url, sites=sites)
    chosen = dict.fromkeys(farm.settings.schedules, "disabled") | dict(schedules or {})
    return dataclasses.replace(
        farm, settings=dataclasses.replace(farm.settings, schedules=MappingProxyType(chosen))
    )


def prepare_registry(url: str, farm: Farm) -> Registry:
    """The registry upgraded, the farm loaded, the job queue's tables installed."""
    registry = farmkit.open_registry(url)
    registry.load_farm(farm)

    async def install() -> None:
        app = procrastinate_app(url)
        async with app.open_async():
            await install_schema(app)

    anyio.run(install)
    return registry


@asynccontextmanager
async def running_worker(
    url: str,
    registry: Registry,
    farm: Farm,
    people: int,
    *,
    ttl: float = 30.0,
    settings: WorkerSettings = FAST,
) -> AsyncIterator[WorkerRuntime]:
    """A worker in this event loop for the length of the block, stopped cleanly at the end."""
    app = procrastinate_app(url)
    async with app.open_async(), EventBus(registry) as bus, anyio.create_task_group() as group:
        runtime = WorkerRuntime(
            farm=lambda: farm,
            registry=registry,
            events=bus,
            clients=client_provider(),
            stop=anyio.Event(),
            sources={"ent": farmkit.static_source(farm, people)},
            leases=LeasePolicy(ttl=timedelta(seconds=ttl), poll_first=0.1, poll_max=0.5),
        )
        group.start_soon(run_worker, app, runtime, settings)
        try:
            yield runtime
        finally:
            runtime.stop.set()


@asynccontextmanager
async def coordinator(
    url: str, registry: Registry, farm: Farm
) -> AsyncIterator[tuple[Coordinator, procrastinate.App]]:
    """A coordinator recording its events in the registry, and an open app to defer with."""
    app = procrastinate_app(url)
    async with app.open_async(), EventBus(registry) as bus:
        yield (
            Coordinator(
                farm=farm,
                registry=registry,
                events=bus,
                sources=Sources(farm),
                clients=client_provider(),
            ),
            app,
        )
