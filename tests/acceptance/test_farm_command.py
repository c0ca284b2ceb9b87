"""``farm`` in the test process answers as the ``farm`` process does (:mod:`tests.farm_command`).

The acceptance tests read exit codes, stdout and stderr apart; if the
in-process run differed from the installed command on any of them, every
test built on it would assert something operators never see.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.farm_command import run_farm

FARM = Path(sys.executable).parent / "farm"


def as_process(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FARM), *args], capture_output=True, text=True, timeout=60, check=False
    )


def broken_farm(root: Path) -> Path:
    (root / "farm.toml").write_text("[farm\nname = 'x'\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["sync", "--help"], id="help"),
        pytest.param(["synk"], id="unknown-command"),
        pytest.param(["sync", "--no-such-option"], id="unknown-option"),
        pytest.param(["tenants", "check"], id="broken-farm"),
    ],
)
def test_exit_code_stdout_and_stderr_are_the_installed_commands(
    tmp_path: Path, args: list[str]
) -> None:
    full = ["--farm-dir", str(broken_farm(tmp_path)), *args]
    inside, outside = run_farm(full), as_process(full)
    assert (inside.returncode, inside.stdout, inside.stderr) == (
        outside.returncode,
        outside.stdout,
        outside.stderr,
    )
    assert outside.returncode in (0, 1, 2)  # each case says something on its stream
    assert (outside.stdout if outside.returncode == 0 else outside.stderr).strip()


def test_an_exception_no_command_caught_is_a_traceback_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, not an operator's mistake")

    monkeypatch.setattr("farm.cli.tenants._load", broken)
    done = run_farm(["--farm-dir", str(tmp_path), "tenants", "check"])
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("RuntimeError: a bug, not an operator's mistake")
