#!/usr/bin/env python3
"""Write a generated SDET directory as LDIF (same output for the same seed).

    .venv/bin/python tools/gen_directory.py --establishments 10 --people 5000 -o ent.ldif
    .venv/bin/python tools/gen_directory.py -n 4 -p 400 --truth truth.json -o ent.ldif
    .venv/bin/python tools/gen_directory.py --shape grouped -o ent-groups.ldif

``--shape grouped`` keeps groups as entries under ou=groups (member DNs) and
teachers' groups as isMemberOf, with teachers known by function code only;
read it with a [[directories.NAME.cohort_groups]] table (docs/configuration.md).
Students carry their level (ENTEleveNivFormation) in both shapes.

Load it with ``tools/slapd.py start --ldif ent.ldif --suffix dc=ent-test,dc=fr``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from farm.simulators.directory import generate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-n", "--establishments", type=int, default=4)
    parser.add_argument("-p", "--people", type=int, default=400, help="about this many people")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--suffix", default="dc=ent-test,dc=fr")
    parser.add_argument(
        "--shape",
        choices=("sdet", "grouped"),
        default="sdet",
        help="sdet: groups as person attributes; grouped: group entries and isMemberOf",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="LDIF file to write")
    parser.add_argument("--truth", type=Path, help="also write who belongs where, as JSON")
    args = parser.parse_args()
    directory = generate(
        args.establishments, args.people, seed=args.seed, suffix=args.suffix, shape=args.shape
    )
    directory.write_ldif(args.output)
    if args.truth is not None:
        truth = {
            "suffix": directory.suffix,
            "shape": directory.shape,
            "establishments": [
                {"uai": e.uai, "dn": e.dn, "name": e.name, "partner": e.partner}
                for e in directory.establishments
            ],
            "people": [
                {
                    "uid": p.uid,
                    "kinds": sorted(p.kinds),
                    "uais": sorted(p.uais),
                    "classes": sorted(map(list, p.classes)),
                    "groups": sorted(map(list, p.groups | p.taught_groups)),
                    "level": p.level,
                    "broken": p.broken,
                    "taught_classes": sorted(map(list, p.taught_classes)),
                    "subject": p.subject,
                }
                for p in directory.people
            ],
        }
        args.truth.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    print(
        f"{args.output}: {len(directory.establishments)} establishments "
        f"({len(directory.cites)} cités scolaires), {len(directory.people)} people, "
        f"{sum(1 for p in directory.people if p.broken)} broken entries, suffix {directory.suffix}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
