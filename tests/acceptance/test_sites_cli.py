"""``farm sites check`` run as operators run it, on the shipped farm pointed at the simulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from farm.config import load_farm
from tests.farm_command import run_farm
from tests.fixtures.moodle import ServedSimulator

FARM = Path(sys.executable).parent / "farm"
SHIPPED = Path(__file__).parents[2] / "tenants"


@pytest.fixture
def farm_on_simulator(
    tmp_path: Path, served_moodle: ServedSimulator
) -> tuple[Path, dict[str, str]]:
    """A copy of the shipped farm whose sites are simulated; returns it and the token env."""
    farm_dir = tmp_path / "farm"
    shutil.copytree(SHIPPED, farm_dir, ignore=shutil.ignore_patterns("var"))
    for path in farm_dir.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("http://127.0.0.1:8080", served_moodle.base_url), encoding="utf-8"
        )
    env: dict[str, str] = {}
    for site in load_farm(farm_dir).sites.values():
        token = f"tok-{site.name}-7f3a9c"
        env[site.token.target] = token
        path_name = site.url.rstrip("/").rsplit("/", 1)[-1]
        added = served_moodle.sim.add_site(
            path_name, token=token, profile_fields=site.profile_fields
        )
        # The demo's ENT sites installed the CAS plugin (Moodle 5.0 no longer ships it).
        added.auth_installed.add("cas")
    return farm_dir, env


def farm(farm_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_farm(["--farm-dir", str(farm_dir), "sites", *args], env)


def test_every_ready_site_gets_one_ok_line(farm_on_simulator: tuple[Path, dict[str, str]]) -> None:
    farm_dir, env = farm_on_simulator
    result = farm(farm_dir, env, "check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(env)
    assert all(": OK Moodle 5.0" in line and " ms" in line for line in lines)


def test_missing_functions_and_profile_fields_are_named_per_site(
    farm_on_simulator: tuple[Path, dict[str, str]], served_moodle: ServedSimulator
) -> None:
    farm_dir, env = farm_on_simulator
    sites = served_moodle.sim.sites
    bellevue = sites["lycee-bellevue-toulouse"]
    bellevue.profile_fields.clear()
    arago = sites["lycee-arago-perpignan"]
    for token in arago.tokens:
        arago.tokens[token] -= {"core_cohort_add_cohort_members"}
    result = farm(farm_dir, env, "check")
    assert result.returncode == 1
    lines = {line.split(":")[0]: line for line in result.stdout.splitlines()}
    assert "FAIL" in lines["lycee-arago-perpignan"]
    assert "missing functions: core_cohort_add_cohort_members" in lines["lycee-arago-perpignan"]
    assert "missing profile fields: ent_profile" in lines["lycee-bellevue-toulouse"]
    assert "OK" in lines["lycee-daudet-nimes"]


def test_json_output_and_a_missing_token_and_no_token_printed(
    farm_on_simulator: tuple[Path, dict[str, str]],
) -> None:
    farm_dir, env = farm_on_simulator
    del env["MOODLE_TOKEN_LYCEE_DAUDET_NIMES"]
    unset: dict[str, str | None] = {"MOODLE_TOKEN_LYCEE_DAUDET_NIMES": None}
    result = run_farm(["--farm-dir", str(farm_dir), "sites", "check", "--json"], {**unset, **env})
    assert result.returncode == 1
    checks = {c["site"]: c for c in json.loads(result.stdout)}
    assert checks["lycee-daudet-nimes"]["ok"] is False
    assert "MOODLE_TOKEN_LYCEE_DAUDET_NIMES is not set" in checks["lycee-daudet-nimes"]["error"]
    assert checks["lycee-arago-perpignan"]["ok"] is True
    assert checks["lycee-arago-perpignan"]["missing_functions"] == []
    assert checks["lycee-arago-perpignan"]["round_trip_ms"] > 0
    for token in env.values():
        assert token not in result.stdout
        assert token not in result.stderr


def test_one_site_by_name_and_an_unknown_name(
    farm_on_simulator: tuple[Path, dict[str, str]],
) -> None:
    farm_dir, env = farm_on_simulator
    result = farm(farm_dir, env, "check", "lycee-arago-perpignan")
    assert result.returncode == 0
    assert result.stdout.startswith("lycee-arago-perpignan: OK")
    assert len(result.stdout.splitlines()) == 1
    result = farm(farm_dir, env, "check", "lycee-nowhere")
    assert result.returncode == 1
    assert "unknown site(s): lycee-nowhere" in result.stderr


def test_help_shows_an_example() -> None:
    result = run_farm(["sites", "check", "--help"])
    assert "Example:" in result.stdout
    assert "farm sites check" in result.stdout


def test_a_broken_farm_is_reported_and_nothing_is_checked(tmp_path: Path) -> None:
    (tmp_path / "farm.toml").write_text("[farm\nname = 'x'\n", encoding="utf-8")
    result = run_farm(["--farm-dir", str(tmp_path), "sites", "check"])
    assert result.returncode == 1
    assert "farm.toml" in result.stderr
    assert "the farm was not loaded" in result.stderr
    assert result.stdout == ""


def test_retries_on_flaky_sites_are_our_own_lines_and_never_glued_to_a_result(
    farm_on_simulator: tuple[Path, dict[str, str]],
    served_moodle: ServedSimulator,
    tmp_path: Path,
) -> None:
    farm_dir, env = farm_on_simulator
    for site in served_moodle.sim.sites.values():
        site.faults.unavailable = 0.4  # 503 before anything is done: retried
    output = tmp_path / "check.out"

    def check(level: str) -> list[str]:
        # As `farm sites check > check.out 2>&1` from cron: both streams in one file.
        with output.open("w", encoding="utf-8") as both:
            subprocess.run(
                [str(FARM), "--farm-dir", str(farm_dir), "sites", "check"],
                stdout=both,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env, "FARM_LOG_LEVEL": level},
                timeout=180,
                check=False,
            )
        return output.read_text(encoding="utf-8").splitlines()

    quiet = check("warning")
    told = check("info")

    assert "stamina" not in "\n".join(quiet + told)
    # At the default level a retry that worked is not worth a line.
    assert len(quiet) == len(env)
    assert all(line.split(":")[0] in env_sites(farm_dir) for line in quiet)
    results = [line for line in told if not line.startswith("{")]
    logs = [json.loads(line) for line in told if line.startswith("{")]  # each one whole
    assert len(results) == len(env)
    assert all(line.split(":")[0] in env_sites(farm_dir) for line in results)
    retries = [entry for entry in logs if entry["event"] == "moodle call failed, will retry"]
    assert retries
    assert all(entry["level"] == "info" and entry["reason"] == "HTTP 503" for entry in retries)
    assert {entry["site"] for entry in retries} <= env_sites(farm_dir)


def env_sites(farm_dir: Path) -> set[str]:
    return set(load_farm(farm_dir).sites)
