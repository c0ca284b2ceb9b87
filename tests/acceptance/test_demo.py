"""``farm demo --headless`` as a newcomer runs it: a farm synced twice, the second time for free."""

from __future__ import annotations

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


def test_the_demo_runs_without_slapd_on_its_embedded_directory(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--directory", "embedded")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "embedded static source" in done.stdout
    first, second = summary(done.stdout, "run 1"), summary(done.stdout, "run 2")
    assert first["failed"] == second["failed"] == 0
    assert first["created"] > 300
    assert "run 2 wrote 0 times to Moodle" in done.stdout
    assert not (tmp_path / "demo").exists()  # cleaned up without --keep
