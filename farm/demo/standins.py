"""The demo's stand-ins for the outside world, started in this process on loopback ports.

- Moodle: the multi-site simulator behind one uvicorn server, in a thread of
  its own, with a modest cost model so that progress is visible.
- The directory: a private slapd loaded with the generated directory when
  Debian's slapd is installed (no root needed); otherwise a
  :class:`~farm.sources.static.StaticSource` fed from the generator's truth.

Only these are stand-ins: the demo's jobs use the real coordinator, the real
SDET source and the real Moodle client over HTTP.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Self

from farm.cohorts import DEFAULT_PREFIX
from farm.demo.farmdir import DemoSite
from farm.model import Cohort, CohortMembership, Person, Profile, TenantSnapshot
from farm.simulators.directory import GeneratedDirectory
from farm.simulators.moodle import CostModel, MoodleSimulator
from farm.simulators.netypareo import NetYpareoSimulator
from farm.simulators.netypareo import generate as generate_cfa
from farm.simulators.netypareo.server import BackgroundServer
from farm.simulators.slapd import Slapd
from farm.sources.static import StaticSource

#: Seconds Moodle spends per call and per record: a few seconds per site in all.
DEMO_COST = CostModel(per_call=0.01, per_record=0.0015, workers=4)


class MoodleServer:
    """The Moodle simulator served by uvicorn on a free loopback port, in a thread."""

    def __init__(
        self,
        sites: list[DemoSite],
        cost: CostModel = DEMO_COST,
        profile_fields: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.simulator = MoodleSimulator()
        fields = profile_fields or {}
        for site in sites:
            own = CostModel(cost.per_call, cost.per_record, cost.workers)
            added = self.simulator.add_site(
                site.name, token=site.token, cost=own, profile_fields=fields.get(site.name, ())
            )
            # ENT sites installed the CAS plugin, which Moodle 5.0 no longer ships.
            added.auth_installed.add("cas")
        self._server = BackgroundServer(self.simulator)
        # The port is known once bound: sites answer with their real wwwroot.
        self.simulator.rebase(self._server.url)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def accounts(self) -> int:
        """Live accounts over every simulated site."""
        return sum(len(site.live_users()) for site in self.simulator.sites.values())


class NetYpareoServer:
    """The NetYpareo SOAP simulator on a free loopback port: one CFA with several sites."""

    def __init__(self, sites: int, token: str, *, seed: int = 2026) -> None:
        self.data = generate_cfa(
            seed,
            sites=sites,
            groups_per_site=3,
            pdgroups_per_site=1,
            learners_per_group=12,
            reference_date=date.today(),
        )
        self.simulator = NetYpareoSimulator(self.data, token=token)
        self._server = BackgroundServer(self.simulator.app)

    @property
    def wsdl(self) -> str:
        return f"{self._server.url}/ws?wsdl"

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


def slapd_available() -> bool:
    """Whether Debian's slapd and slapadd are installed (the demo then runs a real directory)."""
    return all(
        Path(folder, name).exists() or shutil.which(name) is not None
        for name in ("slapd", "slapadd")
        for folder in ("/usr/sbin",)
    )


@dataclass
class Directory:
    """The demo's directory: a running slapd, or a static source standing in for it."""

    generated: GeneratedDirectory
    folder: Path
    use_slapd: bool
    slapd: Slapd | None = None
    static: StaticSource | None = None
    tenants: tuple[str, ...] = field(default=())

    @property
    def description(self) -> str:
        if self.slapd is not None:
            return f"a private slapd on {self.slapd.url} (SDET schema, generated entries)"
        return "an embedded static source (slapd is not installed), from the generator's truth"

    @property
    def url(self) -> str:
        # The static stand-in replaces the source by name; the URL is never dialled.
        return self.slapd.url if self.slapd is not None else "ldap://127.0.0.1:9"

    def start(self) -> Self:
        if self.use_slapd:
            self.folder.mkdir(parents=True, exist_ok=True)
            ldif = self.generated.write_ldif(self.folder / "directory.ldif")
            self.slapd = Slapd(
                self.folder / "slapd", suffix=self.generated.suffix, ldif_files=[ldif]
            ).start()
        else:
            self.static = StaticSource("ent-demo", snapshots_of(self.generated))
        return self

    def stop(self) -> None:
        if self.slapd is not None:
            self.slapd.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_PROFILES = {
    "student": Profile.STUDENT,
    "teacher": Profile.TEACHER,
    "staff": Profile.STAFF,
    "parent": Profile.PARENT,
}


def snapshots_of(
    directory: GeneratedDirectory, prefix: str = DEFAULT_PREFIX
) -> list[TenantSnapshot]:
    """What a correct directory reader finds, per establishment: people, class cohorts, members."""
    out: list[TenantSnapshot] = []
    for etab in directory.establishments:
        people = sorted(directory.people_of(etab.uai).values(), key=lambda p: p.uid)
        persons = tuple(
            Person(
                source_key=f"sdet:{p.uid}",
                username=p.uid.lower(),
                idnumber=p.uid,
                firstname=p.firstname,
                lastname=p.lastname,
                email=f"{p.uid.lower()}@demo.invalid",
                profiles=frozenset(_PROFILES[k] for k in p.kinds),
                establishments=frozenset(p.uais),
            )
            for p in people
        )
        classes = sorted({c for p in people for u, c in p.classes if u == etab.uai})
        cohorts = tuple(
            Cohort(f"{prefix}{etab.uai}:{c}", f"{c} ({etab.name})", establishment=etab.uai)
            for c in classes
        )
        members = tuple(
            CohortMembership(f"{prefix}{etab.uai}:{c}", f"sdet:{p.uid}")
            for p in people
            for u, c in sorted(p.classes)
            if u == etab.uai
        )
        out.append(
            TenantSnapshot(tenant=etab.uai, people=persons, cohorts=cohorts, cohort_members=members)
        )
    return out
