"""Generated directory in slapd -> the real job -> simulated Moodle sites hold exactly the truth."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from farm.config import Farm
from farm.engine.events import Phase
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.wiring import Sources, client_provider
from farm.moodle.settings import MoodleLimits
from farm.registry.rows import RunTrigger
from farm.simulators.directory import GeneratedDirectory
from farm.simulators.moodle import MoodleSimulator
from farm.simulators.slapd import Slapd
from tests.integration.engine.conftest import TOKEN, Events, build_farm, open_registry
from tests.integration.sdet.conftest import settings_for
from tests.integration.sdet.test_generated import expected_members

pytestmark = pytest.mark.slapd


def directory_farm(
    root: Path, sim: MoodleSimulator, server: Slapd, directory: GeneratedDirectory
) -> Farm:
    """The generated cité scolaire as one site, read from slapd through farm.toml's settings."""
    lycee, college = directory.cites[0]
    site = sim.add_site("cite", token=TOKEN)
    farm = build_farm(root, site.wwwroot, limits=MoodleLimits(records_per_batch=100))
    (template,) = farm.sites.values()
    tenants = tuple(
        replace(t, id=uai, site="cite")
        for t, uai in zip(template.tenants, (lycee, college), strict=True)
    )
    site_config = replace(template, name="cite", tenants=tenants)
    return replace(
        farm,
        directories={"ent": settings_for(server, directory.suffix)},
        sites={"cite": site_config},
        tenants={t.id: t for t in tenants},
    )


async def test_generated_directory_syncs_into_exactly_the_expected_accounts_and_cohorts(
    slapd_generated: Slapd,
    generated_directory: GeneratedDirectory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FARM_TEST_SITE_TOKEN", TOKEN)
    sim = MoodleSimulator()
    farm = directory_farm(tmp_path, sim, slapd_generated, generated_directory)
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.load_farm(farm)
    sources = Sources(farm)
    context = JobContext(
        farm, registry, Events(), sources, client_provider(transport=sim.transport()), anyio.Event()
    )
    lycee, college = generated_directory.cites[0]
    site = sim.sites["cite"]

    async def sync() -> dict[str, Phase]:
        run_id = registry.start_run(trigger=RunTrigger.BATCH)
        outcome = await run_job(JobSpec(run_id, "cite", (lycee, college)), context)
        return {t: o.phase for t, o in outcome.tenants.items()}

    started = time.monotonic()
    assert await sync() == {lycee: Phase.SUCCEEDED, college: Phase.SUCCEEDED}
    first = time.monotonic() - started

    truth = generated_directory.people_of(lycee) | generated_directory.people_of(college)
    accounts = {u.username: u for u in site.live_users()}
    assert set(accounts) == {uid.lower() for uid in truth}
    for uid, who in truth.items():
        assert (accounts[uid.lower()].firstname, accounts[uid.lower()].lastname) == (
            who.firstname,
            who.lastname,
        )
    # Invariant 2: nobody of another establishment reached this site.
    others = {p.uid.lower() for p in generated_directory.people if not p.uais & {lycee, college}}
    assert not others & set(accounts)
    wanted = expected_members(generated_directory, lycee) | expected_members(
        generated_directory, college
    )
    by_id = {u.id: u.username for u in site.live_users()}
    got = {
        (cohort.idnumber, f"sdet:{by_id[member]}")
        for cohort in site.cohorts.values()
        for member in cohort.members
    }
    assert {(c, k.lower()) for c, k in wanted} == {(c, k.lower()) for c, k in got}

    before = dict(site.calls)
    assert await sync() == {lycee: Phase.SUCCEEDED, college: Phase.SUCCEEDED}
    # The rerun writes nothing: it only checks that the site still answers.
    made = {name: n - before.get(name, 0) for name, n in site.calls.items()}
    assert {name: n for name, n in made.items() if n} == {"core_webservice_get_site_info": 1}
    await sources.aclose()
    registry.close()
    print(f"first sync of {len(truth)} people into one site: {first:.1f} s")
