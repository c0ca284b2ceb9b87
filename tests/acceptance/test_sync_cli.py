"""``farm sync``, ``farm status``, ``farm watch`` and ``farm schedule`` as operators run them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.farm_command import run_farm

SHIPPED = Path(__file__).parents[2] / "tenants"


def farm(
    *args: str, registry: str | None = None, farm_dir: Path = SHIPPED
) -> subprocess.CompletedProcess[str]:
    env = {} if registry is None else {"FARM_REGISTRY_URL": registry}
    return run_farm(["--farm-dir", str(farm_dir), *args], env=env)


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    created = farm("registry", "upgrade", registry=url)
    assert created.returncode == 0, created.stderr
    return url


def test_sync_without_a_selection_asks_for_one() -> None:
    result = farm("sync")
    assert result.returncode == 2
    assert "--all" in result.stderr


def test_sync_with_an_unknown_tenant_is_a_usage_error(registry: str) -> None:
    result = farm("sync", "--tenant", "0340041X", registry=registry)
    assert result.returncode == 2
    assert "no tenant '0340041X'" in result.stderr


def test_sync_with_a_bad_entity_is_refused_before_any_run(registry: str) -> None:
    result = farm("sync", "--all", "--entities", "pupils", "--json", registry=registry)
    assert result.returncode == 2
    assert "pupils" in result.stderr
    runs = farm("runs", "--json", registry=registry)
    assert json.loads(runs.stdout) == []


@pytest.mark.parametrize("command", [("sync",), ("status",), ("watch",), ("schedule", "run")])
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = farm(*command, "--help")
    assert result.returncode == 0
    assert "Example" in result.stdout


def test_status_of_a_farm_never_synced(registry: str) -> None:
    result = farm("status", "--json", registry=registry)
    # Never synced is critical: exit 2, as a Nagios plugin says it (issue 13).
    assert result.returncode == 2, result.stderr
    states = json.loads(result.stdout)
    assert {s["tenant"] for s in states} >= {"0340041K", "cfa-occ-montpellier"}
    assert {s["state"] for s in states} == {"never"}
    assert {s["level"] for s in states} == {"critical"}
    prom = farm("status", "--prometheus", "--site", "cfa-occitanie", registry=registry)
    assert (
        'farm_tenant_status_level{farm="Occitanie demo farm",site="cfa-occitanie",' in prom.stdout
    )
    assert prom.stdout.count("farm_tenant_status_level{") == 2


def test_schedule_list_shows_never_and_disabled(registry: str, tmp_path: Path) -> None:
    copy = tmp_path / "tenants"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("var"))
    farm_toml = copy / "farm.toml"
    text = farm_toml.read_text(encoding="utf-8")
    farm_toml.write_text(re.sub(r'(?m)^delta = ".*"$', 'delta = "disabled"', text), "utf-8")

    result = farm(
        "schedule",
        "list",
        "--tenant",
        "cfa-occ-toulouse",
        "--tenant",
        "0340041K",
        registry=registry,
        farm_dir=copy,
    )

    assert result.returncode == 0, result.stderr
    entries = json.loads(
        farm(
            "schedule",
            "list",
            "--json",
            "--tenant",
            "cfa-occ-toulouse",
            "--tenant",
            "0340041K",
            registry=registry,
            farm_dir=copy,
        ).stdout
    )
    tasks = {(e["tenant"], e["task"]): e for e in entries}
    # The CFA's site moves its students to 03:00 (tenants/cfa-occitanie.toml).
    students = tasks[("cfa-occ-toulouse", "students")]
    assert students["schedule"] == "0 3 * * *"
    assert students["override"] is True
    assert students["last_run"] is None
    assert tasks[("0340041K", "delta")]["disabled"] is True
    assert tasks[("0340041K", "delta")]["next_run"] is None
    assert ("0340041K", "pdgroups") not in tasks
    # The table says the same: one table per tenant, "never", "disabled: CLI only".
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert "cfa-occ-toulouse  " in result.stdout  # the tenant's own table says whose it is
    students_row = next(r for r in rows if r.split("│")[1].strip() == "students")
    assert [c.strip() for c in students_row.split("│")[2:7]] == ["0", "3", "*", "*", "*"]
    assert "never" in students_row
    delta_row = next(r for r in rows if r.split("│")[1].strip() == "delta")
    assert "disabled: CLI only" in delta_row
    assert "Europe/Paris" in result.stdout


def test_the_distributed_executor_refuses_a_sqlite_registry_before_any_run(
    registry: str,
) -> None:
    result = farm("sync", "--all", "--executor", "distributed", registry=registry)

    assert result.returncode == 1
    assert "needs the registry on PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(farm("runs", "--json", registry=registry).stdout) == []


def test_adopt_cohorts_is_recorded_in_the_run_options(registry: str) -> None:
    # The shipped farm's directory is not running here: the run fails fast, but it is recorded.
    farm("sync", "--tenant", "0340041K", "--adopt-cohorts", "--quiet", registry=registry)

    (run,) = json.loads(farm("runs", "--json", registry=registry).stdout)
    assert run["options"]["adopt_cohorts"] is True
