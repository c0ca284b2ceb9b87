"""The other benchmarks of ``tools/`` still run, at their smallest, and print every figure.

As for ``bench_farm`` (``test_bench_farm.py``), the figures are not checked:
the machine is shared, and a timed assertion would fail a loaded run. What
is checked is what a reader of the output needs: each line the benchmark
promises, with a number where a number belongs, and a zero exit.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.integration.benchmarks.scripts import ROOT

NUMBER = r"\d[\d,]*(\.\d+)?"


def bench(name: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


def line(out: str, start: str) -> str:
    found = [text for text in out.splitlines() if text.startswith(start)]
    assert found, f"no line starting {start!r} in:\n{out}"
    return found[0]


@pytest.mark.slapd
def test_bench_ldap_reads_then_compares_with_ldapsearch_and_gives_the_ratio() -> None:
    out = bench("bench_ldap", "--people", "300", "--establishments", "2", "--repeat", "1")

    read = line(out, "records")
    assert re.search(rf"{NUMBER} people, {NUMBER} cohorts, {NUMBER} memberships", read)
    assert re.search(rf"{NUMBER} entries/s", line(out, "read 1"))
    assert re.search(rf"the same {NUMBER} searches", line(out, "ldapsearch 1"))
    assert re.search(rf"^ratio +{NUMBER} of ldapsearch's speed", line(out, "ratio"))
    assert re.search(rf"{NUMBER} MiB RSS", line(out, "peak memory"))
    assert re.search(r">= [\d,]+ entries/s: (met|NOT met)", line(out, "aim"))


def test_bench_tui_says_the_rate_its_writer_reached_and_the_cost_of_a_tick() -> None:
    out = bench("bench_tui", "--tenants", "30", "--seconds", "1", "--rate", "100")

    assert re.search(rf"asked {NUMBER} events/s, reached {NUMBER}/s", line(out, "tenants 30"))
    assert re.search(rf"fold\+redraw median {NUMBER} ms", line(out, "ticks"))
    assert re.search(rf"registry poll median {NUMBER} ms", line(out, "registry poll"))


@pytest.mark.postgres
def test_bench_workers_syncs_with_one_then_two_workers(postgres_server_url: str) -> None:
    out = bench("bench_workers", "--quick", "--registry", postgres_server_url)

    rows = [text.split() for text in out.splitlines() if text.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"]
    assert all(row[-1] == "succeeded/succeeded" for row in rows), out
    assert "load average at end:" in out
