"""``farm sync`` when the registry fails mid-run: one line, a JSON summary, a clean rerun.

A real farm folder on a private slapd and the Moodle simulator served on
loopback in this process; the registry fails just after Moodle confirmed the
third user creation (``tests/registry_faults.py``):

- SQLite made read-only, with ``farm sync`` run in this process (the fault
  is on this process's connections): the rerun, in the same live process,
  must not find the first run's leases in its way;
- PostgreSQL refusing connections, with ``farm sync`` as a subprocess: the
  rerun takes the dead process's leases over at once;
- PostgreSQL terminating the session that records a batch: the registry
  answers again at once and the run finishes itself.

Each time: exit 1, ``--json`` still printed with every tenant's reason, one
plain line on stderr naming the registry (password masked) and what was left
unrecorded, no exception group or traceback from the run; then a rerun that
converges (every person once, nobody missing).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from farm.cli import main
from farm.demo.farmdir import DemoSite, plan_sites, write_farm
from farm.engine.unfinished import UnfinishedRun, write_note
from farm.registry import Registry, RunStatus, RunTrigger, TenantReport, TenantStatus
from farm.simulators.directory import GeneratedDirectory, generate
from farm.simulators.moodle import MoodleSimulator, Site
from farm.simulators.netypareo.server import BackgroundServer
from farm.simulators.slapd import Slapd
from tests.fixtures.slapd import SlapdFactory
from tests.registry_faults import AsgiAfterCreates, PostgresFaults, SqliteFaults

pytestmark = [pytest.mark.slapd, pytest.mark.slow]

FARM = Path(sys.executable).parent / "farm"
PASSWORD = "s3cret-Registry-pw"


@dataclass
class World:
    directory: GeneratedDirectory
    slapd: Slapd
    moodle: MoodleSimulator
    hook: AsgiAfterCreates
    url: str
    root: Path


@pytest.fixture(scope="module")
def world(slapd_factory: SlapdFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = generate(3, 60, seed=23, suffix="dc=ent-faults,dc=fr")
    ldif = directory.write_ldif(tmp_path_factory.mktemp("faults-ldif") / "directory.ldif")
    slapd = slapd_factory(suffix=directory.suffix, ldif_files=[ldif], name="faults")
    moodle = MoodleSimulator()
    hook = AsgiAfterCreates(moodle)
    with BackgroundServer(hook) as server:
        moodle.rebase(server.url)
        yield World(directory, slapd, moodle, hook, server.url, tmp_path_factory.mktemp("farms"))


@dataclass
class Farm:
    folder: Path
    sites: dict[str, Site]
    expected: dict[str, set[str]]  # site -> usernames

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("FARM_REGISTRY_URL", "FARM_DIR")}
        return subprocess.run(
            [str(FARM), "--farm-dir", str(self.folder), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )

    def invoke(self, *args: str) -> Any:
        """``farm ARGS`` in this process (click's runner), stdout and stderr apart."""
        return CliRunner().invoke(main, ["--farm-dir", str(self.folder), *args])

    def assert_converged(self) -> None:
        for name, site in self.sites.items():
            users = [u.username for u in site.live_users() if u.username != "admin"]
            assert len(users) == len(set(users)), f"duplicate accounts on {name}"
            assert set(users) == self.expected[name]


def make_farm(world: World, name: str, registry_url: str) -> Farm:
    planned = [
        DemoSite(f"{name}-{s.name}", secrets.token_hex(16), s.establishments)
        for s in plan_sites(world.directory)
    ]
    sites: dict[str, Site] = {}
    for site in planned:
        sites[site.name] = world.moodle.add_site(site.name, token=site.token)
        sites[site.name].auth_installed.add("cas")
    world.moodle.rebase(world.url)
    folder = world.root / name
    write_farm(
        folder,
        planned,
        ldap_url=world.slapd.url,
        suffix=world.directory.suffix,
        bind_dn=world.slapd.admin_dn,
        bind_password=world.slapd.admin_password,
        moodle_url=world.url,
        registry_url=registry_url,
    )
    expected = {
        site.name: {
            uid.lower() for e in site.establishments for uid in world.directory.people_of(e.uai)
        }
        for site in planned
    }
    made = Farm(folder, sites, expected)
    upgraded = made.run("registry", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return made


def plain_lines(stderr: str) -> list[str]:
    """The lines of stderr that are not JSON log records."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


def assert_no_traceback(stderr: str) -> None:
    """No exception group, and no traceback but in the event bus's own log records.

    ``farm.bus`` logs an event batch the registry refused with its traceback
    (``farm/engine/bus.py``, not part of this change); every other record and
    line must be free of one.
    """
    assert "ExceptionGroup" not in stderr
    for line in stderr.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") != "farm.bus":
                assert "exception" not in record, record
        else:
            assert "Traceback" not in line, stderr


def assert_one_registry_line(stderr: str, run: int, registry: str) -> str:
    lines = plain_lines(stderr)
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(f"farm sync: the registry failed during run {run}: "), line
    assert registry in line
    assert "Left unrecorded: the last batch Moodle confirmed on site " in line, line
    assert "which the next run adopts" in line
    return line


def assert_failed_json(stdout: str, registry: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(stdout)
    assert result["status"] in ("failed", "partial")
    assert result["registry"]["error"].count(registry) == 1
    failed = [t for t in result["tenants"].values() if t["phase"] == "failed"]
    assert failed
    assert all(t["reason"].startswith("registry: ") for t in failed), failed
    return result


def test_a_sqlite_registry_made_read_only_mid_run(world: World) -> None:
    farm = make_farm(world, "readonly", "var/registry.sqlite")
    path = farm.folder / "var" / "registry.sqlite"
    registry = f"sqlite:///{path}"
    faults = SqliteFaults(path)
    world.hook.arm(faults.read_only, n=3)
    try:
        first = farm.invoke("sync", "--all", "--json", "--registry-retry", "0.5")
    finally:
        faults.clear()
        faults.close()

    assert world.hook.fired.is_set()
    assert first.exit_code == 1, first.stderr
    result = assert_failed_json(first.stdout, registry)
    assert result["status"] == "failed"
    assert "cannot be written: attempt to write a readonly database" in result["registry"]["error"]
    line = assert_one_registry_line(first.stderr, result["run"], registry)
    assert f"the end of run {result['run']}, which the next run marks failed" in line
    assert_no_traceback(first.stderr)

    # The same process, alive: the first run's leases must not be in the way.
    started = time.monotonic()
    again = farm.invoke("sync", "--all", "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert time.monotonic() - started < 30
    rerun = json.loads(again.stdout)
    assert rerun["notes"] == [
        f"run {result['run']} was left running by a registry failure: marked failed"
    ]
    with Registry.open(registry) as opened:
        assert opened.get_run(result["run"]).status is RunStatus.FAILED
        assert opened.leases() == []
    farm.assert_converged()


@pytest.mark.postgres
def test_a_postgresql_registry_gone_mid_run(world: World, postgres_url: str) -> None:
    # A password the server does not ask for (trust), given as operators do: not in farm.toml.
    url = make_url(postgres_url).set(password=PASSWORD).render_as_string(hide_password=False)
    masked = make_url(url).render_as_string(hide_password=True)
    farm = make_farm(world, "pg-gone", postgres_url)
    faults = PostgresFaults(postgres_url)
    world.hook.arm(faults.refuse_connections, n=3)
    try:
        first = farm.run("sync", "--all", "--json", "--registry-retry", "1", "--registry", url)
    finally:
        faults.close()

    assert world.hook.fired.is_set(), first.stdout + first.stderr
    assert first.returncode == 1, first.stderr
    assert PASSWORD not in first.stdout + first.stderr
    result = assert_failed_json(first.stdout, masked)
    line = assert_one_registry_line(first.stderr, result["run"], masked)
    assert f"the end of run {result['run']}, which the next run marks failed" in line
    assert_no_traceback(first.stderr)

    # The first process is gone: its leases are taken over at once, its run settled.
    started = time.monotonic()
    again = farm.run("sync", "--all", "--json", "--registry", url)
    assert again.returncode == 0, again.stderr
    assert time.monotonic() - started < 30  # not the 90 s of the leases' TTL
    rerun = json.loads(again.stdout)
    assert rerun["notes"] == [
        f"run {result['run']} was left running by a registry failure: marked failed"
    ]
    assert "lease reclaimed from a dead holder" in again.stderr
    with Registry.open(url) as opened:
        settled = opened.get_run(result["run"])
        assert settled.status is RunStatus.FAILED
        assert (settled.reason or "").startswith("left running by a registry failure: ")
        assert opened.leases() == []
    farm.assert_converged()


@pytest.mark.postgres
def test_a_postgresql_session_killed_while_recording(world: World, postgres_url: str) -> None:
    farm = make_farm(world, "pg-killed", postgres_url)
    faults = PostgresFaults(postgres_url)
    world.hook.arm(faults.kill_next_index_write, n=3)
    try:
        first = farm.run("sync", "--all", "--json", "--registry-retry", "5")
    finally:
        faults.close()

    assert faults.killed, "no session was writing to the index"
    assert first.returncode == 1, first.stderr
    masked = make_url(postgres_url).render_as_string(hide_password=True)
    result = assert_failed_json(first.stdout, masked)
    assert "terminating connection due to administrator command" in result["registry"]["error"]
    assert_one_registry_line(first.stderr, result["run"], masked)
    assert_no_traceback(first.stderr)
    with Registry.open(postgres_url) as opened:
        # The registry answered again at once: the run finished itself, leases given back.
        assert opened.get_run(result["run"]).status.value == result["status"]
        assert opened.leases() == []

    again = farm.run("sync", "--all", "--json")
    assert again.returncode == 0, again.stderr
    assert "notes" not in json.loads(again.stdout)
    farm.assert_converged()


def test_a_registry_failing_before_the_run_begins_says_so_in_one_line(world: World) -> None:
    farm = make_farm(world, "before", "var/registry.sqlite")
    path = farm.folder / "var" / "registry.sqlite"
    registry = f"sqlite:///{path}"
    assert farm.invoke("sync", "--all", "--json").exit_code == 0
    # A run an earlier process could not finish, with a report too big for a full disk.
    with Registry.open(registry) as opened:
        left = opened.start_run(trigger=RunTrigger.BATCH, pid=1)
    big = TenantReport(
        tenant=next(iter(farm.expected)),
        site=next(iter(farm.sites)),
        status=TenantStatus.FAILED,
        operations=tuple(f"create sdet:{i:06d} " + "x" * 200 for i in range(2000)),
    )
    note = UnfinishedRun(registry, left, RunStatus.FAILED, "the registry failed", (big,))
    assert write_note(farm.folder, note) is not None
    faults = SqliteFaults(path)
    faults.full()
    try:
        refused = farm.invoke("sync", "--all", "--json")
    finally:
        faults.clear()
        faults.close()

    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert plain_lines(refused.stderr) == [
        f"the registry at {registry} cannot be written: database or disk is full; "
        "nothing was synced"
    ]
    assert_no_traceback(refused.stderr)

    again = farm.invoke("sync", "--all", "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["notes"] == [
        f"run {left} was left running by a registry failure: marked failed"
    ]
