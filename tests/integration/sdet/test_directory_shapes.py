"""One source, two directory shapes: groups on people, or groups as entries and isMemberOf.

Both directories are generated from the same seed (the same people) and
loaded side by side in one slapd under ``dc=fr``: ``dc=plain`` keeps plain
SDET's person attributes, ``dc=grouped`` keeps groups as ``groupOfNames``
entries with member DNs, its teachers carry no ``ENTAuxEnseignant`` class
(a function code finds them) and name their groups with ``isMemberOf``.
The same :class:`SdetSource` reads both, each with its directory's
settings, and each gives the people and cohorts the generator's truth says.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from farm.config import Farm
from farm.engine.events import Phase
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.wiring import Sources, client_provider
from farm.model import Profile, TenantSnapshot
from farm.moodle.settings import MoodleLimits
from farm.registry.rows import RunTrigger
from farm.simulators.directory import GeneratedDirectory, generate
from farm.simulators.moodle import MoodleSimulator
from farm.simulators.slapd import Slapd
from farm.sources import ReadRequest
from farm.sources.sdet import DirectorySettings, SdetSource
from tests.fixtures.slapd import SlapdFactory
from tests.integration.engine.conftest import TOKEN, Events, build_farm, open_registry
from tests.integration.sdet.conftest import settings_for
from tests.integration.sdet.test_generated import PROFILES, expected_members

pytestmark = pytest.mark.slapd

ROOT = "dc=fr"
KINDS = ["class", "group", "class_teachers", "group_teachers", "profile", "level"]
ESCO_GROUPS = r"^Etablissements:[^:]*_(?P<uai>[0-9]{7}[A-Z]):(?P<code>[^:]+)$"


@pytest.fixture(scope="module")
def directories() -> dict[str, GeneratedDirectory]:
    return {
        shape: generate(2, 80, seed=11, suffix=f"dc={shape},{ROOT}", shape=shape)
        for shape in ("sdet", "grouped")
    }


@pytest.fixture(scope="module")
def shapes_server(
    slapd_factory: SlapdFactory,
    directories: dict[str, GeneratedDirectory],
    tmp_path_factory: pytest.TempPathFactory,
) -> Slapd:
    """One server, both directories: a second base costs an LDIF, not a second slapd."""
    folder = tmp_path_factory.mktemp("shapes-ldif")
    root = folder / "root.ldif"
    root.write_text(
        f"dn: {ROOT}\nobjectClass: dcObject\nobjectClass: organization\ndc: fr\no: ENT\n",
        encoding="utf-8",
    )
    files = [root]
    files += [d.write_ldif(folder / f"{shape}.ldif") for shape, d in directories.items()]
    return slapd_factory(suffix=ROOT, ldif_files=files, name="shapes")


def shape_settings(server: Slapd, directory: GeneratedDirectory) -> DirectorySettings:
    """What farm.toml says of each directory; the code that reads them is the same."""
    extra: dict[str, Any] = {"mapping": {"cohorts": {"kinds": KINDS}}}
    if directory.shape == "grouped":
        extra["families"] = {
            "teachers": {"object_classes": ["ENTPerson"], "filter": "(ENTPersonFonctions=*$ENS$*)"}
        }
        extra["cohort_groups"] = [
            {
                "name": "esco",
                "base": directory.groups_base,
                "filter": "(objectClass=groupOfNames)",
                "member_attribute": "member",
                "person_attribute": "isMemberOf",
                "name_attribute": "description",
                "pattern": ESCO_GROUPS,
                "idnumber": "{uai}:group:{code}",
                "cohort_name": "{label} ({etab})",
            }
        ]
    return settings_for(server, directory.suffix, **extra)


def expected(directory: GeneratedDirectory, uai: str) -> set[tuple[str, str]]:
    """(cohort, source key) pairs the truth gives for ``uai``, levels included.

    In the grouped shape the truth has teachers as members of their groups
    (no taught classes, no group teachers' cohorts), which the group
    entries' cohorts, on the same idnumbers, must show.
    """
    pairs = expected_members(directory, uai)
    for person in directory.people_of(uai).values():
        key = f"sdet:{person.uid}"
        if person.level is not None and "student" in person.kinds:
            pairs.add((f"farm:{uai}:level:{person.level}", key))
    return pairs


async def read_all(server: Slapd, directory: GeneratedDirectory) -> dict[str, TenantSnapshot]:
    source = SdetSource(f"ent-{directory.shape}", shape_settings(server, directory))
    tenants = tuple(e.uai for e in directory.establishments)
    result = await source.read(ReadRequest(tenants=tenants))
    return dict(result.snapshots)


@pytest.mark.parametrize("shape", ["sdet", "grouped"])
async def test_the_same_source_reads_each_shape_into_its_truth(
    shape: str, shapes_server: Slapd, directories: dict[str, GeneratedDirectory]
) -> None:
    directory = directories[shape]

    snapshots = await read_all(shapes_server, directory)

    for etab in directory.establishments:
        snapshot = snapshots[etab.uai]
        truth = directory.people_of(etab.uai)
        got = {p.source_key: p for p in snapshot.people}
        assert set(got) == {f"sdet:{uid}" for uid in truth}, etab.uai
        for uid, person in truth.items():
            assert got[f"sdet:{uid}"].profiles == {PROFILES[k] for k in person.kinds}, uid
        members = {(m.cohort, m.person) for m in snapshot.cohort_members}
        assert members == expected(directory, etab.uai), etab.uai
        assert {c.idnumber for c in snapshot.cohorts} >= {cohort for cohort, _ in members}
    groups = [c for s in snapshots.values() for c in s.cohorts if ":group:" in c.idnumber]
    levels = [c for s in snapshots.values() for c in s.cohorts if ":level:" in c.idnumber]
    assert groups
    assert levels
    assert {c.idnumber.split(":level:")[1] for c in levels} <= {
        "SECONDE GENERALE & TECHNO YC BT",
        "PREMIERE GENERALE",
        "TERMINALE GENERALE",
        "6EME",
        "5EME",
        "4EME",
        "3EME",
    }
    if shape == "grouped":
        # Names from the entries' description; the admins' group is no cohort.
        assert {c.name.split(" (")[0] for c in groups} <= {
            "Groupe LATIN",
            "Groupe EURO ANGLAIS",
            "Groupe ESP LV2",
        }
        teachers = {
            p.source_key
            for s in snapshots.values()
            for p in s.people
            if Profile.TEACHER in p.profiles
        }
        in_groups = {
            m.person for s in snapshots.values() for m in s.cohort_members if ":group:" in m.cohort
        }
        assert teachers & in_groups, "teachers joined their groups through isMemberOf"


def shapes_farm(
    root: Path, sim: MoodleSimulator, server: Slapd, directory: GeneratedDirectory
) -> Farm:
    """The directory's cité scolaire as one simulated site, read from slapd."""
    site = sim.add_site("cite", token=TOKEN)
    farm = build_farm(root, site.wwwroot, limits=MoodleLimits(records_per_batch=100))
    (template,) = farm.sites.values()
    lycee, college = directory.cites[0]
    tenants = tuple(
        replace(t, id=uai, site="cite")
        for t, uai in zip(template.tenants, (lycee, college), strict=True)
    )
    return replace(
        farm,
        directories={"ent": shape_settings(server, directory)},
        sites={"cite": replace(template, name="cite", tenants=tenants)},
        tenants={t.id: t for t in tenants},
    )


async def test_levels_and_group_entries_reach_moodle_and_a_rerun_writes_nothing(
    shapes_server: Slapd,
    directories: dict[str, GeneratedDirectory],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FARM_TEST_SITE_TOKEN", TOKEN)
    directory = directories["grouped"]
    sim = MoodleSimulator()
    farm = shapes_farm(tmp_path, sim, shapes_server, directory)
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.load_farm(farm)
    sources = Sources(farm)
    context = JobContext(
        farm, registry, Events(), sources, client_provider(transport=sim.transport()), anyio.Event()
    )
    lycee, college = directory.cites[0]
    site = sim.sites["cite"]

    async def sync() -> dict[str, Phase]:
        run_id = registry.start_run(trigger=RunTrigger.BATCH)
        outcome = await run_job(JobSpec(run_id, "cite", (lycee, college)), context)
        return {t: o.phase for t, o in outcome.tenants.items()}

    try:
        assert await sync() == {lycee: Phase.SUCCEEDED, college: Phase.SUCCEEDED}

        by_id = {u.id: u.username for u in site.live_users()}
        got = {
            (cohort.idnumber, f"sdet:{by_id[member]}".lower())
            for cohort in site.cohorts.values()
            for member in cohort.members
        }
        wanted = expected(directory, lycee) | expected(directory, college)
        assert got == {(c, k.lower()) for c, k in wanted}
        names = {c.idnumber: c.name for c in site.cohorts.values()}
        level = f"farm:{lycee}:level:SECONDE GENERALE & TECHNO YC BT"
        assert names[level].startswith("SECONDE GENERALE & TECHNO YC BT (")
        assert any(n.startswith("Groupe LATIN (") for n in names.values())

        before = dict(site.calls)
        assert await sync() == {lycee: Phase.SUCCEEDED, college: Phase.SUCCEEDED}
        made = {name: n - before.get(name, 0) for name, n in site.calls.items()}
        assert {name: n for name, n in made.items() if n} == {"core_webservice_get_site_info": 1}
    finally:
        await sources.aclose()
        registry.close()


async def test_a_single_person_read_brings_the_groups_that_name_them(
    shapes_server: Slapd, directories: dict[str, GeneratedDirectory]
) -> None:
    directory = directories["grouped"]
    source = SdetSource("ent-grouped", shape_settings(shapes_server, directory))
    teacher = next(p for p in directory.people if p.valid and "teacher" in p.kinds and p.groups)
    student = next(p for p in directory.people if p.valid and "student" in p.kinds and p.groups)
    tenants = tuple(e.uai for e in directory.establishments)

    for person in (teacher, student):
        result = await source.read(ReadRequest(tenants=tenants, person=person.uid))
        got = {
            (m.cohort, m.person)
            for s in result.snapshots.values()
            for m in s.cohort_members
            if ":group:" in m.cohort
        }
        # The teacher through isMemberOf, the student through the entries' member DNs.
        assert got == {(f"farm:{u}:group:{g}", f"sdet:{person.uid}") for u, g in person.groups}
        assert not any(s.complete for s in result.snapshots.values())
