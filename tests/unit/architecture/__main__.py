"""Print the farm's import cycles and the imports that break its layers.

Usage: ``python -m tests.unit.architecture [--root PATH]``, from the
repository. ``--root`` reads another copy of the tree (for instance an older
commit: ``git archive COMMIT farm | tar -x -C /tmp/old``). The rules are
those of ``test_layers.py``; allowlisted edges are shown with their reason.
Exits 1 when something breaks a rule and is not allowlisted, or when an
allowlist entry is stale, like the tests.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from tests.unit.architecture.graph import ROOT, read_graph
from tests.unit.architecture.test_layers import (
    KNOWN_VIOLATIONS,
    isolated_of,
    layer_of,
    stale_allowances,
    upward_imports,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.unit.architecture")
    parser.add_argument("--root", type=Path, default=ROOT, help="folder holding farm/")
    args = parser.parse_args(argv)
    graph = read_graph(args.root.resolve())
    failed = False

    cycles = graph.cycles()
    print(f"{len(graph.modules)} modules, {len(graph.edges())} imports between them")
    print(f"\nimport cycles: {len(cycles)}")
    for chain in cycles:
        known = [e for e in itertools.pairwise(chain) if e in KNOWN_VIOLATIONS]
        failed |= not known
        note = f"  (known: {KNOWN_VIOLATIONS[known[0]]})" if known else ""
        print(f"  {' -> '.join(chain)}{note}")

    broken = upward_imports(graph)
    edges = sorted({s.edge for s, _ in broken})
    print(f"\nimports breaking the layers: {len(edges)} (in {len(broken)} statements)")
    for statement, rule in broken:
        reason = KNOWN_VIOLATIONS.get(statement.edge)
        failed |= reason is None
        note = f"  (known: {reason})" if reason else ""
        print(f"  {statement.importer} -> {statement.imported}: {rule}")
        print(f"      at {statement.where()}{note}")

    lost = sorted(m for m in graph.modules if layer_of(m) is None and isolated_of(m) is None)
    failed |= bool(lost)
    print(f"\nmodules outside the layers (not checked): {len(lost)}")
    for module in lost:
        print(f"  {module}")

    if args.root.resolve() == ROOT:
        stale = stale_allowances(graph)
        failed |= bool(stale)
        print(f"\nstale allowlist entries: {len(stale)}")
        for line in stale:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
