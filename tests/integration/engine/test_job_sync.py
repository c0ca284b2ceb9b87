"""One site synced end to end: first run, no-change rerun, rename, removal, return."""

from __future__ import annotations

from dataclasses import replace

from farm.engine.events import EventKind, Phase
from farm.model import Person
from tests.integration.engine.conftest import COLLEGE, LYCEE, READS, Scenario, person

WRITES = frozenset(
    {
        "core_user_create_users",
        "core_user_update_users",
        "core_user_delete_users",
        "core_cohort_create_cohorts",
        "core_cohort_update_cohorts",
        "core_cohort_add_cohort_members",
        "core_cohort_delete_cohort_members",
    }
)
assert not WRITES & READS


def students(n: int, tenant: str = LYCEE, start: int = 1) -> list[Person]:
    prefix = "L" if tenant == LYCEE else "C"
    return [person(f"{prefix}{i:04d}", tenant) for i in range(start, start + n)]


async def test_first_sync_creates_exactly_the_accounts_cohorts_and_members(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, students(30))
    scenario.set_people(COLLEGE, students(12, COLLEGE))

    outcome = await scenario.sync()

    assert {t.phase for t in outcome.tenants.values()} == {Phase.SUCCEEDED}
    accounts = scenario.accounts()
    assert set(accounts) == {f"L{i:04d}" for i in range(1, 31)} | {
        f"C{i:04d}" for i in range(1, 13)
    }
    assert accounts["L0001"].firstname == "PrénomL0001"
    cohort = scenario.site.cohort_by_idnumber(f"farm:{LYCEE}:student")
    assert cohort is not None
    assert {scenario.site.users[u].idnumber for u in cohort.members} == {
        f"L{i:04d}" for i in range(1, 31)
    }
    assert outcome.tenants[LYCEE].counts["person.create"] == 30
    assert outcome.tenants[COLLEGE].counts["person.create"] == 12
    index = scenario.index()
    assert {e.moodle_id for e in index.values()} == {u.id for u in accounts.values()}


async def test_a_rerun_without_source_change_writes_nothing(scenario: Scenario) -> None:
    scenario.set_people(LYCEE, students(25))
    scenario.set_people(COLLEGE, students(10, COLLEGE))
    await scenario.sync()
    before = scenario.writes()
    assert before > 0

    outcome = await scenario.sync()

    assert scenario.writes() == before
    assert all(t.phase is Phase.SUCCEEDED for t in outcome.tenants.values())
    assert all(not t.counts for t in outcome.tenants.values())
    assert scenario.registry.journal(scenario.runs[-1]) == []


async def test_a_renamed_person_gets_one_field_updated(scenario: Scenario) -> None:
    people = students(20)
    scenario.set_people(LYCEE, people)
    await scenario.sync()
    calls = dict(scenario.site.calls)

    people[4] = replace(people[4], lastname="NOUVEAU-NOM")
    scenario.set_people(LYCEE, people)
    outcome = await scenario.sync([LYCEE])

    new_calls = {k: v - calls.get(k, 0) for k, v in scenario.site.calls.items()}
    assert {k for k, v in new_calls.items() if v and k in WRITES} == {"core_user_update_users"}
    assert new_calls["core_user_update_users"] == 1
    assert scenario.accounts()["L0005"].lastname == "NOUVEAU-NOM"
    assert outcome.tenants[LYCEE].counts == {"person.update": 1}
    (line,) = scenario.registry.journal(scenario.runs[-1])
    assert (line.entity, line.action, line.key) == ("person", "update", "sdet:L0005")
    assert line.old == {"lastname": "NOML0005"}
    assert line.new == {"lastname": "NOUVEAU-NOM"}
    assert line.moodle_id == scenario.accounts()["L0005"].id


async def test_a_removed_person_is_suspended_then_revived_on_return(scenario: Scenario) -> None:
    people = students(20)
    scenario.set_people(LYCEE, people)
    await scenario.sync([LYCEE])
    leaving = people.pop(7)

    scenario.set_people(LYCEE, people)
    outcome = await scenario.sync([LYCEE])

    account = scenario.accounts()[leaving.idnumber]
    assert account.suspended
    assert sum(u.suspended for u in scenario.site.live_users()) == 1
    assert outcome.tenants[LYCEE].counts == {"person.suspend": 1}
    entry = scenario.index()[leaving.source_key]
    assert entry.values["suspended"] is True
    assert entry.tenants == ()

    scenario.set_people(LYCEE, [*people, leaving])
    outcome = await scenario.sync([LYCEE])

    assert not scenario.accounts()[leaving.idnumber].suspended
    assert outcome.tenants[LYCEE].counts == {"person.revive": 1}
    assert scenario.index()[leaving.source_key].tenants == (LYCEE,)
    assert len(scenario.accounts()) == 20


async def test_an_empty_source_trips_the_guard_and_writes_nothing(scenario: Scenario) -> None:
    scenario.set_people(LYCEE, students(30))
    await scenario.sync([LYCEE])
    before = scenario.writes()

    scenario.set_people(LYCEE, [])
    outcome = await scenario.sync([LYCEE])

    assert scenario.writes() == before
    assert not any(u.suspended for u in scenario.site.live_users())
    tenant = outcome.tenants[LYCEE]
    assert tenant.phase is Phase.FAILED
    assert "returned 0 people" in tenant.reason
    assert "--allow-mass-removal" in tenant.reason
    report = scenario.registry.get_report(scenario.runs[-1], LYCEE).tenants[0]
    assert report.status == "failed"
    assert report.reason == tenant.reason
    assert any("withheld" in w.message for w in report.warnings)


async def test_a_simulation_writes_nothing_and_reports_what_it_would_do(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, students(15))

    outcome = await scenario.sync([LYCEE], simulate=True)

    assert scenario.site.calls.total() == 0
    assert scenario.registry.index_entries("lycee-a") == []
    assert outcome.tenants[LYCEE].counts["person.create"] == 15
    found = scenario.registry.get_report(scenario.runs[-1])
    (report,) = found.tenants
    assert report.simulated
    assert found.run.simulated
    assert report.counts["person"] == {"create": 15}
    assert report.counts["cohort_member"] == {"add": 15}


async def test_events_follow_each_tenant_to_a_final_phase(scenario: Scenario) -> None:
    scenario.set_people(LYCEE, students(45))
    await scenario.sync([LYCEE])

    mine = [e for e in scenario.events.events if e.tenant == LYCEE]
    phases = [e.phase for e in mine if e.kind is EventKind.PHASE]
    assert phases == [Phase.READING, Phase.PLANNING, Phase.APPLYING, Phase.SUCCEEDED]
    progress = [(e.done, e.total) for e in mine if e.kind is EventKind.PROGRESS]
    total = 45 + 1 + 45
    assert progress[0] == (0, total)
    assert progress[-1] == (total, total)
    assert len(progress) > 3
    assert mine[-1].counts["person.create"] == 45


async def test_a_verbose_run_keeps_one_line_per_operation_in_each_report(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, students(3))
    scenario.set_people(COLLEGE, [])
    await scenario.sync(tenants=(LYCEE,))
    scenario.set_people(
        LYCEE, [replace(students(3)[0], lastname="AUTREMENT"), *students(2, start=2)]
    )

    await scenario.sync(tenants=(LYCEE,), verbose=True)

    report = scenario.registry.get_report(scenario.runs[-1], LYCEE).tenants[0]
    assert report.operations == ("update person sdet:L0001 (l0001): lastname",)
    first = scenario.registry.get_report(scenario.runs[0], LYCEE).tenants[0]
    assert first.operations == ()  # not verbose: no lines kept


async def test_a_run_with_nothing_to_write_still_finds_a_revoked_token(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, [person("L0001")])
    await scenario.sync([LYCEE])
    scenario.site.tokens.clear()  # the token was revoked overnight

    outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.FAILED
    assert "invalidtoken" in outcome.tenants[LYCEE].reason
