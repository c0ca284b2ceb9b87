"""``farm registry``, ``farm runs`` and ``farm report`` run as operators run them."""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from farm.registry import (
    RefusedRecord,
    Registry,
    ReportWarning,
    RunStatus,
    RunTrigger,
    TenantReport,
    TenantStatus,
)
from farm.registry.schema import expected_revision
from tests.farm_command import run_farm

SHIPPED = Path(__file__).parents[2] / "tenants"


def farm(
    *args: str, farm_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_farm(
        ["--farm-dir", str(farm_dir), *args], {"FARM_REGISTRY_URL": None, **(env or {})}
    )


@pytest.fixture
def farm_dir(tmp_path: Path) -> Path:
    """A copy of the shipped farm, whose registry is var/registry.sqlite inside it."""
    copy = tmp_path / "tenants"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("var"))
    return copy


def registry_of(farm_dir: Path) -> str:
    return f"sqlite:///{farm_dir.resolve() / 'var' / 'registry.sqlite'}"


@pytest.mark.parametrize(
    "command",
    [
        ["registry"],
        ["registry", "upgrade"],
        ["registry", "status"],
        ["registry", "load"],
        ["runs"],
        ["report"],
    ],
)
def test_every_registry_command_has_an_example(command: list[str], farm_dir: Path) -> None:
    result = farm(*command, "--help", farm_dir=farm_dir)
    assert result.returncode == 0
    assert "farm " in result.stdout.split("Example:")[1]


def test_commands_before_upgrade_say_what_to_run_and_create_nothing(farm_dir: Path) -> None:
    for command in (["registry", "status"], ["runs"], ["report", "1"], ["registry", "load"]):
        result = farm(*command, farm_dir=farm_dir)
        assert result.returncode == 1, command
        assert "run 'farm registry upgrade' to create it" in result.stderr
    assert not (farm_dir / "var" / "registry.sqlite").exists()


def test_upgrade_creates_then_leaves_the_registry_alone(farm_dir: Path) -> None:
    created = farm("registry", "upgrade", farm_dir=farm_dir)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith(f"Created the registry at {registry_of(farm_dir)} (schema ")
    again = farm("registry", "upgrade", farm_dir=farm_dir)
    assert "is up to date" in again.stdout
    status = farm("registry", "status", farm_dir=farm_dir)
    assert status.returncode == 0
    assert status.stdout.splitlines() == [
        f"registry  {registry_of(farm_dir)}",
        f"schema    {expected_revision()} (current)",
        f"expected  {expected_revision()}",
    ]


def test_load_reports_additions_then_nothing_then_a_move_and_a_removal(farm_dir: Path) -> None:
    farm("registry", "upgrade", farm_dir=farm_dir)
    dry = farm("registry", "load", "--dry-run", farm_dir=farm_dir)
    assert dry.returncode == 0, dry.stderr
    assert "tenant 0810004P: added on site lycee-laperouse-albi" in dry.stdout
    assert "nothing was written" in dry.stdout

    first = farm("registry", "load", farm_dir=farm_dir)
    assert "26 changes loaded into" in first.stdout
    second = farm("registry", "load", farm_dir=farm_dir)
    assert second.stdout.startswith("No change:")

    # Lycée Lapérouse leaves its own Moodle for Bourdelle's.
    albi = farm_dir / "lycee-laperouse-albi.toml"
    block = albi.read_text(encoding="utf-8").split("[[establishments]]", 1)[1]
    albi.unlink()
    with (farm_dir / "lycee-bourdelle-montauban.toml").open("a", encoding="utf-8") as file:
        file.write("\n[[establishments]]" + block)
    moved = farm("registry", "load", farm_dir=farm_dir)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines() == [
        "site lycee-laperouse-albi: removed",
        "tenant 0810004P: moved from site lycee-laperouse-albi to site lycee-bourdelle-montauban"
        " (tags)",
        f"2 changes loaded into {registry_of(farm_dir)}.",
    ]


def test_an_invalid_farm_writes_nothing(farm_dir: Path) -> None:
    farm("registry", "upgrade", farm_dir=farm_dir)
    farm("registry", "load", farm_dir=farm_dir)
    (farm_dir / "lycee-laperouse-albi.toml").unlink()
    farm_toml = farm_dir / "farm.toml"
    farm_toml.write_text(farm_toml.read_text(encoding="utf-8") + "\n[farm\n", encoding="utf-8")

    result = farm("registry", "load", farm_dir=farm_dir)

    assert result.returncode == 1
    assert "farm.toml" in result.stderr
    assert "nothing was done" in result.stderr
    with Registry.open(registry_of(farm_dir)) as registry:
        assert "0810004P" in {t.id for t in registry.registered_tenants()}


def test_a_broken_site_file_does_not_hide_past_runs(farm_dir: Path) -> None:
    farm("registry", "upgrade", farm_dir=farm_dir)
    site = farm_dir / "lycee-laperouse-albi.toml"
    site.write_text(site.read_text(encoding="utf-8") + "\nurl_typo = 1\n", encoding="utf-8")

    result = farm("runs", farm_dir=farm_dir)

    assert result.returncode == 0, result.stderr
    assert farm("tenants", "check", "--skip-secrets", farm_dir=farm_dir).returncode == 1


def test_an_unreachable_registry_is_named_with_its_password_masked(farm_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://farm:pa55word@127.0.0.1:{port}/farm"
    result = farm("runs", farm_dir=farm_dir, env={"FARM_REGISTRY_URL": url})
    assert result.returncode == 1
    assert f"cannot reach the registry at postgresql+psycopg://farm:***@127.0.0.1:{port}/farm" in (
        result.stderr
    )
    assert "pa55word" not in result.stderr


def test_runs_and_report_on_an_empty_registry(farm_dir: Path) -> None:
    farm("registry", "upgrade", farm_dir=farm_dir)
    assert farm("runs", farm_dir=farm_dir).stdout == "No runs yet.\n"
    assert json.loads(farm("runs", "--json", farm_dir=farm_dir).stdout) == []
    unknown = farm("report", "7", farm_dir=farm_dir)
    assert unknown.returncode == 1
    assert "there is no run 7 in the registry" in unknown.stderr


def _fill(url: str) -> int:
    with Registry.open(url) as registry:
        run = registry.start_run(trigger=RunTrigger.BATCH, simulated=True)
        registry.record_tenant_report(
            run,
            TenantReport(
                tenant="0340041K",
                site="cite-clemenceau-montpellier",
                status=TenantStatus.SUCCEEDED,
                counts={"users": {"create": 120, "update": 4}, "cohorts": {"create": 6}},
                warnings=(ReportWarning("no email address", key="person:42"),),
                durations={"read": 1.25, "apply": 8.5},
            ),
        )
        registry.record_tenant_report(
            run,
            TenantReport(
                tenant="0341921D",
                site="cite-clemenceau-montpellier",
                status=TenantStatus.PARTIAL,
                reason="1 record refused",
                counts={"users": {"create": 10}},
                errors=(
                    RefusedRecord("person:7", "[[invalidusername]] Invalid username", "users"),
                ),
            ),
        )
        registry.finish_run(run, RunStatus.PARTIAL)
        registry.start_run(trigger=RunTrigger.SCHEDULE)
        return run


def test_runs_and_report_show_what_the_engine_recorded(farm_dir: Path) -> None:
    farm("registry", "upgrade", farm_dir=farm_dir)
    run = _fill(registry_of(farm_dir))

    table = farm("runs", farm_dir=farm_dir).stdout
    assert "partial" in table
    assert "running" in table
    listed = json.loads(farm("runs", "--json", "--status", "partial", farm_dir=farm_dir).stdout)
    assert [
        (r["id"], r["tenants"]["ok"], r["tenants"]["failed"], r["simulated"]) for r in listed
    ] == [(run, 1, 1, True)]

    shown = farm("report", str(run), farm_dir=farm_dir)
    assert shown.returncode == 0, shown.stderr
    assert "users: 120 create, 4 update" in shown.stdout
    assert "[[invalidusername]] Invalid username" in shown.stdout

    document = json.loads(farm("report", str(run), "--json", farm_dir=farm_dir).stdout)
    assert [t["tenant"] for t in document["tenants"]] == ["0340041K", "0341921D"]
    assert document["tenants"][0]["counts"] == {
        "users": {"create": 120, "update": 4},
        "cohorts": {"create": 6},
    }
    assert document["tenants"][1]["errors"] == [
        {"entity": "users", "key": "person:7", "reason": "[[invalidusername]] Invalid username"}
    ]

    rows = list(
        csv.DictReader(io.StringIO(farm("report", str(run), "--csv", farm_dir=farm_dir).stdout))
    )
    counts = {
        (r["tenant"], r["entity"], r["action"]): int(r["count"])
        for r in rows
        if r["kind"] == "count"
    }
    assert counts == {
        ("0340041K", "cohorts", "create"): 6,
        ("0340041K", "users", "create"): 120,
        ("0340041K", "users", "update"): 4,
        ("0341921D", "users", "create"): 10,
    }
    errors = [(r["tenant"], r["key"], r["message"]) for r in rows if r["kind"] == "error"]
    assert errors == [("0341921D", "person:7", "[[invalidusername]] Invalid username")]

    only = json.loads(
        farm("report", str(run), "--tenant", "0341921D", "--json", farm_dir=farm_dir).stdout
    )
    assert [t["status"] for t in only["tenants"]] == ["partial"]
    missing = farm("report", str(run), "--tenant", "0999999Z", farm_dir=farm_dir)
    assert missing.returncode == 1
    assert f"run {run} has no report for tenant 0999999Z" in missing.stderr


@pytest.mark.postgres
def test_the_same_commands_work_on_postgresql(farm_dir: Path, postgres_url: str) -> None:
    env = {"FARM_REGISTRY_URL": postgres_url}
    assert farm("registry", "upgrade", farm_dir=farm_dir, env=env).stdout.startswith("Created")
    assert "26 changes loaded" in farm("registry", "load", farm_dir=farm_dir, env=env).stdout
    run = _fill(postgres_url)
    shown = json.loads(farm("report", str(run), "--json", farm_dir=farm_dir, env=env).stdout)
    assert shown["run"]["status"] == "partial"
    assert not (farm_dir / "var" / "registry.sqlite").exists()
