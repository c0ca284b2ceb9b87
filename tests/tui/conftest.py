"""A small farm for dashboard tests: three tenants on two simulated Moodle sites.

The farm is built in code; its registry is a SQLite file; Moodle is the
in-process simulator (the real client over its ASGI transport) and the
directory a :class:`~farm.sources.static.StaticSource`. :meth:`DashFarm.app`
opens the dashboard with a :class:`~farm.tui.commands.Commander` running the
real coordinator on all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from farm.config import Farm, SiteConfig
from farm.engine.executor import JobFunction
from farm.engine.job import run_job
from farm.engine.wiring import Sources, client_provider
from farm.model import Person, Profile, TenantSnapshot
from farm.moodle.settings import MoodleLimits
from farm.registry import Registry
from farm.secrets import SecretRef
from farm.simulators.moodle import MoodleSimulator
from farm.sources.static import StaticSource
from farm.tui.app import FarmDashboard
from farm.tui.commands import Commander
from farm.tui.feed import RegistryFeed
from tests.farms import establishment, farm_of, site_config, snapshot

TOKEN = "dashb0ard-t0ken-1234567890"
SIZE = (140, 32)
#: Tenant -> (site, name, tags, people).
TENANTS = {
    "0340041K": ("cite-clemenceau", "Lycée Georges Clemenceau", ("academie:montpellier",), 6),
    "0341921D": ("cite-clemenceau", "Collège Georges Clemenceau", ("academie:montpellier",), 4),
    "0310024H": ("lycee-bellevue", "Lycée Bellevue", ("academie:toulouse",), 5),
}


def people_of(tenant: str, count: int) -> TenantSnapshot:
    people = (
        Person(
            source_key=f"sdet:{tenant}{k}",
            username=f"{tenant.lower()}{k}",
            idnumber=f"{tenant}{k}",
            firstname=f"Prénom{k}",
            lastname=f"NOM{tenant}",
            email=f"{tenant.lower()}{k}@example.org",
            profiles=frozenset({Profile.STUDENT}),
            establishments=frozenset({tenant}),
        )
        for k in range(count)
    )
    return snapshot(tenant, people)


def build_farm(root: Path, sim: MoodleSimulator) -> Farm:
    sites: list[SiteConfig] = []
    for site in sorted({s for s, *_ in TENANTS.values()}):
        sim.add_site(site, token=TOKEN)
        mine = (
            establishment(uai, site, name, tags)
            for uai, (s, name, tags, _) in TENANTS.items()
            if s == site
        )
        sites.append(
            site_config(
                root,
                site,
                url=sim.url(site),
                token=SecretRef("env", "FARM_TUI_TEST_TOKEN"),
                tenants=mine,
                limits=MoodleLimits(records_per_batch=3, calls_in_flight=2),
            )
        )
    return farm_of(root, sites, name="tui-test")


@dataclass
class DashFarm:
    farm: Farm
    registry: Registry
    sim: MoodleSimulator
    source: StaticSource

    def sources(self, farm: Farm) -> Sources:
        return Sources(farm, {"ent": self.source})

    def commander(self, job: JobFunction = run_job) -> Commander:
        return Commander(
            self.farm,
            self.registry,
            sources=self.sources,
            clients=client_provider(transport=self.sim.transport()),
            job=job,
        )

    def app(
        self,
        *,
        commander: bool = True,
        clock_at: datetime | None = None,
        job: JobFunction = run_job,
    ) -> FarmDashboard:
        clock = None if clock_at is None else (lambda: clock_at)
        feed = RegistryFeed(self.registry, self.farm)
        if clock is not None:
            feed.clock = clock
        return FarmDashboard(
            feed,
            self.commander(job) if commander else None,
            tick=0.1,
            clock=clock,
        )

    def accounts(self, site: str) -> int:
        return len(self.sim.sites[site].live_users())


def make_dash_farm(url: str, root: Path) -> DashFarm:
    sim = MoodleSimulator()
    farm = build_farm(root, sim)
    registry = Registry.open(url, check=False, create=True)
    registry.upgrade()
    registry.load_farm(farm)
    source = StaticSource("ent", [people_of(t, n) for t, (*_, n) in TENANTS.items()])
    return DashFarm(farm, registry, sim, source)


@pytest.fixture
def dash_farm_pg(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DashFarm]:
    """The same farm on a PostgreSQL registry of its own."""
    monkeypatch.setenv("FARM_TUI_TEST_TOKEN", TOKEN)
    made = make_dash_farm(postgres_url, tmp_path)
    try:
        yield made
    finally:
        made.registry.close()


@pytest.fixture
def dash_farm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DashFarm]:
    """The farm on a SQLite registry."""
    monkeypatch.setenv("FARM_TUI_TEST_TOKEN", TOKEN)
    made = make_dash_farm(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path)
    try:
        yield made
    finally:
        made.registry.close()
