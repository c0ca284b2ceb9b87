"""The fault campaign's quick subset on SQLite, one seed: every cell must hold.

It runs ``tools/fault_campaign.py --quick --registry sqlite --seeds 1`` as a
subprocess (its own slapd, simulators and ``farm sync`` subprocesses), so CI
keeps the campaign alive: a case the product breaks, or a campaign that no
longer runs, fails here with the campaign's table in the message.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.integration.faults.campaign import ROOT, SCRIPT, load

pytestmark = [pytest.mark.slapd, pytest.mark.slow]


def test_the_quick_campaign_holds_every_cell_on_sqlite() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--registry", "sqlite", "--seeds", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
        check=False,
    )
    seconds = time.monotonic() - started
    shown = f"exit {done.returncode} after {seconds:.0f} s\n{done.stdout}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, shown
    assert "registry: sqlite" in done.stdout, shown
    quick = [case.name for case in load().CASES if case.quick]
    rows = [line.split()[0] for line in done.stdout.splitlines() if line[:1].isalpha()]
    expected = [f"{name}-s1" if name.startswith("faults") else name for name in quick]
    assert [r for r in rows if r in expected] == expected, shown
    assert "✗" not in done.stdout, shown
    total = len(expected) * 6
    assert f"{total}/{total} cells hold; registries: sqlite" in done.stdout, shown
