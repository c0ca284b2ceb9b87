"""``farm demo --headless`` as a newcomer runs it: a farm synced twice, the second time for free."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

FARM = Path(sys.executable).parent / "farm"

pytestmark = pytest.mark.slow


def run_demo(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(FARM),
            "demo",
            "--headless",
            "--workdir",
            str(tmp_path / "demo"),
            "--establishments",
            "6",
            "--people",
            "50",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
    )


def summary(output: str, label: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith(f"{label} (run"))
    found = re.search(r"tenants ok (\d+), partial (\d+), failed (\d+)", line)
    created = re.search(r"accounts created (\d+)", line)
    assert found is not None
    assert created is not None
    ok, partial, failed = (int(x) for x in found.groups())
    return {"ok": ok, "partial": partial, "failed": failed, "created": int(created.group(1))}


@pytest.mark.slapd
def test_the_demo_syncs_a_farm_on_slapd_and_the_second_run_writes_nothing(
    tmp_path: Path,
) -> None:
    done = run_demo(tmp_path, "--keep", "--directory", "slapd")
    # A refused homonym leaves its tenant partial; the demo fails only when a tenant did not run.
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "directory: a private slapd" in out
    assert "NetYpareo: 3 CFA sites" in out
    first, second = summary(out, "run 1"), summary(out, "run 2")
    # Six establishments and three CFA sites; none fails (a CFA may have a refused homonym).
    assert first["ok"] + first["partial"] == 9
    assert first["failed"] == second["failed"] == 0
    assert first["created"] > 300
    assert second["created"] == 0
    assert "run 2 wrote 0 times to Moodle" in out
    # The farm folder it leaves looks like the shipped one, secrets as file references.
    farm_dir = tmp_path / "demo" / "farm"
    settings = tomllib.loads((farm_dir / "farm.toml").read_text(encoding="utf-8"))
    assert settings["directories"]["ent-demo"]["bind_password"] == "file:secrets/ldap-bind"
    cites = list(farm_dir.glob("cite-*.toml"))
    assert len(cites) == 2
    assert all(len(tomllib.loads(p.read_text())["establishments"]) == 2 for p in cites)
    for path in farm_dir.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        for secret in (farm_dir / "secrets").glob("*.token"):
            assert secret.read_text().strip() not in text
    # It says what it kept, and the commands to try on it work on the kept registry.
    assert f"kept {(tmp_path / 'demo').resolve()}" in out
    tries = [line.strip() for line in out.splitlines() if line.startswith("  farm --farm-dir")]
    report = next(line for line in tries if " report 1 --failed" in line)
    command = report.split("  ")[0].split()
    assert command[0] == "farm"
    shown = subprocess.run(
        [str(FARM), *command[1:], "--json"], capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0, shown.stderr
    (refused,) = json.loads(shown.stdout)["tenants"]
    assert "is also the username of" in refused["errors"][0]["reason"]


def test_the_demo_explains_itself_and_its_partial_tenant(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--directory", "embedded")

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("farm demo builds a farm on stand-ins")
    run_1 = out[out.index("run 1:") : out.index("run 2:")]
    # The first run already names the homonym and says why the tenant is partial;
    # Moodle's opaque answer never shows.
    refused = next(line for line in run_1.splitlines() if "not written:" in line)
    assert "is also the username of" in refused
    assert "why partial: two people of the source share a username" in run_1
    assert "invalidparameter" not in out
    partial = refused.split("not written: ")[1].split(":")[0]
    assert re.search(rf"\] {re.escape(partial)} +cfa-demo +partial ", run_1)
    # The end: what was stopped and removed, how it went, what to try next.
    assert "cleaned up: stopped " in out
    assert "removed the work folder" in out
    assert f"{partial} partial, as intended" in out
    assert "try next:" in out
    assert "farm demo --keep" in out
    # Nothing printed names the folder that is gone.
    assert str(tmp_path / "demo") not in out
    assert not (tmp_path / "demo").exists()


@pytest.mark.timeout(600)
def test_tools_demo_rebuilds_a_half_built_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # An interrupted first install: the folder is there, its interpreter is not.
    for python in venv.glob("bin/python*"):
        python.unlink()
    tools_demo = Path(__file__).parents[2] / "tools" / "demo"

    done = subprocess.run(
        [str(tools_demo), "--help"],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
        env={**os.environ, "FARM_VENV": str(venv)},
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert f"tools/demo: {venv} is half-built" in done.stderr
    assert "Usage: farm demo" in done.stdout
    assert (venv / "bin" / "farm").exists()


def test_the_demo_runs_without_slapd_on_its_embedded_directory(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--directory", "embedded")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "embedded static source" in done.stdout
    first, second = summary(done.stdout, "run 1"), summary(done.stdout, "run 2")
    assert first["failed"] == second["failed"] == 0
    assert first["created"] > 300
    assert "run 2 wrote 0 times to Moodle" in done.stdout
    assert not (tmp_path / "demo").exists()  # cleaned up without --keep
