"""NetYpareo simulator (SOAP over loopback) -> the real job -> a simulated Moodle site."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from farm.engine.events import Phase
from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.wiring import Sources, client_provider
from farm.model import CohortMembership, Kind
from farm.options import RunOptions
from farm.registry.rows import RunTrigger
from farm.simulators.moodle import MoodleSimulator
from farm.snapshot import SiteSnapshot, merge_site
from farm.sources import ReadRequest
from tests.fixtures.netypareo import NETYPAREO_REFERENCE_DATE, ServedNetYpareo
from tests.integration.engine.conftest import TOKEN, Events, build_farm, open_registry

OPTIONS = RunOptions(run_date=NETYPAREO_REFERENCE_DATE)
# Not the default: the farm's prefix, and only it, must reach the NetYpareo cohorts.
PREFIX = "ac-occ:"


async def test_netypareo_sites_sync_end_to_end_into_one_moodle_site(
    netypareo: ServedNetYpareo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FARM_TEST_SITE_TOKEN", TOKEN)
    sim = MoodleSimulator()
    moodle = sim.add_site("cfa", token=TOKEN, profile_fields=("netypareo_usertype",))
    base = build_farm(tmp_path, moodle.wwwroot)
    (template,) = base.sites.values()
    (model, _) = template.tenants
    tenants = tuple(
        replace(
            model,
            id=tenant.id,
            kind="netypareo",
            site="cfa",
            source="occ",
            netypareo_code=tenant.site_code,
            netypareo_index=tenant.index,
        )
        for tenant in netypareo.tenants()
    )
    farm = replace(
        base,
        settings=replace(base.settings, cohort_prefix=PREFIX),
        netypareo={"occ": netypareo.settings()},
        sites={"cfa": replace(template, name="cfa", tenants=tenants)},
        tenants={t.id: t for t in tenants},
    )
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.load_farm(farm)
    sources = Sources(farm)
    context = JobContext(
        farm, registry, Events(), sources, client_provider(transport=sim.transport()), anyio.Event()
    )
    ids = tuple(t.id for t in tenants)

    async def sync() -> dict[str, Phase]:
        run_id = registry.start_run(trigger=RunTrigger.BATCH)
        outcome = await run_job(JobSpec(run_id, "cfa", ids, OPTIONS), context)
        return {t: o.phase for t, o in outcome.tenants.items()}

    assert await sync() == dict.fromkeys(ids, Phase.SUCCEEDED)

    # What the source says, merged the way the job merges it, is what Moodle now holds.
    request = ReadRequest(ids, run_date=NETYPAREO_REFERENCE_DATE, cohort_prefix=PREFIX)
    read = await sources("occ").read(request)
    truth = merge_site(list(read.snapshots.values()))
    accounts = {u.username: u for u in moodle.live_users()}
    assert set(accounts) == {p.username for p in truth.people.values()}
    learners = [
        learner
        for site in netypareo.data.sites
        for learner in netypareo.data.site_learners(site.code)
    ]
    assert learners
    for learner in learners:
        account = accounts[learner.login]
        assert (account.firstname, account.lastname, account.email) == (
            learner.firstname,
            learner.lastname,
            learner.email,
        )
    cohorts = {c.idnumber: c for c in moodle.cohorts.values()}
    by_id = {u.id: u.username for u in moodle.live_users()}
    usernames = {key: p.username for key, p in truth.people.items()}
    members = _members(truth)
    assert members
    for idnumber, keys in members.items():
        assert {by_id[m] for m in cohorts[idnumber].members} == {usernames[k] for k in keys}
    assert set(cohorts) == set(truth.of(Kind.COHORT))
    assert cohorts
    assert all(idnumber.startswith(f"{PREFIX}netypareo:") for idnumber in cohorts)

    before = dict(moodle.calls)
    assert await sync() == dict.fromkeys(ids, Phase.SUCCEEDED)
    # Nothing changed, nothing sent: the rerun only checks that the site still answers.
    made = {name: n - before.get(name, 0) for name, n in moodle.calls.items()}
    assert {name: n for name, n in made.items() if n} == {"core_webservice_get_site_info": 1}
    await sources.aclose()
    registry.close()


def _members(truth: SiteSnapshot) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for member in truth.of(Kind.COHORT_MEMBER).values():
        assert isinstance(member, CohortMembership)
        found.setdefault(member.cohort, set()).add(member.person)
    return found
