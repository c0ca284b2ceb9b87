"""A worker process of its own, for the distributed tests.

    python -m tests.integration.distributed.worker REGISTRY_URL BASE_URL \
        --sites 2 --people 50 [--ttl 30]

It builds the farm of :mod:`kit` and runs :func:`run_worker` until SIGTERM,
printing ``ready`` once the worker is started.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import anyio

from farm.engine.bus import EventBus
from farm.engine.distributed.app import procrastinate_app
from farm.engine.distributed.worker import WorkerRuntime, run_worker
from farm.engine.leases import LeasePolicy
from farm.engine.wiring import client_provider
from farm.registry import Registry
from tests.integration.coordinator import farmkit
from tests.integration.distributed import kit


async def main(args: argparse.Namespace) -> int:
    os.environ.setdefault(farmkit.TOKEN_ENV, farmkit.TOKEN)
    farm = kit.build_farm(Path(tempfile.gettempdir()), args.base_url, args.sites)
    registry = Registry.open(args.registry_url)
    app = procrastinate_app(args.registry_url)
    async with app.open_async(), EventBus(registry) as bus:
        runtime = WorkerRuntime(
            farm=lambda: farm,
            registry=registry,
            events=bus,
            clients=client_provider(),
            stop=anyio.Event(),
            sources={"ent": farmkit.static_source(farm, args.people)},
            leases=LeasePolicy(ttl=timedelta(seconds=args.ttl), poll_first=0.1, poll_max=0.5),
        )
        print("ready", flush=True)
        await run_worker(app, runtime, kit.FAST)
    registry.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("registry_url")
    parser.add_argument("base_url")
    parser.add_argument("--sites", type=int, default=1)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--ttl", type=float, default=30.0)
    sys.exit(anyio.run(main, parser.parse_args()))
