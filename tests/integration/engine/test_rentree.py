"""The rentrée on the simulated Moodle: the SDET cohorts' year changes between two syncs.

The sample directory (a cité scolaire, a student, a teacher, a parent) is
read from slapd by the real SDET source; the cohorts' idnumbers carry the
school year (``farm:2025:…``). Moving to 2026 makes every cohort of 2025
one the farm no longer reads: ``cohort_retirement`` says what becomes of
them, and by default nothing is deleted, nothing emptied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from farm.engine.events import Phase
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.wiring import Sources, client_provider
from farm.options import RunOptions
from farm.registry import Registry
from farm.registry.rows import RunId, RunTrigger
from farm.simulators.moodle import CohortRow, MoodleSimulator, Site
from farm.simulators.slapd import Slapd
from tests.integration.engine.conftest import TOKEN, Events, build_farm, open_registry
from tests.integration.sdet.conftest import settings_for

pytestmark = pytest.mark.slapd

LYCEE, COLLEGE = "0999901Z", "0999902A"
SUFFIX = "dc=esco-centre,dc=fr"
#: Everything but reads: what a rerun must not call.
READS = ("_get_", "search", "get_site_info")


@dataclass
class Rentree:
    """One cité scolaire site synced from the sample directory, year by year."""

    site: Site
    registry: Registry
    context: JobContext
    runs: list[RunId]

    async def sync(self, year: str, **options: Any) -> dict[str, Phase]:
        simulated = bool(options.get("simulate"))
        run_id = await anyio.to_thread.run_sync(
            lambda: self.registry.start_run(trigger=RunTrigger.BATCH, simulated=simulated)
        )
        self.runs.append(run_id)
        spec = JobSpec(
            run_id,
            "cite",
            (LYCEE, COLLEGE),
            RunOptions.from_mapping({"cohort_year": year, **options}),
        )
        outcome = await run_job(spec, self.context)
        return {tenant: o.phase for tenant, o in outcome.tenants.items()}

    def cohorts(self, year: str) -> dict[str, CohortRow]:
        prefix = f"farm:{year}:"
        return {c.idnumber: c for c in self.site.cohorts.values() if c.idnumber.startswith(prefix)}

    def writes(self) -> int:
        return sum(n for f, n in self.site.calls.items() if not any(m in f for m in READS))

    def notes(self) -> list[str]:
        report = self.registry.get_report(self.runs[-1], LYCEE)
        return [w.message for t in report.tenants for w in t.warnings]


@pytest.fixture
def rentree(
    slapd_sample: Slapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rentree]:
    monkeypatch.setenv("FARM_TEST_SITE_TOKEN", TOKEN)
    sim = MoodleSimulator()
    site = sim.add_site("cite", token=TOKEN)
    farm = build_farm(tmp_path, site.wwwroot)
    (template,) = farm.sites.values()
    tenants = tuple(
        replace(t, id=uai, site="cite")
        for t, uai in zip(template.tenants, (LYCEE, COLLEGE), strict=True)
    )
    farm = replace(
        farm,
        directories={"ent": settings_for(slapd_sample, SUFFIX)},
        sites={"cite": replace(template, name="cite", tenants=tenants)},
        tenants={t.id: t for t in tenants},
    )
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.load_farm(farm)
    sources = Sources(farm)
    context = JobContext(
        farm, registry, Events(), sources, client_provider(transport=sim.transport()), anyio.Event()
    )
    try:
        yield Rentree(site, registry, context, [])
    finally:
        registry.close()


OK = {LYCEE: Phase.SUCCEEDED, COLLEGE: Phase.SUCCEEDED}


async def test_the_rentree_keeps_last_years_cohorts_with_their_members(
    rentree: Rentree,
) -> None:
    assert await rentree.sync("2025") == OK
    last_year = rentree.cohorts("2025")
    assert last_year
    members = {key: set(c.members) for key, c in last_year.items()}
    assert any(members.values())

    assert await rentree.sync("2026") == OK

    # Last year's cohorts are all still there, untouched: same ids, names and members.
    kept = rentree.cohorts("2025")
    assert {k: (c.id, c.name, set(c.members)) for k, c in kept.items()} == {
        k: (c.id, c.name, members[k]) for k, c in last_year.items()
    }
    this_year = rentree.cohorts("2026")
    assert {k.replace(":2026:", ":2025:") for k in this_year} == set(last_year)
    assert {k: set(c.members) for k, c in this_year.items()} == {
        k.replace(":2025:", ":2026:"): m for k, m in members.items()
    }
    assert any(
        note.startswith(f"{len(last_year)} cohort(s) released (cohort_retirement = keep")
        for note in rentree.notes()
    )
    index = {e.key: e for e in rentree.registry.index_entries("cite", "cohort")}
    assert all(index[k].tenants == () for k in last_year)

    before = rentree.writes()
    assert await rentree.sync("2026") == OK
    assert rentree.writes() == before


async def test_archive_renames_and_hides_last_years_cohorts_and_keeps_their_members(
    rentree: Rentree,
) -> None:
    assert await rentree.sync("2025", cohort_retirement="archive") == OK
    last_year = {k: (c.id, c.name, set(c.members)) for k, c in rentree.cohorts("2025").items()}

    assert await rentree.sync("2026", cohort_retirement="archive") == OK

    archived = rentree.cohorts("2025")
    assert {k: (c.id, c.name, set(c.members)) for k, c in archived.items()} == {
        k: (moodle_id, f"{name} (2025-2026)", kept)
        for k, (moodle_id, name, kept) in last_year.items()
    }
    assert not any(c.visible for c in archived.values())
    assert all(c.visible for c in rentree.cohorts("2026").values())

    before = rentree.writes()
    assert await rentree.sync("2026", cohort_retirement="archive") == OK
    assert rentree.writes() == before


async def test_a_simulated_archive_is_stored_and_applied_as_reviewed(rentree: Rentree) -> None:
    """farm sync --simulate, then farm apply: the stored plan carries the rename and the hiding."""
    assert await rentree.sync("2025") == OK
    names = {k: c.name for k, c in rentree.cohorts("2025").items()}
    before = rentree.writes()

    assert await rentree.sync("2026", cohort_retirement="archive", simulate=True) == OK
    assert rentree.writes() == before
    simulated = rentree.runs[-1]
    assert await rentree.sync("2026", cohort_retirement="archive", apply_plan_of=simulated) == OK

    archived = rentree.cohorts("2025")
    assert {k: (c.name, c.visible) for k, c in archived.items()} == {
        k: (f"{name} (2025-2026)", False) for k, name in names.items()
    }
    assert rentree.cohorts("2026")
    after = rentree.writes()
    assert await rentree.sync("2026", cohort_retirement="archive") == OK
    assert rentree.writes() == after
