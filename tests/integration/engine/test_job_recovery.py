"""Crashes, interruptions and failures: a rerun converges; a broken part touches no Moodle."""

from __future__ import annotations

import anyio
import pytest

from farm.engine.events import Phase
from farm.model import Kind, Person
from tests.integration.engine.conftest import (
    COLLEGE,
    LYCEE,
    SITE,
    TOKEN,
    Crash,
    CrashingTransport,
    Scenario,
    person,
)


def people(n: int, tenant: str = LYCEE) -> list[Person]:
    prefix = "L" if tenant == LYCEE else "C"
    return [person(f"{prefix}{i:04d}", tenant) for i in range(1, n + 1)]


def assert_index_matches_moodle(scenario: Scenario, expected: set[str]) -> None:
    """Every account once, and the index names exactly Moodle's accounts and cohort members."""
    accounts = scenario.accounts()
    assert set(accounts) == expected
    index = scenario.index("person")
    assert {e.key.removeprefix("sdet:") for e in index.values()} == expected
    assert {e.moodle_id for e in index.values()} == {u.id for u in accounts.values()}
    for entry in scenario.index("cohort").values():
        cohort = scenario.site.cohorts[entry.moodle_id]
        members = {
            m.values["person"]
            for m in scenario.index("cohort_member").values()
            if m.values["cohort"] == entry.key
        }
        assert {f"sdet:{scenario.site.users[u].idnumber}" for u in cohort.members} == members


@pytest.mark.parametrize("after", [1, 3, 6])
async def test_a_crash_mid_apply_then_a_rerun_converges(any_scenario: Scenario, after: int) -> None:
    scenario = any_scenario
    scenario.set_people(LYCEE, people(50))
    scenario.set_people(COLLEGE, people(20, COLLEGE))
    scenario.transport = CrashingTransport(scenario.sim.transport(), after=after)

    with pytest.raises((Crash, BaseExceptionGroup)):
        await scenario.sync()
    created = len(scenario.site.live_users())
    recorded = len(scenario.index("person"))
    assert recorded <= created  # Moodle holds what the index lost, never the other way

    scenario.transport = None
    outcome = await scenario.sync()

    assert all(t.phase is Phase.SUCCEEDED for t in outcome.tenants.values()), outcome
    expected = {f"L{i:04d}" for i in range(1, 51)} | {f"C{i:04d}" for i in range(1, 21)}
    assert_index_matches_moodle(scenario, expected)
    adopted = sum(t.counts.get("person.adopt", 0) for t in outcome.tenants.values())
    assert adopted == created - recorded
    writes = scenario.writes()
    await scenario.sync()
    assert scenario.writes() == writes


async def test_stop_finishes_the_batch_records_it_and_interrupts(scenario: Scenario) -> None:
    # Three slices of creations (two batches each): the stop comes during the first.
    scenario.set_people(LYCEE, people(500))
    stop = anyio.Event()

    class StopAtFirstCreation(CrashingTransport):
        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            if b"core_user_create_users" in request.content + request.url.query:
                stop.set()
            return await self.inner.handle_async_request(request)

    scenario.transport = StopAtFirstCreation(scenario.sim.transport(), after=0)
    outcome = await scenario.sync([LYCEE], stop=stop)

    assert outcome.tenants[LYCEE].phase is Phase.INTERRUPTED
    created = len(scenario.site.live_users())
    assert 0 < created < 500
    assert len(scenario.index("person")) == created
    scenario.transport = None
    outcome = await scenario.sync([LYCEE])
    assert outcome.tenants[LYCEE].counts["person.create"] == 500 - created
    assert_index_matches_moodle(scenario, {f"L{i:04d}" for i in range(1, 501)})


async def test_existing_accounts_are_adopted_and_ambiguous_ones_reported(
    scenario: Scenario,
) -> None:
    site = scenario.site
    from farm.simulators.moodle import UserRow

    site.users[500] = UserRow(500, "l0001", "Old", "Name", "l0001@example.org", idnumber="L0001")
    site.users[501] = UserRow(501, "someone", "X", "Y", "other@example.org", idnumber="L0002")
    site.users[502] = UserRow(502, "someone2", "X", "Y", "other2@example.org", idnumber="L0002")
    site.users[503] = UserRow(503, "l0003", "Z", "W", "L0003@example.org")
    scenario.set_people(LYCEE, people(4))

    outcome = await scenario.sync([LYCEE])

    counts = outcome.tenants[LYCEE].counts
    assert counts["person.adopt"] == 2
    assert counts["person.create"] == 1
    assert counts["errors"] == 2  # the account, and its membership that waits for it
    assert site.users[500].firstname == "PrénomL0001"
    assert site.users[503].idnumber == "L0003"
    index = scenario.index("person")
    assert index["sdet:L0001"].moodle_id == 500
    assert index["sdet:L0003"].moodle_id == 503
    assert "sdet:L0002" not in index
    report = scenario.registry.get_report(scenario.runs[-1], LYCEE).tenants[0]
    assert report.status == "partial"
    errors = {e.entity: e for e in report.errors}
    assert errors["person"].key == "sdet:L0002"
    assert "2 accounts share the idnumber" in errors["person"].reason
    assert errors["cohort_member"].key == f"farm:{LYCEE}:student|sdet:L0002"
    assert "no account" in errors["cohort_member"].reason
    adopt = [j for j in scenario.registry.journal(scenario.runs[-1]) if j.action == "adopt"]
    assert {j.moodle_id for j in adopt} == {500, 503}


async def test_a_source_failure_fails_its_tenants_and_touches_no_moodle(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, people(5))
    scenario.source.fail("connection refused by ldap.example.org:636")

    outcome = await scenario.sync()

    assert scenario.site.calls.total() == 0
    for tenant in (LYCEE, COLLEGE):
        assert outcome.tenants[tenant].phase is Phase.FAILED
        assert "connection refused" in outcome.tenants[tenant].reason
    report = scenario.registry.get_report(scenario.runs[-1])
    assert {t.status for t in report.tenants} == {"failed"}


async def test_a_bad_token_fails_the_site_before_any_write(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario.set_people(LYCEE, people(5))
    monkeypatch.setenv("FARM_TEST_SITE_TOKEN", "not-the-token")

    outcome = await scenario.sync([LYCEE])

    assert scenario.writes() == 0
    tenant = outcome.tenants[LYCEE]
    assert tenant.phase is Phase.FAILED
    assert "invalidtoken" in tenant.reason
    assert "not-the-token" not in tenant.reason


async def test_a_missing_function_fails_the_site_before_any_write(scenario: Scenario) -> None:
    scenario.site.tokens[TOKEN] -= {"core_cohort_add_cohort_members"}
    scenario.set_people(LYCEE, people(5))

    outcome = await scenario.sync([LYCEE])

    assert scenario.writes() == 0
    assert "core_cohort_add_cohort_members" in outcome.tenants[LYCEE].reason


async def test_the_token_appears_in_no_report_journal_or_event(scenario: Scenario) -> None:
    scenario.set_people(LYCEE, [*people(10), person("L0999", email=f"{TOKEN}@example.org")])
    await scenario.sync()
    scenario.site.faults.unavailable = 1.0
    scenario.set_people(LYCEE, people(12))
    await scenario.sync([LYCEE])
    scenario.site.faults.unavailable = 0.0

    texts = [repr(scenario.registry.get_report(r)) for r in scenario.runs]
    texts += [repr(scenario.registry.journal(r)) for r in scenario.runs]
    texts += [repr(e.to_json()) for e in scenario.events.events]
    texts += [repr(scenario.registry.index_entries(SITE))]
    leaked = [t for t in texts if TOKEN in t.replace(f"{TOKEN}@example.org", "")]
    assert leaked == []
    assert any("503" in t for t in texts)  # the failed run was reported


def test_kinds_cover_the_applier() -> None:
    from farm.moodle.applier import HANDLERS
    from farm.operation import ORDER, Action

    handled = set(HANDLERS)
    missing = [
        (k, a)
        for k, a in ORDER
        if a is not Action.REINDEX and (k, a) not in handled and k is not Kind.GROUP
    ]
    assert missing == []
