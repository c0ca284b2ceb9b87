"""A coordinator run in a process of its own, for the cross-process tests.

    python -m tests.integration.coordinator.worker REGISTRY_URL BASE_URL \
        --sites 1 --tenants 0 --people 200 [--wait] [--ttl 3]

It builds the farm of :mod:`farmkit`, syncs the given site indexes against
the simulator at BASE_URL and prints the run's result as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import anyio

from farm.engine.coordinator import SyncRequest
from farm.engine.leases import LeasePolicy
from farm.registry import Registry
from tests.integration.coordinator import farmkit


async def main(args: argparse.Namespace) -> int:
    os.environ.setdefault(farmkit.TOKEN_ENV, farmkit.TOKEN)
    farm = farmkit.build_farm(Path(tempfile.gettempdir()), args.base_url, sites=args.sites)
    registry = Registry.open(args.registry_url)
    events = farmkit.Recorder()
    coordinator = farmkit.coordinator(
        farm,
        registry,
        events,
        farmkit.static_source(farm, args.people),
        leases=LeasePolicy(
            ttl=timedelta(seconds=args.ttl), wait=args.wait, poll_first=0.1, poll_max=0.5
        ),
    )
    chosen = tuple(t for t in farm.tenants.values() if t.site in {farmkit.site_name(0)})
    print(json.dumps({"started": os.getpid()}), flush=True)
    result = await coordinator.run(SyncRequest(tenants=chosen))
    waited = any(e.phase is not None and e.phase.value == "waiting" for e in events.events)
    print(
        json.dumps(
            {
                "run": result.run_id,
                "status": result.status.value,
                "waited": waited,
                "tenants": {t: [o.phase.value, o.reason] for t, o in result.tenants.items()},
            }
        ),
        flush=True,
    )
    registry.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("registry_url")
    parser.add_argument("base_url")
    parser.add_argument("--sites", type=int, default=1)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--ttl", type=float, default=30.0)
    parser.add_argument("--wait", action="store_true")
    sys.exit(anyio.run(main, parser.parse_args()))
