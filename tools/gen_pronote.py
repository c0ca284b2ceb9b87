#!/usr/bin/env python3
"""Write sample Pronote identifier exports (IdPN) for a generated directory's establishments.

The directory is the one tools/gen_directory.py writes for the same
--establishments, --people, --seed and --suffix; the files are the full
export a school makes at the start of the year and the partial one for
newcomers, in the inferred format of docs/pronote.md, with what a correct
matcher must find (--truth).

    .venv/bin/python tools/gen_pronote.py -n 4 -p 400 -o pronote/
    .venv/bin/python tools/gen_pronote.py -n 24 -p 2880 --seed 2026 --suffix dc=ent-demo,dc=fr \\
        --uai 0900001M --uai 0900038C --unmatched 0.1 --ambiguous 0.05 -o pronote/

By default the files cover the first cité scolaire (its two UAIs). Import them with
``farm pronote import pronote/IdPN_To_KOSMOS-full.xml --tenant UAI ... --mode full``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from farm.simulators.directory import generate
from farm.simulators.pronote import PronoteShares, generate_idpn

DEFAULTS = PronoteShares()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-n", "--establishments", type=int, default=4)
    parser.add_argument("-p", "--people", type=int, default=400, help="about this many people")
    parser.add_argument("--seed", type=int, default=0, help="the directory's seed")
    parser.add_argument("--suffix", default="dc=ent-test,dc=fr")
    parser.add_argument(
        "--uai", action="append", help="an establishment of the Pronote base (repeat it)"
    )
    parser.add_argument("--file-seed", type=int, default=0, help="the files' own seed")
    parser.add_argument("--partner", default="KOSMOS", help="the ENT named in the file")
    parser.add_argument("--omitted", type=float, default=DEFAULTS.omitted)
    parser.add_argument("--unmatched", type=float, default=DEFAULTS.unmatched)
    parser.add_argument("--ambiguous", type=float, default=DEFAULTS.ambiguous)
    parser.add_argument("--directory-id", type=float, default=DEFAULTS.directory_id)
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to write into")
    parser.add_argument("--truth", action="store_true", help="also write truth.json")
    args = parser.parse_args()
    directory = generate(args.establishments, args.people, seed=args.seed, suffix=args.suffix)
    uais = args.uai or list(
        directory.cites[0] if directory.cites else [directory.establishments[0].uai]
    )
    known = {e.uai for e in directory.establishments}
    unknown = [u for u in uais if u not in known]
    if unknown:
        parser.error(f"no establishment {', '.join(unknown)} in this directory: {sorted(known)}")
    shares = PronoteShares(
        omitted=args.omitted,
        unmatched=args.unmatched,
        ambiguous=args.ambiguous,
        directory_id=args.directory_id,
    )
    files = generate_idpn(directory, uais, seed=args.file_seed, shares=shares, partner=args.partner)
    args.output.mkdir(parents=True, exist_ok=True)
    for which in ("full", "partial"):
        path = args.output / f"IdPN_To_{args.partner}-{which}.xml"
        path.write_bytes(getattr(files, which))
        counts = files.truth[which]
        print(
            f"{path}: {which} export of {', '.join(uais)}: "
            + ", ".join(
                f"{population} {c['matched']} matched / {c['unmatched_file']} unmatched / "
                f"{c['ambiguous']} ambiguous"
                for population, c in counts.items()
            )
        )
    if args.truth:
        (args.output / "truth.json").write_text(json.dumps(files.truth, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
