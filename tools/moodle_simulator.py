#!/usr/bin/env python3
"""Serve simulated Moodle 5.0 sites on a loopback port, one per path prefix.

    tools/moodle_simulator.py --farm-dir tenants            # one site per site of the farm
    tools/moodle_simulator.py --sites 50 --port 8080        # site-001 ... site-050
    tools/moodle_simulator.py --sites 2 --cost 0.03,0.01,4 --faults 0.05

A farm's sites keep their names and get the token their ``token`` reference
resolves to (env:/file:), or ``--token`` when it cannot be resolved. Sites
made with ``--sites`` all use ``--token``. Each site answers at
``http://127.0.0.1:PORT/<site>/webservice/rest/server.php``.

With ``--control`` (loopback hosts only) the simulator also answers its control
endpoint, to clients on loopback only, so that a test can fault a site a
``farm sync`` subprocess is talking to and read what the site holds::

    curl -X POST http://127.0.0.1:8080/_control/site-001/faults \
         -d '{"bad_gateway": 0.05, "targeted": [{"function": "core_user_create_users",
              "nth": 2, "action": "hold"}]}'
    curl http://127.0.0.1:8080/_control/site-001/state       # users, cohorts, calls, faults
    curl -X POST http://127.0.0.1:8080/_control/site-001/release

Without ``--control`` those paths answer 404 like any unknown path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import uvicorn

from farm.secrets import SecretError
from farm.simulators.moodle import CostModel, Faults, MoodleSimulator
from farm.simulators.moodle.app import LOOPBACK


def build(args: argparse.Namespace) -> MoodleSimulator:
    sim = MoodleSimulator(f"http://{args.host}:{args.port}", control=args.control)
    per_call, per_record, workers = (float(x) for x in args.cost.split(","))
    rate = args.faults / 4

    def settings() -> dict[str, Any]:
        return {
            "cost": CostModel(per_call, per_record, int(workers)),
            "faults": Faults(bad_gateway=rate, unavailable=rate, timeout=rate, drop=rate),
            "debug": args.debug,
        }

    if args.farm_dir is not None:
        from farm.config import load_farm

        farm = load_farm(args.farm_dir)
        for site in farm.sites.values():
            try:
                token = site.token.resolve().reveal()
            except SecretError as exc:
                print(f"{site.name}: {exc}; using --token", file=sys.stderr)
                token = args.token
            name = site.url.rstrip("/").rsplit("/", 1)[-1]
            added = sim.add_site(
                name, token=token, profile_fields=site.profile_fields, **settings()
            )
            if site.auth:
                # The farm says the site has this plugin (CAS is installed apart from Moodle 5.0).
                added.auth_installed.add(site.auth)
    for index in range(1, args.sites + 1):
        sim.add_site(f"site-{index:03d}", token=args.token, **settings())
    return sim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--farm-dir", type=Path, help="serve one site per site of this farm")
    parser.add_argument("--sites", type=int, default=0, help="also serve site-001 ... site-N")
    parser.add_argument("--token", default="simulated-token", help="token of generated sites")
    parser.add_argument(
        "--cost", default="0,0,8", help="per-call s, per-record s, workers (default 0,0,8)"
    )
    parser.add_argument("--faults", type=float, default=0.0, help="share of calls that fail")
    parser.add_argument("--debug", action="store_true", help="sites run with debugging on")
    parser.add_argument(
        "--control",
        action="store_true",
        help="serve /_control/<site>/{faults,state,release} to loopback clients",
    )
    args = parser.parse_args()
    if args.control and args.host not in LOOPBACK:
        parser.error("--control needs a loopback --host (127.0.0.1, ::1 or localhost)")
    sim = build(args)
    if not sim.sites:
        parser.error("no site to serve: give --farm-dir or --sites")
    for site in sim.sites.values():
        print(f"{site.name}: {site.wwwroot}", file=sys.stderr)
    uvicorn.run(sim, host=args.host, port=args.port, lifespan="off", log_level="warning")


if __name__ == "__main__":
    main()
