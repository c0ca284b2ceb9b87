"""``farm sync`` end to end: a real farm folder, slapd, NetYpareo and Moodle simulators.

The test module shares one :class:`World`: a private slapd loaded with a
small generated directory, the NetYpareo SOAP simulator and the Moodle
simulator, both served by uvicorn on loopback in this process (so a test
reads what ``farm`` wrote). ``farm`` runs in this process too
(:mod:`tests.farm_command`), but where a test needs a process of its own:
Ctrl-C and a run left in the background (:meth:`Farm.start`). :meth:`World.farm` writes a farm
folder (``file:`` secrets, a SQLite registry inside it) on fresh sites of the
shared simulator: a test that needs an untouched farm gets one for the price
of a few files. ``tests/acceptance/test_watch.py`` and ``test_schedule_run.py``
import the world from here.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ldap3
import pytest

from farm.demo.farmdir import CFA_PROFILE_FIELDS, DemoCfa, DemoSite, plan_sites, write_farm
from farm.registry import Registry
from farm.simulators.directory import GeneratedDirectory, generate
from farm.simulators.moodle import CostModel, MoodleSimulator, Site
from farm.simulators.netypareo.server import BackgroundServer
from farm.simulators.slapd import Slapd
from tests.farm_command import run_farm
from tests.fixtures.netypareo import ServedNetYpareo
from tests.fixtures.slapd import SlapdFactory

pytestmark = [pytest.mark.slapd, pytest.mark.slow]

FARM = Path(sys.executable).parent / "farm"

#: Write functions a second run must not call (anything that is not a read).
READS = ("_get_", "search", "get_site_info")


#: What a ``farm`` run changes in this process's environment: the farm folder says
#: where the registry is, and lines are wide enough never to wrap.
FARM_ENV: Mapping[str, str | None] = {"FARM_REGISTRY_URL": None, "FARM_DIR": None, "COLUMNS": "200"}


def farm_env() -> dict[str, str]:
    """The environment of a ``farm`` subprocess: :data:`FARM_ENV` over this process's."""
    env = {k: v for k, v in os.environ.items() if k not in FARM_ENV}
    env |= {k: v for k, v in FARM_ENV.items() if v is not None}
    return env


@dataclass
class Farm:
    """One farm folder, its sites on the shared Moodle simulator, and how to run ``farm`` on it."""

    folder: Path
    sites: dict[str, Site]
    establishments: dict[str, tuple[str, ...]]  # site -> UAIs
    cfa_site: str
    cfa_tenants: tuple[str, ...]

    @property
    def registry_url(self) -> str:
        return f"sqlite:///{self.folder / 'registry.sqlite'}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``farm ARGS`` on this farm, in this process (:mod:`tests.farm_command`)."""
        return run_farm(["--farm-dir", str(self.folder), *args], env=FARM_ENV)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``farm ARGS`` in the background, in its own process group."""
        return subprocess.Popen(
            [str(FARM), "--farm-dir", str(self.folder), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=farm_env(),
            start_new_session=True,
        )

    def writes(self) -> int:
        """Write calls this farm's Moodle sites have answered so far."""
        return sum(
            n
            for site in self.sites.values()
            for function, n in site.calls.items()
            if not any(mark in function for mark in READS)
        )

    def usernames(self, site: str) -> set[str]:
        return {u.username for u in self.sites[site].live_users() if u.username != "admin"}

    def token_file(self, site: str) -> Path:
        return self.folder / "secrets" / f"{site}.token"


@dataclass
class World:
    """The stand-ins one test module shares; see the module docstring."""

    directory: GeneratedDirectory
    slapd: Slapd
    moodle: MoodleSimulator
    moodle_url: str
    netypareo_wsdl: str
    netypareo_sites: tuple[tuple[str, str], ...]
    root: Path
    farms: list[Farm] = field(default_factory=list)

    def farm(self, name: str, *, cost: CostModel | None = None) -> Farm:
        """Write a farm folder named ``name``, on fresh simulated sites named after it."""
        planned = [
            DemoSite(f"{name}-{s.name}", secrets.token_hex(16), s.establishments)
            for s in plan_sites(self.directory)
        ]
        cfa = DemoSite(f"{name}-cfa", secrets.token_hex(16), ())
        sites: dict[str, Site] = {}
        fields: Mapping[str, tuple[str, ...]] = {cfa.name: CFA_PROFILE_FIELDS}
        for site in [*planned, cfa]:
            sites[site.name] = self.moodle.add_site(
                site.name,
                token=site.token,
                cost=cost or CostModel(),
                profile_fields=fields.get(site.name, ()),
            )
            # ENT sites installed the CAS plugin, which Moodle 5.0 no longer ships.
            sites[site.name].auth_installed.add("cas")
        self.moodle.rebase(self.moodle_url)
        folder = self.root / name
        write_farm(
            folder,
            planned,
            ldap_url=self.slapd.url,
            suffix=self.directory.suffix,
            bind_dn=self.slapd.admin_dn,
            bind_password=self.slapd.admin_password,
            moodle_url=self.moodle_url,
            registry_url=f"sqlite:///{folder / 'registry.sqlite'}",
            cfa=DemoCfa(
                site=cfa,
                wsdl=self.netypareo_wsdl,
                ws_token=secrets.token_hex(8),
                sites=self.netypareo_sites,
            ),
        )
        made = Farm(
            folder=folder,
            sites=sites,
            establishments={s.name: tuple(e.uai for e in s.establishments) for s in planned},
            cfa_site=cfa.name,
            cfa_tenants=tuple(f"{cfa.name}-{code}" for code, _ in self.netypareo_sites),
        )
        self.farms.append(made)
        return made


def interrupt(process: subprocess.Popen[str], *, timeout: float = 60) -> tuple[int, str, str]:
    """Send SIGINT to a running ``farm`` (as Ctrl-C does) and wait for it to end."""
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def world(
    slapd_factory: SlapdFactory,
    netypareo_server: ServedNetYpareo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """Three establishments (one cité scolaire), about 60 people, three CFA sites."""
    directory = generate(3, 60, seed=11, suffix="dc=ent-e2e,dc=fr")
    ldif = directory.write_ldif(tmp_path_factory.mktemp("e2e-ldif") / "directory.ldif")
    slapd = slapd_factory(suffix=directory.suffix, ldif_files=[ldif], name="e2e")
    netypareo_server.simulator.reset()
    netypareo_server.simulator.token = None
    moodle = MoodleSimulator()
    with BackgroundServer(moodle) as server:
        moodle.rebase(server.url)
        yield World(
            directory=directory,
            slapd=slapd,
            moodle=moodle,
            moodle_url=server.url,
            netypareo_wsdl=netypareo_server.wsdl_url,
            netypareo_sites=tuple((s.code, s.name) for s in netypareo_server.data.sites),
            root=tmp_path_factory.mktemp("farms"),
        )


def rename(world: World, dn: str, lastname: str) -> None:
    """Change a person's surname in the directory, as the ENT would."""
    server = ldap3.Server(world.slapd.url)
    with ldap3.Connection(server, world.slapd.admin_dn, world.slapd.admin_password) as ldap:
        changed = ldap.modify(dn, {"sn": [(ldap3.MODIFY_REPLACE, [lastname])]})  # type: ignore[no-untyped-call]
        assert changed, ldap.result


@dataclass
class Synced:
    farm: Farm
    first: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def synced(world: World) -> Synced:
    """A farm whose registry was created and loaded, then synced once with ``farm sync --all``."""
    made = world.farm("main")
    ok(made.run("registry", "upgrade"))
    loaded = ok(made.run("registry", "load"))
    assert "added" in loaded.stdout
    return Synced(made, made.run("sync", "--all", "--json", "--quiet"))


def test_a_first_sync_fills_every_site_with_its_people_and_cohorts(
    synced: Synced, world: World
) -> None:
    ok(synced.first)
    result = as_json(synced.first)
    assert result["status"] == "succeeded"
    assert result["simulated"] is False
    assert result["writes"] > 0
    farm = synced.farm
    for site, uais in farm.establishments.items():
        expected = {uid.lower() for uai in uais for uid in world.directory.people_of(uai)}
        # Everyone of the site's establishments has an account, and nobody else (invariant 2).
        assert farm.usernames(site) == expected
        cohorts = {c.idnumber for c in farm.sites[site].cohorts.values()}
        for uai in uais:
            classes = {c for p in world.directory.people_of(uai).values() for u, c in p.classes}
            assert classes
            assert {f"farm:{uai}:{c}" for c in classes} <= cohorts
    for tenant in farm.cfa_tenants:
        assert result["tenants"][tenant]["phase"] == "succeeded"
    assert len(farm.usernames(farm.cfa_site)) > 20
    assert farm.sites[farm.cfa_site].cohorts


def test_a_second_sync_writes_nothing(synced: Synced) -> None:
    farm = synced.farm
    before = farm.writes()
    done = ok(farm.run("sync", "--all", "--json"))
    result = as_json(done)
    assert result["status"] == "succeeded"
    assert result["writes"] == 0
    assert all(t["writes"] == 0 for t in result["tenants"].values())
    assert farm.writes() == before


def test_a_targeted_sync_updates_one_person(synced: Synced, world: World) -> None:
    farm = synced.farm
    site, uais = next(iter(farm.establishments.items()))
    person = next(p for p in world.directory.people_of(uais[0]).values() if "student" in p.kinds)
    rename(world, person.dn, "RENOMMÉ")
    before = farm.writes()

    # The Moodle login (the uid in lower case), as an operator reads it on the site.
    done = ok(farm.run("sync", "--tenant", uais[0], "--user", person.uid.lower(), "--json"))

    result = as_json(done)
    assert set(result["tenants"]) == {uais[0]}
    assert result["tenants"][uais[0]]["counts"] == {"person.update": 1}
    account = farm.sites[site].user_by_username(person.uid.lower())
    assert account is not None
    assert account.lastname == "RENOMMÉ"
    assert farm.writes() == before + 1
    with Registry.open(farm.registry_url) as registry:
        assert registry.get_run(result["run"]).trigger == "targeted"


def test_a_targeted_sync_finds_a_person_by_the_directory_uid(synced: Synced, world: World) -> None:
    farm = synced.farm
    # The last site: the bad-token test below works on the first one.
    uai = list(farm.establishments.values())[-1][0]
    person = next(p for p in world.directory.people_of(uai).values() if "teacher" in p.kinds)
    assert person.uid != person.uid.lower()
    rename(world, person.dn, "AUTREMENT")

    done = ok(farm.run("sync", "--tenant", uai, "--user", person.uid, "--json"))

    assert as_json(done)["tenants"][uai]["counts"] == {"person.update": 1}


def test_report_status_and_runs_show_what_happened(synced: Synced) -> None:
    farm = synced.farm
    first = as_json(synced.first)["run"]
    report = as_json(ok(farm.run("report", str(first), "--json")))
    tenants = {t["tenant"]: t for t in report["tenants"]}
    assert set(tenants) == set(as_json(synced.first)["tenants"])
    assert all(t["status"] == "succeeded" for t in tenants.values())
    some = next(iter(farm.establishments.values()))[0]
    assert tenants[some]["counts"]["person"]["create"] > 0

    states = as_json(ok(farm.run("status", "--json")))
    assert {s["level"] for s in states} == {"ok"}
    with Registry.open(farm.registry_url) as registry:
        latest = registry.list_runs(limit=1)[0]
    assert max(s["last_run"] for s in states) == latest.id


def test_a_site_with_a_bad_token_fails_alone(synced: Synced, world: World) -> None:
    farm = synced.farm
    broken = next(iter(farm.establishments))
    # A run with nothing to write never calls Moodle: give the broken site some work.
    uai = farm.establishments[broken][0]
    rename(world, next(iter(world.directory.people_of(uai).values())).dn, "DÉPLACÉ")
    token_file = farm.token_file(broken)
    good = token_file.read_text(encoding="utf-8")
    bad = secrets.token_hex(16)
    token_file.write_text(bad + "\n", encoding="utf-8")
    try:
        done = farm.run("sync", "--all", "--json")
    finally:
        token_file.write_text(good, encoding="utf-8")

    assert done.returncode == 1, done.stderr
    result = as_json(done)
    assert result["status"] == "partial"
    for tenant, outcome in result["tenants"].items():
        if tenant in farm.establishments[broken]:
            assert outcome["phase"] == "failed"
            assert "token" in outcome["reason"].lower()
        else:
            assert outcome["phase"] == "succeeded"
    assert bad not in done.stdout + done.stderr
    # With its token back, the site catches up.
    again = as_json(ok(farm.run("sync", "--site", broken, "--json")))
    assert again["tenants"][uai]["counts"] == {"person.update": 1}


def test_a_simulated_sync_writes_nothing_and_says_so(world: World) -> None:
    farm = world.farm("simulated")
    ok(farm.run("registry", "upgrade"))

    done = ok(farm.run("sync", "--all", "--simulate", "--json"))

    result = as_json(done)
    assert result["simulated"] is True
    assert result["writes"] == 0
    planned = result["tenants"][next(iter(farm.establishments.values()))[0]]["counts"]
    assert planned["person.create"] > 0
    assert farm.writes() == 0
    assert all(not farm.usernames(site) for site in farm.sites)
    report = as_json(ok(farm.run("report", str(result["run"]), "--json")))
    assert report["run"]["simulated"] is True


def test_ctrl_c_interrupts_the_run_releases_leases_and_a_rerun_converges(world: World) -> None:
    # A slow Moodle (one worker, 20 ms per record): the first sync takes many seconds.
    farm = world.farm("stopped", cost=CostModel(per_call=0.02, per_record=0.02, workers=1))
    ok(farm.run("registry", "upgrade"))
    running = farm.start("sync", "--all", "--json")
    try:
        deadline = time.monotonic() + 60
        while farm.writes() < 3:
            assert running.poll() is None, running.communicate()
            assert time.monotonic() < deadline, "no write reached Moodle within a minute"
            time.sleep(0.05)
        code, out, err = interrupt(running)
    finally:
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
    assert code == 130, err
    assert "SIGINT" in err
    result = json.loads(out)
    assert result["status"] == "interrupted"
    with Registry.open(farm.registry_url) as registry:
        assert [r.status for r in registry.list_runs()] == ["interrupted"]
        assert registry.leases() == []

    for simulated in farm.sites.values():
        simulated.cost = CostModel()
    rerun = as_json(ok(farm.run("sync", "--all", "--json")))
    assert rerun["status"] == "succeeded"
    for site, uais in farm.establishments.items():
        expected = {uid.lower() for uai in uais for uid in world.directory.people_of(uai)}
        accounts = [u.username for u in farm.sites[site].live_users() if u.username != "admin"]
        assert sorted(accounts) == sorted(expected)  # no duplicate, nobody missing


def test_a_rentree_that_would_delete_the_cohorts_stops_until_allowed(world: World) -> None:
    """The cohorts' year changes: under delete every cohort would go, so the run stops."""
    farm = world.farm("rentree")
    ok(farm.run("registry", "upgrade"))
    ok(farm.run("registry", "load"))
    site, uais = next(iter(farm.establishments.items()))
    ok(farm.run("sync", "--site", site, "--json", "--quiet"))
    cohorts = {c.id: set(c.members) for c in farm.sites[site].cohorts.values()}
    assert len(cohorts) > 5
    with (farm.folder / "farm.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[directories.ent-demo.mapping.cohorts]\nyear = "2026"\n')
    before = farm.writes()

    stopped = farm.run("sync", "--site", site, "--cohort-retirement", "delete", "--json")

    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    n = len(cohorts)
    for uai in uais:
        reason = as_json(stopped)["tenants"][uai]["reason"]
        assert f"would remove {n} of {n} cohorts (deleted or emptied) on {site}" in reason
        assert "--allow-mass-removal" in reason
    assert farm.writes() == before
    assert {c.id: set(c.members) for c in farm.sites[site].cohorts.values()} == cohorts

    allowed = ok(
        farm.run(
            "sync",
            "--site",
            site,
            "--cohort-retirement",
            "delete",
            "--allow-mass-removal",
            "--json",
        )
    )

    deleted = sum(t["counts"].get("cohort.delete", 0) for t in as_json(allowed)["tenants"].values())
    assert deleted == n
    now = farm.sites[site].cohorts.values()
    assert not set(cohorts) & {c.id for c in now}
    assert {c.idnumber.split(":")[1] for c in now} == {"2026"}
