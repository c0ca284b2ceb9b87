#!/usr/bin/env python3
"""A standing fault campaign: faults and bad data never merge, block or lose anyone.

Each case builds a farm folder of its own (a private slapd loaded with a small
generated SDET directory, or the NetYpareo simulator; fresh sites on the Moodle
simulator; a SQLite file or a fresh PostgreSQL database), runs ``farm sync`` as
a subprocess while it faults what the case is about (the simulator's control
endpoint, SIGKILL, SIGSTOP, a registry lock or cut, a broken directory), then a
final clean rerun, and checks after each run, against the simulator's state
and the registry's index:

  dup    0 duplicate accounts (by idnumber, and by source person)
  merge  0 merged people (two index keys on one Moodle id, an account whose
         idnumber and username name two people, an index entry on another
         person's account)
  lost   0 lost people: after the final clean rerun every person the source
         holds has an active account, or is named in the run's report with
         Moodle's or the planner's reason (refused alone, invariant 9)
  index  index = Moodle: every index entry's Moodle id exists with the values
         the index says (after every run); at the end every farm-made account
         and every cohort member is indexed
  susp   0 wrongful suspensions: nobody the source still holds is suspended
  case   what the case itself must show (a safety stop, a refusal by name, a
         rerun not blocked by a dead process's leases...)

It prints a table of cases x invariants per registry kind and exits 1 if any
cell fails. Everything listens on and talks to 127.0.0.1 only; every wait and
subprocess is bounded in time, every loop in count.

    tools/fault_campaign.py                          # every case, sqlite and postgresql, 5 seeds
    tools/fault_campaign.py --quick --registry sqlite --seeds 1
    tools/fault_campaign.py --cases kill-mid-apply,ldap-hung --registry postgresql
    tools/fault_campaign.py --list
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import ldap3
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from farm.config import Farm, load_farm
from farm.demo.farmdir import CFA_PROFILE_FIELDS, DemoCfa, DemoSite, plan_sites, write_farm
from farm.engine.wiring import build_source
from farm.logs import configure_logs
from farm.model import Person
from farm.registry import Registry
from farm.simulators.directory import GeneratedDirectory, generate
from farm.simulators.moodle import (
    FARM_FUNCTIONS,
    ConnectionDropped,
    MoodleSimulator,
    Site,
    UserRow,
)
from farm.simulators.netypareo import NetYpareoSimulator
from farm.simulators.netypareo import generate as generate_netypareo
from farm.simulators.netypareo.data import SimTrainer
from farm.simulators.netypareo.server import BackgroundServer
from farm.simulators.slapd import Slapd, _binary
from farm.sources import ReadRequest

ROOT = Path(__file__).resolve().parents[1]
FARM_BIN = Path(sys.executable).parent / "farm"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
INVARIANTS = ("dup", "merge", "lost", "index", "susp", "case")
#: Bounds: one ``farm`` run, one case, and every polling wait.
RUN_TIMEOUT = 150.0
CASE_TIMEOUT = 420.0
POLL = 0.02
#: Calls that only read (everything else writes).
READ_FUNCTIONS = frozenset(
    f for f in FARM_FUNCTIONS if "_get_" in f or "search" in f or f.endswith("get_site_info")
)
WRITE_FUNCTIONS = tuple(f for f in FARM_FUNCTIONS if f not in READ_FUNCTIONS)
#: Client timeout of the campaign's farms, and how long a simulated hang lasts.
CLIENT_TIMEOUT = 2.0
HANG_SECONDS = 3.0


class CampaignError(Exception):
    """The campaign itself could not do what a case needs (not a product failure)."""


class Deadline:
    """A time budget; ``left()`` bounds every wait inside it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self, cap: float | None = None) -> float:
        remaining = max(0.0, self.end - time.monotonic())
        return remaining if cap is None else min(cap, remaining)


def wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``predicate`` until true, at most ``seconds`` (and a bounded number of polls)."""
    end = time.monotonic() + seconds
    for _ in range(int(seconds / POLL) + 2):
        if predicate():
            return
        if time.monotonic() > end:
            break
        time.sleep(POLL)
    raise CampaignError(f"timed out after {seconds:.0f} s waiting for {what}")


# Servers: slapd that can be stopped, hung and restarted on its port.


class CampaignSlapd(Slapd):
    """A private slapd the campaign may stop, restart on the same port, pause and resume."""

    def restart(self) -> None:
        """Start again on the same port, over the same database (no reload)."""
        if self.running:
            return
        process = subprocess.Popen(
            [_binary("slapd"), "-d", "0", "-f", str(self.config_path), "-h", f"{self.url}/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not self._wait_ready(process):
            process.kill()
            process.wait(timeout=10)
            raise CampaignError(f"slapd did not restart on port {self.port}")
        self._process = process

    def signal(self, signum: int) -> None:
        if self._process is None:
            raise CampaignError("slapd is not running")
        self._process.send_signal(signum)


# Registries: a SQLite file, or a fresh PostgreSQL database; held and cut.


def check_loopback_url(url: str) -> None:
    host = make_url(url).host
    if host not in (None, "", *LOOPBACK):
        raise CampaignError(f"the campaign only talks to 127.0.0.1; {host!r} is not loopback")


@dataclass
class RegistryPlace:
    kind: str
    url: str
    admin_url: str | None = None
    database: str | None = None

    @classmethod
    def make(cls, kind: str, folder: Path, server_url: str) -> RegistryPlace:
        if kind == "sqlite":
            return cls(kind, f"sqlite:///{folder / 'registry.sqlite'}")
        name = f"farm_campaign_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        return cls(kind, url, server_url, name)

    def open(self) -> Registry:
        return Registry.open(self.url, check=False)

    def create(self) -> None:
        registry = Registry.open(self.url, check=False, create=True)
        try:
            registry.upgrade()
        finally:
            registry.close()

    def drop(self) -> None:
        if self.admin_url is None:
            return
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        finally:
            admin.dispose()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the registry's index against writers (a slow or stuck registry)."""
        if self.kind == "sqlite":
            path = make_url(self.url).database or ""
            lite = sqlite3.connect(path, timeout=10, isolation_level=None)
            try:
                lite.execute("BEGIN EXCLUSIVE")
                yield
            finally:
                lite.execute("ROLLBACK")
                lite.close()
            return
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                transaction = connection.begin()
                connection.execute(text("LOCK TABLE index_entry IN ACCESS EXCLUSIVE MODE"))
                try:
                    yield
                finally:
                    transaction.rollback()
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def cut(self) -> Iterator[None]:
        """The registry goes away: PostgreSQL closes every connection and takes no new one;
        SQLite stays locked past the farm's busy timeout."""
        if self.kind == "sqlite":
            with self.locked():
                yield
            return
        assert self.admin_url is not None
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(
                    text(f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS false')
                )
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": self.database},
                )
                try:
                    yield
                finally:
                    connection.execute(
                        text(f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS true')
                    )
        finally:
            admin.dispose()


# One run of ``farm``.


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float

    @property
    def json(self) -> dict[str, Any] | None:
        try:
            found = json.loads(self.out)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    @property
    def status(self) -> str:
        found = self.json
        return str(found.get("status")) if found else f"exit {self.code}, no JSON"

    def phases(self) -> dict[str, tuple[str, str]]:
        found = self.json or {}
        return {
            tenant: (str(t.get("phase")), str(t.get("reason") or ""))
            for tenant, t in found.get("tenants", {}).items()
        }

    def brief(self) -> str:
        last = (self.err.strip().splitlines() or [""])[-1][:120]
        return f"{self.status} in {self.seconds:.1f} s" + (f" ({last})" if self.code else "")


def farm_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FARM_REGISTRY_URL", "FARM_DIR")}
    env["COLUMNS"] = "200"
    env["NO_COLOR"] = "1"
    return env


# What the source holds, and the checks.


@dataclass
class Truth:
    """Per site, the people the source holds (by source key) and those it holds back."""

    people: dict[str, dict[str, Person]]
    held: dict[str, set[str]]

    def copy(self) -> Truth:
        return Truth(
            {s: dict(p) for s, p in self.people.items()},
            {s: set(h) for s, h in self.held.items()},
        )


@dataclass
class Cells:
    """Failures per invariant (and notes that do not fail a cell)."""

    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def fail(self, invariant: str, reason: str) -> None:
        if reason not in self.failures[invariant]:
            self.failures[invariant].append(reason)

    def note(self, invariant: str, text: str) -> None:
        if text not in self.notes[invariant]:
            self.notes[invariant].append(text)


def live(site: Site) -> list[UserRow]:
    return [u for u in list(site.users.values()) if not u.deleted and u.id > 2]


def _claims(user: UserRow, people: Mapping[str, Person]) -> set[str]:
    """The source people an account looks like: by idnumber, and by a username only one has."""
    claims = {k for k, p in people.items() if user.idnumber and p.idnumber == user.idnumber}
    by_name = [k for k, p in people.items() if p.username.lower() == user.username.lower()]
    if len(by_name) == 1:
        claims.add(by_name[0])
    return claims


def check_site(
    cells: Cells,
    label: str,
    name: str,
    site: Site,
    registry: Registry,
    truth: Truth,
    *,
    final: bool,
    refused: set[str],
    foreign: frozenset[int] = frozenset(),
) -> None:
    """Check one site after one run; ``final`` adds the checks only a clean rerun must pass."""
    people = truth.people.get(name, {})
    accounts = live(site)
    at = f"{label}, {name}"
    # dup: by idnumber, and by source person.
    by_idnumber: dict[str, list[int]] = defaultdict(list)
    by_person: dict[str, list[int]] = defaultdict(list)
    for user in accounts:
        if user.idnumber:
            by_idnumber[user.idnumber].append(user.id)
        for key in _claims(user, people):
            by_person[key].append(user.id)
    for idnumber, ids in by_idnumber.items():
        if len(ids) > 1:
            cells.fail("dup", f"{at}: idnumber {idnumber} on accounts {sorted(ids)}")
    for key, ids in by_person.items():
        if len(ids) > 1:
            cells.fail("dup", f"{at}: {key} has accounts {sorted(ids)}")
    # merge.
    index = registry.index_entries(name, "person")
    by_id: dict[int | None, list[str]] = defaultdict(list)
    for entry in index:
        by_id[entry.moodle_id].append(entry.key)
    for moodle_id, keys in by_id.items():
        if moodle_id is not None and len(keys) > 1:
            cells.fail("merge", f"{at}: index keys {sorted(keys)} all on Moodle id {moodle_id}")
    for user in accounts:
        claims = _claims(user, people)
        if len(claims) > 1:
            cells.fail("merge", f"{at}: account {user.id} ({user.username}) is {sorted(claims)}")
    # index -> Moodle, after every run.
    for entry in index:
        account = site.users.get(entry.moodle_id or -1)
        if account is None or account.deleted:
            cells.fail("index", f"{at}: {entry.key} -> Moodle id {entry.moodle_id}, no account")
            continue
        other = _claims(account, people) - {entry.key}
        if other:
            cells.fail(
                "merge", f"{at}: {entry.key} indexed on account {account.id} of {sorted(other)}"
            )
        for fieldname in ("username", "idnumber", "firstname", "lastname", "email", "auth"):
            if fieldname in entry.values:
                said, has = str(entry.values[fieldname]), str(getattr(account, fieldname))
                if fieldname in ("username", "email"):
                    said, has = said.lower(), has.lower()
                if said != has:
                    cells.fail(
                        "index",
                        f"{at}: {entry.key} {fieldname} index {said!r}, Moodle {has!r}",
                    )
        if entry.values.get("suspended") is True and not account.suspended:
            cells.fail("index", f"{at}: {entry.key} suspended in the index, active in Moodle")
    check_cohorts(cells, at, site, registry, final=final)
    # susp: nobody the source holds (or holds back) is suspended.
    held = truth.held.get(name, set())
    for user in accounts:
        if user.suspended:
            claims = _claims(user, people) | ({user.idnumber} & held)
            if claims:
                cells.fail("susp", f"{at}: {sorted(claims)[0]} suspended (account {user.id})")
    if not final:
        return
    indexed = {e.moodle_id for e in index}
    for user in accounts:
        if user.id not in indexed and user.id not in foreign:
            cells.fail("index", f"{at}: account {user.id} ({user.username}) is not indexed")
    # A hand-made account is nobody's account, whatever its username says.
    active = {
        k for u in accounts if not u.suspended and u.id not in foreign for k in _claims(u, people)
    }
    missing = sorted(set(people) - active - held)
    lost = [k for k in missing if k not in refused]
    if lost:
        cells.fail("lost", f"{at}: {len(lost)} without an account: {', '.join(lost[:4])}")
    if missing and not lost:
        cells.note("lost", f"{len(missing)} refused by name")


def check_cohorts(cells: Cells, at: str, site: Site, registry: Registry, *, final: bool) -> None:
    persons = {e.key: e.moodle_id for e in registry.index_entries(site.name, "person")}
    cohorts = {e.key: e.moodle_id for e in registry.index_entries(site.name, "cohort")}
    for key, moodle_id in cohorts.items():
        cohort = site.cohorts.get(moodle_id or -1)
        if cohort is None or cohort.idnumber != key:
            cells.fail("index", f"{at}: cohort {key} -> {moodle_id}, not that cohort in Moodle")
    members: dict[int, set[int]] = defaultdict(set)
    for entry in registry.index_entries(site.name, "cohort_member"):
        cohort_id = cohorts.get(str(entry.values.get("cohort")))
        person_id = persons.get(str(entry.values.get("person")))
        if cohort_id is None or person_id is None:
            cells.fail("index", f"{at}: member {entry.key} names an unindexed cohort or person")
            continue
        members[cohort_id].add(person_id)
        cohort = site.cohorts.get(cohort_id)
        if cohort is not None and person_id not in cohort.members:
            cells.fail("index", f"{at}: member {entry.key} indexed, not in Moodle's cohort")
    if final:
        for cohort_id in cohorts.values():
            cohort = site.cohorts.get(cohort_id or -1)
            extra = (cohort.members if cohort else set()) - members.get(cohort_id or -1, set())
            extra = {m for m in extra if m in site.users and not site.users[m].deleted}
            if extra:
                cells.fail(
                    "index",
                    f"{at}: cohort {cohort.idnumber if cohort else '?'} has "
                    f"unindexed members {sorted(extra)[:4]}",
                )


# A case's world.


@dataclass
class Env:
    """What every case of one registry kind shares: the served Moodle simulator."""

    kind: str
    root: Path
    postgres_url: str
    moodle: MoodleSimulator
    moodle_url: str
    verbose: bool = False


@dataclass
class World:
    """One case's farm: its folder, registry, sites, directory or NetYpareo, and runs."""

    env: Env
    name: str
    folder: Path
    registry: RegistryPlace
    sites: dict[str, Site]
    deadline: Deadline
    slapd: CampaignSlapd | None = None
    directory: GeneratedDirectory | None = None
    netypareo: NetYpareoSimulator | None = None
    netypareo_server: BackgroundServer | None = None
    cells: Cells = field(default_factory=Cells)
    runs: list[Run] = field(default_factory=list)
    truth: Truth | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    #: Accounts made on the site by hand, not by the farm (never to be indexed).
    foreign: set[int] = field(default_factory=set)

    # farm runs

    def command(self, *args: str) -> list[str]:
        return [str(FARM_BIN), "--farm-dir", str(self.folder), *args]

    def sync(self, *extra: str, timeout: float = RUN_TIMEOUT) -> Run:
        return self.farm("sync", "--all", "--json", "--quiet", *extra, timeout=timeout)

    def farm(self, *args: str, timeout: float = RUN_TIMEOUT) -> Run:
        process = self.start(*args)
        return self.finish(process, args, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=farm_env(),
            cwd=self.folder,
            start_new_session=True,
        )
        process.started = time.monotonic()  # type: ignore[attr-defined]
        self.closers.append(lambda: _kill(process))
        return process

    def finish(
        self, process: subprocess.Popen[str], args: tuple[str, ...], *, timeout: float = RUN_TIMEOUT
    ) -> Run:
        try:
            out, err = process.communicate(timeout=self.deadline.left(timeout))
        except subprocess.TimeoutExpired:
            _kill(process)
            out, err = process.communicate(timeout=10)
            err += f"\n[campaign] killed after {timeout:.0f} s"
        started = getattr(process, "started", time.monotonic())
        run = Run(args, process.returncode, out, err, time.monotonic() - started)
        self.runs.append(run)
        if self.env.verbose:
            print(f"    farm {' '.join(args)}: {run.brief()}", file=sys.stderr)
        return run

    # the Moodle simulator's control endpoint

    def control(self, site: str, action: str, payload: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.env.moodle_url}/_control/{site}/{action}"
        with httpx.Client(timeout=10, trust_env=False) as http:
            answer = (
                http.get(url)
                if action == "state" and payload is None
                else http.post(url, json=payload or {})
            )
        if answer.status_code != 200:
            raise CampaignError(f"control {action} on {site}: {answer.status_code} {answer.text}")
        return answer.json()

    def fault_all(self, payload: Mapping[str, Any]) -> None:
        for site in self.sites:
            self.control(site, "faults", payload)

    def clear_faults(self) -> None:
        for site in self.sites:
            self.control(site, "faults", {"clear": True})
            self.control(site, "release")

    # the directory

    def ldap(self) -> ldap3.Connection:
        assert self.slapd is not None
        server = ldap3.Server(self.slapd.url, connect_timeout=5)
        connection = ldap3.Connection(
            server, self.slapd.admin_dn, self.slapd.admin_password, receive_timeout=10
        )
        if not connection.bind():
            raise CampaignError(f"cannot bind to slapd: {connection.result}")
        return connection

    def students(self, uai: str | None = None) -> list[tuple[str, dict[str, list[str]]]]:
        """Valid student entries of the directory (of one establishment if given)."""
        assert self.directory is not None
        valid = {p.dn for p in self.directory.people if p.valid and "student" in p.kinds}
        if uai is not None:
            valid = {p.dn for p in self.directory.people if p.dn in valid and uai in p.uais}
        return [(dn, attrs) for dn, attrs in self.directory.entries if dn in valid]

    def add_person(self, rdn: str, uid: str, serial: int, name: str) -> str:
        """A new student cloned from the first school's first student: ``uid``, own names."""
        assert self.directory is not None
        _, template = self.students(self.directory.establishments[0].uai)[0]
        attrs = copy.deepcopy(template)
        attrs.update(
            uid=[uid],
            cn=[f"{name} Campagne"],
            sn=[name],
            givenName=["Campagne"],
            displayName=[f"Campagne {name}"],
            ENTPersonLogin=[f"campagne.{serial}"],
            ENTPersonJointure=[f"AC-CAMPAGNE${900000 + serial}"],
            mail=[f"campagne{serial}@example.org"],
        )
        dn = f"{rdn},ou=people,{self.directory.suffix}"
        with self.ldap() as connection:
            if not connection.add(dn, attributes=attrs):  # type: ignore[no-untyped-call]
                raise CampaignError(f"cannot add {dn}: {connection.result}")
        return dn

    def delete_entries(self, entries: list[tuple[str, dict[str, list[str]]]]) -> None:
        with self.ldap() as connection:
            for dn, _ in entries:
                if not connection.delete(dn):  # type: ignore[no-untyped-call]
                    raise CampaignError(f"cannot delete {dn}: {connection.result}")

    def restore_entries(self, entries: list[tuple[str, dict[str, list[str]]]]) -> None:
        with self.ldap() as connection:
            for dn, attrs in entries:
                if not connection.add(dn, attributes=attrs):  # type: ignore[no-untyped-call]
                    raise CampaignError(f"cannot restore {dn}: {connection.result}")

    def rename(self, dn: str, lastname: str) -> None:
        with self.ldap() as connection:
            change = {"sn": [(ldap3.MODIFY_REPLACE, [lastname])]}
            if not connection.modify(dn, change):  # type: ignore[no-untyped-call]
                raise CampaignError(f"cannot rename {dn}: {connection.result}")

    def edit_farm_toml(self, old: str, new: str) -> None:
        path = self.folder / "farm.toml"
        content = path.read_text(encoding="utf-8")
        if old not in content:
            raise CampaignError(f"farm.toml has no {old!r}")
        path.write_text(content.replace(old, new, 1), encoding="utf-8")

    # truth and checks

    def load(self) -> Farm:
        return load_farm(self.folder)

    def read_truth(self) -> Truth:
        """What the source holds now, read with the farm's own source adapters."""
        farm = self.load()

        async def read() -> Truth:
            people: dict[str, dict[str, Person]] = {}
            held: dict[str, set[str]] = {}
            for site in farm.sites.values():
                by_source: dict[str, list[str]] = defaultdict(list)
                for tenant in site.tenants:
                    by_source[tenant.source].append(tenant.id)
                people[site.name], held[site.name] = {}, set()
                for source_name, tenants in by_source.items():
                    source = build_source(farm, source_name)
                    try:
                        with anyio.fail_after(self.deadline.left(60)):
                            result = await source.read(ReadRequest(tuple(tenants)))
                    finally:
                        await source.aclose()
                    for snapshot in result.snapshots.values():
                        for person in snapshot.people:
                            people[site.name][person.source_key] = person
                        held[site.name] |= set(snapshot.held)
            return Truth(people, held)

        return anyio.run(read)

    def refused(self, run: Run) -> set[str]:
        """Keys the run's report names with a reason (refused alone)."""
        return set(self.reasons(run))

    def reasons(self, run: Run) -> dict[str, str]:
        """Key -> reason of every record the run's report names."""
        run_id = (run.json or {}).get("run")
        if run_id is None:
            return {}
        registry = self.registry.open()
        try:
            report = registry.get_report(run_id)
            return {e.key: e.reason for t in report.tenants for e in t.errors}
        finally:
            registry.close()

    def check(self, label: str, *, final: bool = False, run: Run | None = None) -> None:
        """Check every invariant on every site after one run."""
        assert self.truth is not None
        refused = self.refused(run) if run is not None else set()
        registry = self.registry.open()
        try:
            for name, site in self.sites.items():
                check_site(
                    self.cells,
                    label,
                    name,
                    site,
                    registry,
                    self.truth,
                    final=final,
                    refused=refused,
                    foreign=frozenset(self.foreign),
                )
        finally:
            registry.close()
        if final:
            people = sum(len(p) for p in self.truth.people.values())
            accounts = sum(len(live(s)) for s in self.sites.values())
            self.cells.note("dup", f"{accounts} accounts")
            self.cells.note("susp", f"{people} people")

    def final(self, label: str = "final rerun") -> Run:
        """Faults off, the directory whole: one clean rerun, then every check."""
        self.clear_faults()
        run = self.sync()
        if run.status not in ("succeeded", "partial"):
            self.cells.fail("case", f"{label}: {run.brief()}")
        self.check(label, final=True, run=run)
        return run

    def expect(self, ok: bool, reason: str) -> None:
        if not ok:
            self.cells.fail("case", reason)

    def close(self) -> None:
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                closer()


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def tune_farm(folder: Path) -> None:
    """Small batches, short timeouts: faults meet many calls and hangs end quickly."""
    path = folder / "farm.toml"
    content = path.read_text(encoding="utf-8")
    content = content.replace(
        "records_per_batch = 50\ntimeout = 60.0\n",
        f"records_per_batch = 8\ntimeout = {CLIENT_TIMEOUT}\nretries = 4\n",
    )
    # The farm's own default (README): a run stops before removing more than 10% of a site.
    content = content.replace("mass_removal_threshold = 0.5\n", "mass_removal_threshold = 0.1\n")
    content = content.replace("connections = 2\n", "connections = 2\ntimeout = 3.0\n")
    content = content.replace("timeout = 60.0\nusertype_prefix", "timeout = 10.0\nusertype_prefix")
    path.write_text(content, encoding="utf-8")


def _moodle_site(env: Env, name: str, token: str, *, auth: str, fields: tuple[str, ...]) -> Site:
    site = env.moodle.add_site(name, token=token, profile_fields=fields)
    site.auth_installed.add(auth)
    site.faults.hang_seconds = HANG_SECONDS
    return site


def sdet_world(env: Env, case: str, deadline: Deadline) -> World:
    """Three establishments (a cité scolaire and a collège), about 60 people, two sites."""
    folder = env.root / case
    folder.mkdir(parents=True)
    directory = generate(3, 60, seed=11, suffix="dc=ent-campaign,dc=fr")
    ldif = directory.write_ldif(folder / "directory.ldif")
    slapd = CampaignSlapd(folder / "slapd", suffix=directory.suffix, ldif_files=[ldif])
    slapd.start()
    registry = RegistryPlace.make(env.kind, folder, env.postgres_url)
    tag = f"{env.kind[:2]}-{case}"
    planned = [
        DemoSite(f"{tag}-{s.name}"[:60], secrets.token_hex(16), s.establishments)
        for s in plan_sites(directory)
    ]
    sites = {s.name: _moodle_site(env, s.name, s.token, auth="cas", fields=()) for s in planned}
    write_farm(
        folder / "farm",
        planned,
        ldap_url=slapd.url,
        suffix=directory.suffix,
        bind_dn=slapd.admin_dn,
        bind_password=slapd.admin_password,
        moodle_url=env.moodle_url,
        registry_url=registry.url,
    )
    tune_farm(folder / "farm")
    world = World(env, case, folder / "farm", registry, sites, deadline, slapd, directory)
    world.closers += [registry.drop, slapd.stop]
    with world.ldap() as connection:
        connection.add(  # type: ignore[no-untyped-call]
            f"ou=empty,{directory.suffix}", attributes={"objectClass": ["organizationalUnit"]}
        )
    registry.create()
    return world


def netypareo_world(env: Env, case: str, deadline: Deadline) -> World:
    """One CFA site fed by three NetYpareo sites (about 80 people)."""
    folder = env.root / case
    folder.mkdir(parents=True)
    data = generate_netypareo(
        7,
        sites=3,
        groups_per_site=2,
        pdgroups_per_site=1,
        learners_per_group=6,
        trainers_per_site=3,
    )
    simulator = NetYpareoSimulator(data)
    server = BackgroundServer(simulator.app)
    server.start()
    registry = RegistryPlace.make(env.kind, folder, env.postgres_url)
    name = f"{env.kind[:2]}-{case}-cfa"[:60]
    cfa = DemoSite(name, secrets.token_hex(16), ())
    sites = {name: _moodle_site(env, name, cfa.token, auth="manual", fields=CFA_PROFILE_FIELDS)}
    write_farm(
        folder / "farm",
        [],
        ldap_url="ldap://127.0.0.1:9",
        suffix="dc=unused,dc=fr",
        bind_dn=None,
        bind_password=None,
        moodle_url=env.moodle_url,
        registry_url=registry.url,
        cfa=DemoCfa(
            site=cfa,
            wsdl=f"{server.url}/ws?wsdl",
            ws_token=secrets.token_hex(8),
            sites=tuple((s.code, s.name) for s in data.sites),
        ),
    )
    tune_farm(folder / "farm")
    world = World(env, case, folder / "farm", registry, sites, deadline)
    world.netypareo, world.netypareo_server = simulator, server
    world.closers += [registry.drop, server.stop]
    registry.create()
    return world


# The cases.


def first_fill(world: World, label: str = "first sync") -> Run:
    run = world.sync()
    world.expect(run.status == "succeeded", f"{label}: {run.brief()}")
    world.check(label, run=run)
    return run


def case_baseline(world: World, seed: int) -> None:
    first_fill(world)
    writes = sum(s.calls.total() - _reads(s) for s in world.sites.values())
    rerun = world.final()
    after = sum(s.calls.total() - _reads(s) for s in world.sites.values())
    world.expect(after == writes, f"a rerun with no change wrote {after - writes} times")
    world.expect((rerun.json or {}).get("writes") == 0, f"rerun: {rerun.brief()}")


def _reads(site: Site) -> int:
    return sum(n for f, n in site.calls.items() if f in READ_FUNCTIONS)


def case_mixed_faults(world: World, seed: int) -> None:
    """10% of calls fail: 502, 503, timeouts (the write is done) and drops, seeded."""
    rates = {"bad_gateway": 0.025, "unavailable": 0.025, "timeout": 0.025, "drop": 0.025}
    # One retry only: some calls still fail after it, some of them applied (a timeout,
    # a drop), so the reruns must adopt what Moodle holds and the index lacks.
    world.edit_farm_toml("retries = 4\n", "retries = 1\n")
    for offset, site in enumerate(world.sites):
        world.control(
            site, "faults", {**rates, "hang_seconds": HANG_SECONDS, "seed": seed * 100 + offset}
        )
    first = world.sync()
    world.check("faulted sync 1", run=first)
    # Some change under faults: two renamed, one gone (rightly suspended), two new.
    students = world.students()
    world.rename(students[0][0], "RENOMMÉ")
    world.rename(students[5][0], "AUTRE")
    world.delete_entries([students[9]])
    world.add_person("uid=campagne1", "Campagne1", 1, "Un")
    world.add_person("uid=campagne2", "Campagne2", 2, "Deux")
    world.truth = world.read_truth()
    second = world.sync()
    world.check("faulted sync 2", run=second)
    calls = sum(s.calls.total() for s in world.sites.values())
    injected = sum((s.injected for s in world.sites.values()), Counter[str]())
    world.final()
    shown = " ".join(f"{k}:{n}" for k, n in sorted(injected.items()))
    world.cells.note("case", f"{calls} calls, {shown}")
    world.expect(injected.total() > 0, "no fault was injected")


def _kill_when(world: World, site: str, why: str, *more: str) -> subprocess.Popen[str]:
    """``farm sync`` in the background, to be killed once ``site`` (and ``more``) hold a call."""
    process = world.start("sync", "--all", "--json", "--quiet")
    held = [world.sites[name] for name in (site, *more)]
    wait_for(
        lambda: all(s.holding > 0 for s in held) or process.poll() is not None,
        world.deadline.left(60),
        f"a held call on {site} ({why})",
    )
    if process.poll() is not None:
        raise CampaignError(f"farm sync ended before the {why} point: {process.returncode}")
    return process


def unrecorded(world: World) -> int:
    """Accounts Moodle holds that the index does not name (what a rerun must adopt)."""
    registry = world.registry.open()
    try:
        return sum(
            len({u.id for u in live(site)} - {e.moodle_id for e in registry.index_entries(name)})
            for name, site in world.sites.items()
        )
    finally:
        registry.close()


def _rerun_after_kill(world: World) -> None:
    left = unrecorded(world)
    started = time.monotonic()
    run = world.sync()
    held = [t for t, (phase, reason) in run.phases().items() if "held by" in reason]
    world.expect(not held, f"rerun refused by a dead process's leases: {held[:2]}")
    world.expect(run.status in ("succeeded", "partial"), f"rerun after kill: {run.brief()}")
    world.cells.note("case", f"{left} unrecorded, rerun {time.monotonic() - started:.1f} s")
    world.check("rerun after kill", final=True, run=run)


def case_kill_before_apply(world: World, seed: int) -> None:
    """Every site's first write call is held unprocessed: SIGKILL before anything is applied."""
    world.fault_all({"targeted": [{"function": f, "action": "stall"} for f in WRITE_FUNCTIONS]})
    first, *others = world.sites
    process = _kill_when(world, first, "before apply", *others)
    process.kill()
    world.finish(process, ("sync", "killed before apply"))
    world.clear_faults()
    written = sum(len(live(s)) + len(s.cohorts) for s in world.sites.values())
    world.expect(written == 0, f"{written} accounts or cohorts written before the first write")
    world.check("after kill -9")
    _rerun_after_kill(world)


def case_kill_mid_apply(world: World, seed: int) -> None:
    site = next(iter(world.sites))
    spec = {"function": "core_user_create_users", "nth": 3, "action": "hold"}
    world.control(site, "faults", {"targeted": [spec]})
    process = _kill_when(world, site, "mid-apply")
    process.kill()
    world.finish(process, ("sync", "killed mid-apply"))
    world.clear_faults()
    world.check("after kill -9")
    _rerun_after_kill(world)


def case_kill_recording(world: World, seed: int) -> None:
    site = next(iter(world.sites))
    spec = {"function": "core_user_create_users", "nth": 2, "action": "hold"}
    world.control(site, "faults", {"targeted": [spec]})
    process = _kill_when(world, site, "recording")
    with world.registry.locked():
        world.control(site, "release")
        # The answer is out: the farm now waits on the registry to record the batch.
        time.sleep(1.0)
        process.kill()
        world.finish(process, ("sync", "killed while recording"))
    world.clear_faults()
    world.check("after kill -9")
    _rerun_after_kill(world)


def case_ldap_stopped(world: World, seed: int) -> None:
    assert world.slapd is not None
    first_fill(world)
    writes = sum(s.calls.total() for s in world.sites.values())
    world.slapd.stop()
    run = world.sync()
    world.expect(run.status == "failed", f"with slapd stopped: {run.brief()}")
    world.expect(
        all(phase == "failed" for phase, _ in run.phases().values()),
        f"tenants not all failed: {run.phases()}",
    )
    world.check("slapd stopped", run=run)
    world.slapd.restart()
    world.expect(
        sum(s.calls.total() for s in world.sites.values()) - writes <= len(world.sites) * 2,
        "the run with no directory called Moodle beyond site checks",
    )
    world.final()


def case_ldap_hung(world: World, seed: int) -> None:
    assert world.slapd is not None
    first_fill(world)
    world.slapd.signal(signal.SIGSTOP)
    try:
        run = world.sync(timeout=90)
    finally:
        world.slapd.signal(signal.SIGCONT)
    world.expect(run.status == "failed", f"with slapd hung: {run.brief()}")
    world.expect(run.seconds < 60, f"a hung directory held the run {run.seconds:.0f} s")
    world.check("slapd hung", run=run)
    world.cells.note("case", f"failed after {run.seconds:.1f} s")
    world.final()


#: How long the registry stays away: past SQLite's 30 s busy timeout; PostgreSQL at once.
CUT_SECONDS = {"sqlite": 32.0, "postgresql": 5.0}


def case_registry_cut(world: World, seed: int) -> None:
    """The registry goes away while Moodle holds an applied batch, then comes back."""
    site = next(iter(world.sites))
    spec = {"function": "core_user_create_users", "nth": 2, "action": "hold"}
    world.control(site, "faults", {"targeted": [spec]})
    process = _kill_when(world, site, "registry cut")
    with world.registry.cut():
        world.control(site, "release")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=world.deadline.left(CUT_SECONDS[world.registry.kind]))
    run = world.finish(process, ("sync", "registry cut"), timeout=world.deadline.left(120))
    world.clear_faults()
    world.expect(run.code == 1, f"registry cut: exit {run.code}")
    lines = run.err.splitlines()
    # A raw traceback, not a JSON log line that carries one in its "exception" field.
    raw = [ln for ln in lines if ln.lstrip(" +|").startswith(("Traceback", "ExceptionGroup"))]
    world.expect(not raw, f"registry cut: a raw traceback on stderr ({len(lines)} lines)")
    last = lines[-1] if lines else ""
    world.expect("registry" in last, f"registry cut: the last line does not say so: {last[:80]}")
    logged = sum(1 for ln in lines if ln.startswith("{") and "Traceback" in ln)
    if logged:
        world.cells.note("case", f"{logged} log lines carry a traceback")
    world.expect(run.json is not None, "registry cut: no --json summary")
    world.check("after the cut")
    _rerun_after_kill(world)
    registry = world.registry.open()
    try:
        left = [r.id for r in registry.list_runs(limit=5) if r.status.value == "running"]
    finally:
        registry.close()
    world.expect(not left, f"registry cut: run(s) {left} still 'running' after the rerun")


def case_source_empty(world: World, seed: int) -> None:
    first_fill(world)
    assert world.directory is not None
    people_base = f'people_base = "ou=people,{world.directory.suffix}"'
    world.edit_farm_toml(people_base, f'people_base = "ou=empty,{world.directory.suffix}"')
    run = world.sync()
    world.edit_farm_toml(f'people_base = "ou=empty,{world.directory.suffix}"', people_base)
    _expect_safety_stop(world, run, "empty directory")
    world.check("empty directory", run=run)
    world.final()


def _expect_safety_stop(world: World, run: Run, what: str) -> None:
    world.expect(run.status != "succeeded", f"{what}: the run {run.brief()}")
    reasons = " ".join(reason for _, reason in run.phases().values())
    world.expect(bool(reasons.strip()), f"{what}: no reason given")
    world.cells.note("case", reasons.strip()[:60])


def case_source_truncated(world: World, seed: int) -> None:
    first_fill(world)
    assert world.directory is not None
    cut = []
    for etab in world.directory.establishments:
        students = world.students(etab.uai)
        cut += students[: len(students) * 7 // 10]
    world.delete_entries(cut)
    run = world.sync()
    world.restore_entries(cut)
    _expect_safety_stop(world, run, "truncated directory")
    world.check("truncated directory", run=run)
    world.final()


def case_shared_username(world: World, seed: int) -> None:
    """Two entries whose uids differ only by case: one username for two people."""
    world.add_person("cn=Homonyme A", "Homonyme01", 11, "Homonyme-A")
    world.add_person("cn=Homonyme B", "homonyme01", 12, "Homonyme-B")
    world.truth = world.read_truth()
    keys = {"sdet:Homonyme01", "sdet:homonyme01"}
    faults = [
        {"function": "core_user_create_users", "nth": n, "action": a}
        for n, a in ((2, "drop"), (3, "502"), (5, "drop"), (6, "hang"))
    ]
    world.fault_all({"targeted": faults})
    run = world.sync()
    world.check("faulted sync", run=run)
    final = world.final()
    _expect_one_refused_naming_the_other(
        world, keys, {**world.reasons(run), **world.reasons(final)}
    )


def _expect_one_refused_naming_the_other(
    world: World, keys: set[str], reasons: Mapping[str, str]
) -> None:
    """Two people, one username: the planner refuses all but one, naming who holds it."""
    refused = sorted(k for k in keys if k in reasons)
    world.expect(len(refused) >= len(keys) - 1, f"not refused by name: {sorted(keys)}")
    for key in refused:
        others = keys - {key}
        world.expect(
            any(o in reasons[key] for o in others),
            f"{key}'s refusal does not name the other: {reasons[key][:60]}",
        )
    if refused:
        world.cells.note("case", f"{refused[0]} refused, names the holder")


def case_foreign_account(world: World, seed: int) -> None:
    """Someone else's account holds a source person's username; creates are dropped."""
    assert world.truth is not None
    name, people = next(iter(world.truth.people.items()))
    person = sorted(people.values(), key=lambda p: p.source_key)[0]
    site = world.sites[name]
    foreign = UserRow(
        site.new_id(),
        person.username,
        "Étranger",
        "COMPTE",
        "etranger@example.org",
        auth="manual",
        idnumber="FOREIGN-1",
    )
    site.users[foreign.id] = foreign
    world.foreign.add(foreign.id)
    world.fault_all(
        {"targeted": [{"function": "core_user_create_users", "action": "drop", "times": 3}]}
    )
    run = world.sync()
    world.check("dropped creates", run=run)
    final = world.final()
    after = site.users[foreign.id]
    world.expect(
        (after.idnumber, after.firstname, after.lastname) == ("FOREIGN-1", "Étranger", "COMPTE"),
        f"the foreign account became {after.idnumber} {after.firstname} {after.lastname}",
    )
    registry = world.registry.open()
    try:
        on_it = [e.key for e in registry.index_entries(name, "person") if e.moodle_id == foreign.id]
    finally:
        registry.close()
    world.expect(not on_it, f"the foreign account was adopted for {on_it}")
    named = world.reasons(run) | world.reasons(final)
    world.expect(person.source_key in named, f"{person.source_key} not named in the report")
    if person.source_key in named:
        world.cells.note("case", named[person.source_key][:40])


def case_uid_with_space(world: World, seed: int) -> None:
    """An SDET uid that is no Moodle username stops nobody else."""
    world.add_person("uid=jean dupont", "jean dupont", 21, "Espace")
    world.add_person("uid=campagne22", "Campagne22", 22, "Voisin")
    world.truth = world.read_truth()
    run = world.sync()
    world.check("first sync", run=run)
    world.expect(
        all(phase != "failed" for phase, _ in run.phases().values()),
        f"a tenant failed: {run.phases()}",
    )
    final = world.final()
    named = world.refused(run) | world.refused(final)
    site = next(s for s in world.sites.values() if s.user_by_username("campagne22"))
    world.expect(site is not None, "the neighbour was not created")
    has = any(u.username.replace(" ", "") == "jeandupont" for u in live(site))
    world.expect(has or "sdet:jean dupont" in named, "the spaced uid is neither created nor named")


def case_secret_escape(world: World, seed: int) -> None:
    """A site's token is file:/etc/passwd: refused, and nothing reaches that site."""
    name = next(iter(world.sites))
    toml = world.folder / f"{name}.toml"
    good = toml.read_text(encoding="utf-8")
    toml.write_text(
        good.replace(f'token = "file:secrets/{name}.token"', 'token = "file:/etc/passwd"'),
        encoding="utf-8",
    )
    link = world.folder / "secrets" / "escape.token"
    link.symlink_to("/etc/hostname")
    run = world.sync()
    toml.write_text(
        good.replace(f'token = "file:secrets/{name}.token"', 'token = "file:secrets/escape.token"'),
        encoding="utf-8",
    )
    symlinked = world.sync()
    toml.write_text(good, encoding="utf-8")
    world.expect(run.code != 0, f"file:/etc/passwd: {run.brief()}")
    world.expect(symlinked.code != 0, f"a symlink out of the farm: {symlinked.brief()}")
    world.expect(
        world.sites[name].peak_in_flight == 0,
        f"{world.sites[name].peak_in_flight} request(s) reached the site with an escaped token",
    )
    world.final()


def case_hostile_xml(world: World, seed: int) -> None:
    """A billion-laughs SOAP answer: refused as hostile, never retried."""
    assert world.netypareo is not None
    first_fill(world)
    world.netypareo.faults.update({"hostile_next": 1})
    before = world.netypareo.stats.calls.total()
    run = world.sync()
    calls = world.netypareo.stats.calls.total() - before
    world.netypareo.faults.reset()
    reasons = " ".join(r for _, r in run.phases().values()).lower()
    world.expect(run.status != "succeeded", f"hostile XML: {run.brief()}")
    world.expect("hostile" in reasons or "entit" in reasons, f"not named hostile: {reasons[:80]}")
    world.expect(run.seconds < 20, f"hostile XML took {run.seconds:.0f} s (retried?)")
    world.cells.note("case", f"{calls} SOAP calls, {run.seconds:.1f} s")
    world.check("hostile XML", run=run)
    world.final()


def case_shared_login(world: World, seed: int) -> None:
    """Two NetYpareo trainers share a login; the right call meets a 502."""
    assert world.netypareo is not None
    data = world.netypareo.data
    code = data.sites[0].code
    first = data.trainers[code][0]
    twin = SimTrainer(
        first.code + 500, "JUMEAU", "Formateur", "jumeau@example.org", first.login, first.groups
    )
    data.trainers[code].append(twin)
    world.truth = world.read_truth()
    people = next(iter(world.truth.people.values()))
    usernames = Counter(p.username.lower() for p in people.values())
    shared = {k for k, p in people.items() if usernames[p.username.lower()] > 1}
    world.expect(len(shared) >= 2, "precondition: no two trainers share a username")
    faults = [
        {"function": "core_user_create_users", "nth": n, "action": a}
        for n, a in ((2, "drop"), (3, "502"), (4, "drop"), (6, "502"))
    ]
    world.fault_all({"targeted": faults})
    run = world.sync()
    world.check("faulted sync", run=run)
    final = world.final()
    _expect_one_refused_naming_the_other(
        world, shared, {**world.reasons(run), **world.reasons(final)}
    )


def case_cohort_emptied(world: World, seed: int) -> None:
    """A class leaves (--allow-mass-removal): its cohort is emptied, kept, and reused."""
    assert world.directory is not None
    first_fill(world)
    people = [p for p in world.directory.people if p.valid and "student" in p.kinds and p.classes]
    uai, klass = sorted(next(iter(people)).classes)[0]
    leaving = {p.dn for p in people if (uai, klass) in p.classes}
    entries = [(dn, a) for dn, a in world.directory.entries if dn in leaving]
    idnumber = f"farm:{uai}:{klass}"
    site = next(s for s in world.sites.values() if s.cohort_by_idnumber(idnumber))
    cohort = site.cohort_by_idnumber(idnumber)
    assert cohort is not None
    before = cohort.id
    world.delete_entries(entries)
    clean = world.truth
    world.truth = world.read_truth()
    run = world.sync("--allow-mass-removal")
    world.check("class gone", run=run)
    kept = site.cohort_by_idnumber(idnumber)
    world.expect(kept is not None, f"cohort {idnumber} deleted when it became empty")
    suspended = sum(1 for u in live(site) if u.suspended)
    world.cells.note("case", f"{len(entries)} left ({suspended} suspended), cohort kept")
    world.restore_entries(entries)
    world.truth = clean
    world.final()
    again = site.cohort_by_idnumber(idnumber)
    world.expect(
        again is not None and again.id == before,
        f"cohort {idnumber} came back as id {again.id if again else None}, was {before}",
    )


def case_concurrent(world: World, seed: int) -> None:
    """Two ``farm sync --wait`` at once on the same sites: one waits, none duplicates."""
    first = world.start("sync", "--all", "--json", "--quiet", "--wait")
    second = world.start("sync", "--all", "--json", "--quiet", "--wait")
    runs = [world.finish(p, ("sync", "--wait")) for p in (first, second)]
    world.expect(all(r.status == "succeeded" for r in runs), f"{[r.brief() for r in runs]}")
    for label, run in zip(("run A", "run B"), runs, strict=True):
        world.check(label, run=run)
    world.final()


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[World, int], None]
    world: Callable[[Env, str, Deadline], World]
    about: str
    quick: bool = False
    seeded: bool = False
    sqlite_seconds: float = 0.0


CASES: tuple[Case, ...] = (
    Case("baseline", case_baseline, sdet_world, "clean sync, rerun writes 0", quick=True),
    Case("faults-10pct", case_mixed_faults, sdet_world, "10% 502/503/timeout/drop", True, True),
    Case("kill-before-apply", case_kill_before_apply, sdet_world, "SIGKILL at the first write"),
    Case("kill-mid-apply", case_kill_mid_apply, sdet_world, "SIGKILL, a create applied", True),
    Case("kill-recording", case_kill_recording, sdet_world, "SIGKILL waiting to record"),
    Case("ldap-stopped", case_ldap_stopped, sdet_world, "slapd stopped", quick=True),
    Case("ldap-hung", case_ldap_hung, sdet_world, "slapd SIGSTOPped"),
    Case("registry-cut", case_registry_cut, sdet_world, "registry cut mid-apply"),
    Case("source-empty", case_source_empty, sdet_world, "directory answers empty", quick=True),
    Case("source-truncated", case_source_truncated, sdet_world, "70% of students gone"),
    Case("shared-username", case_shared_username, sdet_world, "uids differ by case, 502", True),
    Case("foreign-account", case_foreign_account, sdet_world, "a hand-made account, drops"),
    Case("uid-with-space", case_uid_with_space, sdet_world, "uid 'jean dupont'", quick=True),
    Case("shared-login-netypareo", case_shared_login, netypareo_world, "trainers share a login"),
    Case("hostile-xml", case_hostile_xml, netypareo_world, "billion-laughs SOAP answer"),
    Case("secret-escape", case_secret_escape, sdet_world, "file:/etc/passwd, symlink"),
    Case("cohort-emptied", case_cohort_emptied, sdet_world, "a class leaves, comes back"),
    Case("concurrent-runs", case_concurrent, sdet_world, "two farm sync --wait at once"),
)


# Running and reporting.


@dataclass
class Outcome:
    case: str
    kind: str
    cells: Cells
    seconds: float


def run_case(env: Env, case: Case, seed: int) -> Outcome:
    label = f"{case.name}-s{seed}" if case.seeded else case.name
    started = time.monotonic()
    deadline = Deadline(CASE_TIMEOUT)
    world: World | None = None
    try:
        world = case.world(env, label, deadline)
        world.truth = world.read_truth()
        case.run(world, seed)
        cells = world.cells
    except Exception as error:
        cells = world.cells if world is not None else Cells()
        cells.fail("case", f"campaign: {type(error).__name__}: {error}"[:200])
    finally:
        if world is not None:
            world.close()
    return Outcome(label, env.kind, cells, time.monotonic() - started)


def cell_text(outcome: Outcome, invariant: str) -> str:
    failures = outcome.cells.failures.get(invariant, [])
    if failures:
        more = f" (+{len(failures) - 1})" if len(failures) > 1 else ""
        return f"✗ {failures[0]}{more}"
    notes = outcome.cells.notes.get(invariant, [])
    return "✓" + (f" {notes[0]}" if notes else "")


def print_table(outcomes: list[Outcome], out: Any = sys.stdout, width: int = 34) -> None:
    kinds = sorted({o.kind for o in outcomes}, key=["sqlite", "postgresql"].index)
    for kind in kinds:
        rows = [o for o in outcomes if o.kind == kind]
        print(f"\nregistry: {kind}", file=out)
        header = f"{'case':<26} {'s':>5} " + " ".join(f"{i:<{width}}" for i in INVARIANTS)
        print(header, file=out)
        print("-" * len(header), file=out)
        for o in rows:
            cells = [cell_text(o, i) for i in INVARIANTS]
            shown = " ".join(f"{c[:width]:<{width}}" for c in cells)
            print(f"{o.case:<26} {o.seconds:5.1f} {shown}", file=out)
    failed = [o for o in outcomes if any(o.cells.failures.get(i) for i in INVARIANTS)]
    if failed:
        print("\nfailing cells in full:", file=out)
        for o in failed:
            for invariant in INVARIANTS:
                reasons = o.cells.failures.get(invariant, [])
                for reason in reasons[:5]:
                    print(f"  [{o.kind}] {o.case} {invariant}: {reason}", file=out)
                if len(reasons) > 5:
                    print(
                        f"  [{o.kind}] {o.case} {invariant}: ... {len(reasons) - 5} more", file=out
                    )


class _NoDropTraces(logging.Filter):
    """uvicorn logs every simulated drop as an error with a traceback: keep the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


@contextlib.contextmanager
def environment(kind: str, root: Path, postgres_url: str, verbose: bool) -> Iterator[Env]:
    moodle = MoodleSimulator(control=True)
    logging.getLogger("uvicorn.error").addFilter(_NoDropTraces())
    with BackgroundServer(moodle) as server:
        moodle.rebase(server.url)
        yield Env(kind, root / kind, postgres_url, moodle, server.url, verbose)


def choose(args: argparse.Namespace) -> list[Case]:
    cases = [c for c in CASES if c.quick] if args.quick else list(CASES)
    if args.cases:
        wanted = [w.strip() for w in args.cases.split(",") if w.strip()]
        unknown = [w for w in wanted if not any(c.name.startswith(w) for c in CASES)]
        if unknown:
            raise SystemExit(f"unknown case(s): {', '.join(unknown)} (see --list)")
        cases = [c for c in CASES if any(c.name.startswith(w) for w in wanted)]
    return cases


def main(argv: list[str] | None = None) -> int:
    configure_logs(as_json=False, level=logging.WARNING)
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join((__doc__ or "").split("\n")[2:]),
    )
    parser.add_argument("--registry", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", help="comma-separated case names (or prefixes)")
    parser.add_argument("--quick", action="store_true", help="a small subset of the cases")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the random faults")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FARM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a PostgreSQL server on loopback (a database is created per case)",
    )
    parser.add_argument("--max-minutes", type=float, default=90.0, help="bound of the campaign")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every farm run")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            marks = ("quick " if case.quick else "") + ("seeded" if case.seeded else "")
            print(f"{case.name:<24} {case.about:<34} {marks}")
        return 0
    if not 1 <= args.seeds <= 50:
        parser.error("--seeds must be between 1 and 50")
    kinds = ["sqlite", "postgresql"] if args.registry == "both" else [args.registry]
    if "postgresql" in kinds:
        check_loopback_url(args.postgres_url)
    cases = choose(args)
    stamp = time.monotonic()
    end = stamp + args.max_minutes * 60
    root = Path(tempfile.mkdtemp(prefix="fault-campaign-"))
    outcomes: list[Outcome] = []
    try:
        for kind in kinds:
            with environment(kind, root, args.postgres_url, args.verbose) as env:
                for case in cases:
                    for seed in range(1, (args.seeds if case.seeded else 1) + 1):
                        if time.monotonic() > end:
                            cells = Cells()
                            cells.fail("case", "not run: --max-minutes reached")
                            outcomes.append(Outcome(case.name, kind, cells, 0.0))
                            continue
                        outcome = run_case(env, case, seed)
                        outcomes.append(outcome)
                        bad = sum(1 for i in INVARIANTS if outcome.cells.failures.get(i))
                        print(
                            f"[{kind}] {outcome.case}: {'ok' if not bad else f'{bad} failing'} "
                            f"({outcome.seconds:.1f} s)",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print_table(outcomes)
    failing = sum(1 for o in outcomes for i in INVARIANTS if o.cells.failures.get(i))
    total = len(outcomes) * len(INVARIANTS)
    print(
        f"\n{total - failing}/{total} cells hold; registries: {', '.join(kinds)}; "
        f"{time.monotonic() - stamp:.0f} s" + (f"; work folder {root}" if args.keep else "")
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
