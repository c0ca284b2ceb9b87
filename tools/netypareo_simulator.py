"""Serve the NetYpareo SOAP simulator on a loopback port.

    .venv/bin/python tools/netypareo_simulator.py --port 8082 --seed 0 --sites 4

The WSDL is at http://127.0.0.1:PORT/ws?wsdl; faults are set while it runs:

    curl -X POST localhost:8082/_sim/faults -d '{"fail_next": 3}'
    curl localhost:8082/_sim/stats
"""

from __future__ import annotations

import argparse
from datetime import date

import uvicorn

from farm.simulators.netypareo import NetYpareoSimulator, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--groups", type=int, default=4, help="apprenticeship groups per site")
    parser.add_argument("--pdgroups", type=int, default=2, help="continuing-education groups")
    parser.add_argument("--learners", type=int, default=12, help="learners per group")
    parser.add_argument("--reference-date", type=date.fromisoformat, default=date(2026, 9, 1))
    parser.add_argument("--token", help="require this X-Auth-Token (for demos of token errors)")
    args = parser.parse_args()
    data = generate(
        args.seed,
        sites=args.sites,
        groups_per_site=args.groups,
        pdgroups_per_site=args.pdgroups,
        learners_per_group=args.learners,
        reference_date=args.reference_date,
    )
    simulator = NetYpareoSimulator(data, token=args.token)
    print(f"NetYpareo simulator: WSDL at http://{args.host}:{args.port}/ws?wsdl")
    uvicorn.run(simulator.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
