"""``tools/bench_farm.py --quick`` still runs and prints its tables.

One run of the smallest form, the simulator in-process: the figures are not
checked (no timed assertion: a loaded machine must not fail the suite), only
that each table has its rows and columns and that the runs succeeded.
"""

from __future__ import annotations

import re

import pytest

from tests.integration.benchmarks.scripts import load


async def test_the_quick_benchmark_prints_every_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench_farm")
    await bench.main(bench.arguments(["--quick"]))
    out = capsys.readouterr().out

    assert "load average at start:" in out
    assert "load average at end:" in out
    assert "first sync (succeeded)" in out
    header = next(line for line in out.splitlines() if line.startswith("first sync"))
    assert header.split()[-4:] == ["farm", "bare", "httpx", "farm/httpx"]
    for row in ("wall (s)", "CPU (s)", "CPU s per 1,000 records", "web-service calls"):
        line = next(line for line in out.splitlines() if line.strip().startswith(row))
        # The farm's figure, the bare client's and their ratio.
        assert len(line.removeprefix(f"  {row}").split()) == 3, line
    assert "best ratio ideal/wall this machine allows" in out
    # Group commit's count: the quick farm's 2 sites confirm their batches apart or together.
    recorded = re.search(r"registry: ([\d,]+) confirmed batches recorded in ([\d,]+) trans", out)
    assert recorded is not None
    batches, transactions = (int(n.replace(",", "")) for n in recorded.groups())
    assert 0 < transactions <= batches, recorded
    # In-process, the aiohttp floor cannot run (aiohttp takes no ASGI transport): said so.
    assert "bare aiohttp: not run" in out
    assert "no-change rerun (succeeded)" in out
    assert "writes 0" in out
    assert "KB per person" in out
    assert "synced one after another, one call at a time" in out
    assert "(estimate from that measure)" in out
    series = out.split("big site:", 1)[1].splitlines()
    assert series[1].split()[:2] == ["people", "CPU"]
    rows = [line.split() for line in series if line[2:3] == " " and line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["50", "100"]
    # The simulator's CPU column says n/a: in-process, it is the engine's own.
    assert all(len(row) == 7 and row[-1] == "n/a" for row in rows), rows
