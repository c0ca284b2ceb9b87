"""A farm of simulated sites for coordinator tests, buildable the same way in any process.

Sites ``site-00``, ``site-01``... each hold ``tenants_per_site`` establishments
whose people come from a :class:`StaticSource` named ``ent`` (generated
deterministically, so a worker process builds the very same source). The
Moodle simulator runs in-process (its transport) or served on loopback, where
several processes share it.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from farm.config import Farm
from farm.engine.coordinator import Coordinator
from farm.engine.events import Event
from farm.engine.leases import LeasePolicy
from farm.engine.wiring import Sources, client_provider
from farm.model import Person, Profile, TenantSnapshot
from farm.moodle.settings import MoodleLimits
from farm.registry import Registry
from farm.secrets import SecretRef
from farm.simulators.moodle import CostModel, MoodleSimulator
from farm.sources.static import StaticSource
from tests import farms
from tests.farms import establishment, farm_of, site_config

TOKEN = "c00rdinat0r-t0ken-4b5c6d"
TOKEN_ENV = "FARM_TEST_COORDINATOR_TOKEN"


def site_name(index: int) -> str:
    return f"site-{index:02d}"


def tenant_id(site: int, tenant: int) -> str:
    # UAI-shaped ids: 7 digits and a letter (the check letter is not verified here).
    return f"{9000000 + site * 100 + tenant:07d}X"


def build_farm(
    root: Path,
    base_url: str,
    *,
    sites: int,
    tenants_per_site: int = 2,
    jobs_in_flight: int = 8,
    limits: MoodleLimits | None = None,
) -> Farm:
    return farm_of(
        root,
        (
            site_config(
                root,
                site_name(s),
                url=f"{base_url.rstrip('/')}/{site_name(s)}",
                token=SecretRef("env", TOKEN_ENV),
                tenants=(
                    establishment(
                        tenant_id(s, t), site_name(s), f"Établissement {s}.{t}", {f"group:{s % 2}"}
                    )
                    for t in range(tenants_per_site)
                ),
                limits=limits or MoodleLimits(records_per_batch=20, calls_in_flight=2, retries=1),
            )
            for s in range(sites)
        ),
        name="coordinator-test",
        jobs_in_flight=jobs_in_flight,
    )


def people(tenant: str, count: int) -> tuple[Person, ...]:
    return tuple(
        Person(
            source_key=f"sdet:{tenant}-{i:05d}",
            username=f"u{tenant.lower()}{i:05d}",
            idnumber=f"{tenant}-{i:05d}",
            firstname=f"Prénom{i}",
            lastname=f"NOM{tenant}",
            email=f"u{tenant.lower()}{i:05d}@example.org",
            profiles=frozenset({Profile.STUDENT}),
            establishments=frozenset({tenant}),
        )
        for i in range(count)
    )


def snapshot(tenant: str, count: int) -> TenantSnapshot:
    return farms.snapshot(tenant, people(tenant, count))


def static_source(farm: Farm, people_per_tenant: int) -> StaticSource:
    return StaticSource("ent", [snapshot(t, people_per_tenant) for t in farm.tenants])


def simulator(farm: Farm, cost: CostModel | None = None) -> MoodleSimulator:
    """A simulator holding every site of ``farm`` (call :meth:`rebase` once served)."""
    sim = MoodleSimulator()
    for name in farm.sites:
        sim.add_site(name, token=TOKEN, profile_fields=("uai",), cost=cost or CostModel())
    return sim


def open_registry(url: str) -> Registry:
    registry = Registry.open(url, check=False, create=True)
    registry.upgrade()
    return registry


class Recorder:
    """An EventSink keeping every event, optionally calling ``hook`` on each."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


def coordinator(
    farm: Farm,
    registry: Registry,
    events: Recorder,
    source: StaticSource,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    leases: LeasePolicy | None = None,
) -> Coordinator:
    registry.load_farm(farm)
    return Coordinator(
        farm=farm,
        registry=registry,
        events=events,
        sources=Sources(farm, {"ent": source}),
        clients=client_provider(transport=transport),
        leases=leases or LeasePolicy(),
    )
