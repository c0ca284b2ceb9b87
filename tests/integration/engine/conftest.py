"""Scenario fixtures for job tests: a farm built in code, a registry, a simulated Moodle.

A :class:`Scenario` holds one Moodle site (``lycee-a``, two establishments
of a cité scolaire) on the in-process Moodle simulator, a
:class:`~farm.sources.static.StaticSource` named ``ent`` standing for the
directory, and a registry (SQLite, or PostgreSQL where a test asks). Each
:meth:`Scenario.sync` starts a run, runs the real job and returns its
outcome; the simulator's call counters tell what reached Moodle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from farm.config import Farm
from farm.engine.events import Event
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.outcome import JobOutcome
from farm.engine.wiring import Sources, client_provider
from farm.model import Person, Profile
from farm.moodle.settings import MoodleLimits
from farm.options import RunOptions
from farm.registry import Registry
from farm.registry.rows import RunId, RunTrigger
from farm.secrets import SecretRef
from farm.simulators.moodle import MoodleSimulator, Site
from farm.sources.static import StaticSource
from tests.farms import establishment, farm_of, site_config, snapshot

TOKEN = "sc3nario-t0ken-9f8e7d6c5b4a"
SITE = "lycee-a"
LYCEE, COLLEGE = "0330001K", "0330002L"

#: Simulator functions that only read: everything else counts as a write.
READS = frozenset(
    {
        "core_webservice_get_site_info",
        "core_user_get_users_by_field",
        "core_user_get_users",
        "core_cohort_get_cohorts",
        "core_cohort_search_cohorts",
        "core_cohort_get_cohort_members",
        "core_course_get_courses_by_field",
        "core_group_get_course_groups",
        "core_enrol_get_enrolled_users",
    }
)


def person(uid: str, tenant: str = LYCEE, **changes: Any) -> Person:
    """A student of ``tenant`` with predictable names; ``changes`` override fields."""
    values: dict[str, Any] = {
        "source_key": f"sdet:{uid}",
        "username": uid.lower(),
        "idnumber": uid,
        "firstname": f"Prénom{uid}",
        "lastname": f"NOM{uid}",
        "email": f"{uid.lower()}@example.org",
        "profiles": frozenset({Profile.STUDENT}),
        "establishments": frozenset({tenant}),
    }
    values.update(changes)
    return Person(**values)


class Crash(BaseException):
    """The process dies: nothing after this point runs, no handler catches it."""


class CrashingTransport(httpx.AsyncBaseTransport):
    """Passes requests to ``inner``; the ``after``-th write reaches Moodle, then the process dies.

    Moodle applies that write, but its answer never comes back and nothing
    after it is recorded: the worst moment for a crash.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, after: int) -> None:
        self.inner = inner
        self.after = after
        self.writes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        function = next(
            (p.split("=", 1)[1] for p in body.split("&") if p.startswith("wsfunction=")), ""
        )
        response = await self.inner.handle_async_request(request)
        if function not in READS:
            self.writes += 1
            if self.writes >= self.after:
                raise Crash(f"killed after write {self.writes} ({function})")
        return response


class Events:
    """An EventSink that keeps everything."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


def build_farm(root: Path, url: str, *, limits: MoodleLimits | None = None) -> Farm:
    site = site_config(
        root,
        SITE,
        url=url,
        token=SecretRef("env", "FARM_TEST_SITE_TOKEN"),
        tenants=(establishment(uai, SITE, f"Établissement {uai}") for uai in (LYCEE, COLLEGE)),
        limits=limits or MoodleLimits(records_per_batch=20, calls_in_flight=2),
    )
    return farm_of(root, [site], name="scenario")


@dataclass
class Scenario:
    farm: Farm
    registry: Registry
    sim: MoodleSimulator
    site: Site
    source: StaticSource
    events: Events = field(default_factory=Events)
    transport: httpx.AsyncBaseTransport | None = None
    runs: list[RunId] = field(default_factory=list)

    def writes(self) -> int:
        """Write calls the simulated site has answered so far."""
        return sum(n for name, n in self.site.calls.items() if name not in READS)

    def set_people(self, tenant: str, people: Iterable[Person]) -> None:
        self.source.set(snapshot(tenant, people))

    def context(self, stop: anyio.Event | None = None) -> JobContext:
        return JobContext(
            farm=self.farm,
            registry=self.registry,
            events=self.events,
            sources=Sources(self.farm, {"ent": self.source}),
            clients=client_provider(transport=self.transport or self.sim.transport()),
            stop=stop or anyio.Event(),
        )

    async def sync(
        self,
        tenants: Iterable[str] = (LYCEE, COLLEGE),
        *,
        stop: anyio.Event | None = None,
        **options: Any,
    ) -> JobOutcome:
        run_id = await anyio.to_thread.run_sync(
            lambda: self.registry.start_run(
                trigger=RunTrigger.BATCH, simulated=bool(options.get("simulate"))
            )
        )
        self.runs.append(run_id)
        spec = JobSpec(run_id, SITE, tuple(tenants), RunOptions.from_mapping(options))
        return await run_job(spec, self.context(stop))

    def index(self, entity: str = "person") -> Mapping[str, Any]:
        return {e.key: e for e in self.registry.index_entries(SITE, entity)}

    def accounts(self) -> dict[str, Any]:
        """Live accounts of the simulated site by idnumber; duplicates would collide."""
        found: dict[str, Any] = {}
        for user in self.site.live_users():
            assert user.idnumber not in found, f"duplicate account for {user.idnumber}"
            found[user.idnumber] = user
        return found


def open_registry(url: str) -> Registry:
    registry = Registry.open(url, check=False, create=True)
    registry.upgrade()
    return registry


def make_scenario(
    tmp_path: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch, **limits: Any
) -> Scenario:
    monkeypatch.setenv("FARM_TEST_SITE_TOKEN", TOKEN)
    sim = MoodleSimulator()
    site = sim.add_site(SITE, token=TOKEN, profile_fields=("uai",))
    farm = build_farm(
        tmp_path,
        site.wwwroot,
        limits=MoodleLimits(**{"records_per_batch": 20, "calls_in_flight": 2, **limits}),
    )
    registry = open_registry(registry_url)
    registry.load_farm(farm)
    source = StaticSource("ent", [snapshot(LYCEE, []), snapshot(COLLEGE, [])])
    return Scenario(farm, registry, sim, site, source)


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """A scenario on a SQLite registry."""
    made = make_scenario(tmp_path, f"sqlite:///{tmp_path / 'registry.db'}", monkeypatch)
    try:
        yield made
    finally:
        made.registry.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_scenario(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scenario]:
    """A scenario on SQLite, then on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    made = make_scenario(tmp_path, url, monkeypatch)
    try:
        yield made
    finally:
        made.registry.close()


__all__ = [
    "COLLEGE",
    "LYCEE",
    "SITE",
    "TOKEN",
    "Crash",
    "CrashingTransport",
    "Scenario",
    "person",
    "snapshot",
]
