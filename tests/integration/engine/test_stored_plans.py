"""A simulation's stored plan, applied as reviewed: exactly its operations, never after drift.

Each test simulates with the real job, then applies run N's plan as a new
run (``apply_plan_of``) on the Moodle simulator and the registry (SQLite;
PostgreSQL too where ``any_scenario`` says so).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

from farm.engine.events import Phase
from farm.engine.outcome import JobOutcome
from farm.index import SiteIndex, apply_confirmed
from farm.model import Cohort, CohortMembership, Kind, Person, TenantSnapshot
from farm.operation import Action
from farm.registry.rows import RunId, TenantStatus
from farm.simulators.moodle import UserRow
from tests.integration.engine.conftest import COLLEGE, LYCEE, SITE, Scenario, person

WRITES_OF_A_RERUN = {"core_webservice_get_site_info": 1}


def students(n: int, tenant: str = LYCEE, start: int = 1, **changes: object) -> list[Person]:
    prefix = "L" if tenant == LYCEE else "C"
    return [person(f"{prefix}{i:04d}", tenant, **changes) for i in range(start, start + n)]


def renamed(people: list[Person], *uids: str, lastname: str = "RENOMMÉ") -> list[Person]:
    return [replace(p, lastname=lastname) if p.idnumber in uids else p for p in people]


async def synced(scenario: Scenario, lycee: int = 10, college: int = 4) -> list[Person]:
    people = students(lycee)
    scenario.set_people(LYCEE, people)
    scenario.set_people(COLLEGE, students(college, COLLEGE))
    outcome = await scenario.sync()
    assert {o.phase for o in outcome.tenants.values()} == {Phase.SUCCEEDED}
    return people


async def simulate(scenario: Scenario, **options: Any) -> RunId:
    outcome = await scenario.sync(simulate=True, **options)
    assert {o.phase for o in outcome.tenants.values()} == {Phase.SUCCEEDED}, outcome
    return scenario.runs[-1]


async def apply(scenario: Scenario, run_id: int, **options: Any) -> JobOutcome:
    return await scenario.sync(apply_plan_of=run_id, **options)


def calls_since(scenario: Scenario, before: Counter[str]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in scenario.site.calls.items() if n != before.get(k)}


async def test_a_simulation_stores_its_plan_value_by_value(any_scenario: Scenario) -> None:
    scenario = any_scenario
    people = await synced(scenario)
    scenario.set_people(LYCEE, [*renamed(people, "L0002"), *students(1, start=11)])
    calls = Counter(scenario.site.calls)

    run = await simulate(scenario)

    (stored,) = scenario.registry.stored_plans(run)
    assert (stored.site, stored.tenants) == (SITE, (LYCEE, COLLEGE))
    assert stored.blocked is None
    assert stored.applied_by is None
    by_action = {(op.kind, op.action): op for op in stored.operations}
    update = by_action[(Kind.PERSON, Action.UPDATE)]
    assert update.key == "sdet:L0002"
    assert dict(update.changes) == {"lastname": ("NOML0002", "RENOMMÉ")}
    assert update.previous == scenario.registry.site_index(SITE).get(Kind.PERSON, "sdet:L0002")
    assert by_action[(Kind.PERSON, Action.CREATE)].key == "sdet:L0011"
    assert calls_since(scenario, calls) == {}  # a simulation calls nothing
    (report,) = [t for t in scenario.registry.get_report(run).tenants if t.tenant == LYCEE]
    assert report.counts["person"] == {"create": 1, "update": 1}


async def test_nothing_drifted_applies_exactly_the_stored_operations_then_converges(
    any_scenario: Scenario,
) -> None:
    scenario = any_scenario
    people = await synced(scenario)
    # Two renamed, one gone (suspended), two new: 5 people, their memberships.
    changed = [*renamed(people[1:], "L0002", "L0003"), *students(2, start=11)]
    scenario.set_people(LYCEE, changed)
    run = await simulate(scenario)
    (stored,) = scenario.registry.stored_plans(run)
    index_before = scenario.registry.site_index(SITE)
    accounts_before = {u.id: (u.lastname, u.suspended) for u in scenario.site.live_users()}
    calls = Counter(scenario.site.calls)

    outcome = await apply(scenario, run)

    assert {o.phase for o in outcome.tenants.values()} == {Phase.SUCCEEDED}, outcome
    made = calls_since(scenario, calls)
    # Every stored operation, and nothing else: one batch per (kind, action) here.
    assert Counter((op.kind, op.action) for op in stored.operations) == {
        (Kind.PERSON, Action.CREATE): 2,
        (Kind.PERSON, Action.UPDATE): 2,
        (Kind.PERSON, Action.SUSPEND): 1,
        (Kind.COHORT_MEMBER, Action.ADD): 2,
    }
    assert made == {
        "core_webservice_get_site_info": 1,  # the site check
        # The drift check: the 3 accounts by id, the 2 new ones by idnumber and by
        # username; then the creation's own look-ups by idnumber, username and e-mail.
        "core_user_get_users_by_field": 6,
        "core_user_create_users": 1,
        "core_user_update_users": 2,  # the renames, the suspension
        "core_cohort_add_cohort_members": 1,
    }
    counts = Counter((op.kind.value, op.action.value) for op in stored.operations)
    reported: Counter[tuple[str, str]] = Counter()
    for tenant in scenario.registry.get_report(scenario.runs[-1]).tenants:
        for kind, actions in tenant.counts.items():
            reported.update({(kind, action): n for action, n in actions.items()})
    assert reported == counts
    accounts_after = {u.id: (u.lastname, u.suspended) for u in scenario.site.live_users()}
    changed_ids = {i for i in accounts_after if accounts_before.get(i) != accounts_after[i]}
    planned_people = {op.key for op in stored.operations if op.kind is Kind.PERSON}
    index_after = scenario.registry.site_index(SITE)
    assert {index_after.get(Kind.PERSON, k).moodle_id for k in planned_people} == changed_ids  # type: ignore[union-attr]
    # The index moved exactly as the stored operations say it would.
    ids = {
        (Kind.PERSON, k): e.moodle_id
        for k, e in index_after.of(Kind.PERSON).items()
        if e.moodle_id is not None
    }
    expected = apply_confirmed(index_before, stored.operations, ids)
    assert _entries(index_after) == _entries(expected)
    (after,) = scenario.registry.stored_plans(run)
    assert after.applied_by == scenario.runs[-1]

    calls = Counter(scenario.site.calls)
    rerun = await scenario.sync()
    assert {o.phase for o in rerun.tenants.values()} == {Phase.SUCCEEDED}
    assert calls_since(scenario, calls) == WRITES_OF_A_RERUN


def _entries(index: SiteIndex) -> set[tuple[str, str, int | None, str]]:
    return {(e.kind.value, e.key, e.moodle_id, e.digest) for e in index}


async def test_drift_in_the_index_and_in_moodle_refuses_naming_both(
    any_scenario: Scenario,
) -> None:
    scenario = any_scenario
    people = await synced(scenario)
    scenario.set_people(LYCEE, renamed(people, "L0002", "L0003"))
    run = await simulate(scenario)
    # Since the simulation: L0002 renamed again in the source and synced on its own;
    # L0003's surname changed by hand in Moodle.
    scenario.set_people(LYCEE, renamed(people, "L0002", lastname="AUTRE"))
    await scenario.sync([LYCEE], person="L0002")
    account = scenario.site.user_by_username("l0003")
    assert account is not None
    account.lastname = "Saisi-à-la-main"
    writes = scenario.writes()

    outcome = await apply(scenario, run)

    assert scenario.writes() == writes
    lycee = outcome.tenants[LYCEE]
    assert lycee.phase is Phase.FAILED
    assert lycee.reason.startswith(f"the plan of run {run} drifted, nothing was written: ")
    assert (
        "person sdet:L0002 (l0002): index: lastname is 'AUTRE', "
        "the plan was computed from 'NOML0002'"
    ) in lycee.reason
    assert (
        "person sdet:L0003 (l0003): moodle: lastname is 'Saisi-à-la-main', "
        "the plan expected 'NOML0003'"
    ) in lycee.reason
    assert outcome.tenants[COLLEGE].phase is Phase.FAILED
    report = scenario.registry.get_report(scenario.runs[-1], LYCEE).tenants[0]
    assert report.status is TenantStatus.FAILED
    assert {e.key for e in report.errors} == {"sdet:L0002", "sdet:L0003"}
    assert all(e.reason.startswith("drifted since the plan: ") for e in report.errors)
    # Refused, not applied: the plan is still there to be applied once drift is gone.
    (still,) = scenario.registry.stored_plans(run)
    assert still.applied_by is None


async def test_a_plan_is_applied_once_and_a_second_apply_names_the_first(
    scenario: Scenario,
) -> None:
    people = await synced(scenario)
    scenario.set_people(LYCEE, renamed(people, "L0001"))
    run = await simulate(scenario)
    first = await apply(scenario, run)
    assert first.tenants[LYCEE].phase is Phase.SUCCEEDED
    applied_by = scenario.runs[-1]
    writes = scenario.writes()

    second = await apply(scenario, run)

    assert second.tenants[LYCEE].phase is Phase.FAILED
    assert f"already applied by run {applied_by}" in second.tenants[LYCEE].reason
    assert scenario.writes() == writes


async def test_a_stale_plan_is_refused_unless_forced(scenario: Scenario) -> None:
    people = await synced(scenario)
    scenario.set_people(LYCEE, renamed(people, "L0001"))
    run = await simulate(scenario)
    scenario.farm = replace(
        scenario.farm, settings=replace(scenario.farm.settings, plan_max_age=timedelta(0))
    )

    refused = await apply(scenario, run)

    assert "older than plan_max_age (0 min)" in refused.tenants[LYCEE].reason
    assert "--force-stale" in refused.tenants[LYCEE].reason
    forced = await apply(scenario, run, force_stale=True)
    assert forced.tenants[LYCEE].phase is Phase.SUCCEEDED
    assert scenario.site.user_by_username("l0001").lastname == "RENOMMÉ"  # type: ignore[union-attr]


async def test_safety_is_checked_again_against_the_index_at_apply_time(
    scenario: Scenario,
) -> None:
    lycee = await synced(scenario, lycee=10, college=30)
    # Six of 40 leave: 15 %, under the 20 % this simulation allows.
    scenario.set_people(LYCEE, lycee[6:])
    run = await simulate(scenario, mass_removal_threshold=0.2)
    (stored,) = scenario.registry.stored_plans(run)
    assert stored.blocked is None
    # Meanwhile most of the collège left (a run that was allowed to): six are now too many.
    scenario.set_people(COLLEGE, students(10, COLLEGE))
    await scenario.sync([COLLEGE], allow_mass_removal=True)
    writes = scenario.writes()

    outcome = await apply(scenario, run)

    assert outcome.tenants[LYCEE].reason.startswith("safety stop: the plan would take 6 of 20")
    assert scenario.writes() == writes


async def test_a_blocked_simulation_stores_its_verdict_and_cannot_be_applied(
    scenario: Scenario,
) -> None:
    await synced(scenario)
    scenario.set_people(LYCEE, [])
    outcome = await scenario.sync(simulate=True)
    assert outcome.tenants[LYCEE].reason.startswith("safety stop")
    run = scenario.runs[-1]
    (stored,) = scenario.registry.stored_plans(run)
    assert stored.blocked is not None
    assert stored.blocked.rule == "empty-source"
    assert stored.operations == ()
    assert stored.withheld

    refused = await apply(scenario, run)

    assert "stopped on a safety rule" in refused.tenants[LYCEE].reason


async def test_a_cohort_renamed_by_hand_and_an_account_that_appeared_are_drift(
    scenario: Scenario,
) -> None:
    people = await synced(scenario)
    cohort = Cohort(f"farm:{LYCEE}:student", "Élèves renommés")
    newcomer = person("L0099")
    everyone = [*people, newcomer]
    scenario.source.set(
        TenantSnapshot(
            LYCEE,
            people=tuple(everyone),
            cohorts=(cohort,),
            cohort_members=tuple(CohortMembership(cohort.idnumber, p.key) for p in everyone),
        )
    )
    run = await simulate(scenario)
    held = scenario.site.cohort_by_idnumber(cohort.idnumber)
    assert held is not None
    held.name = "Renamed by hand"
    taken = scenario.site.new_id()
    scenario.site.users[taken] = UserRow(taken, "l0099", "Hand", "Made", "hand@example.org")

    outcome = await apply(scenario, run)

    reason = outcome.tenants[LYCEE].reason
    assert (
        f"cohort farm:{LYCEE}:student: moodle: name is 'Renamed by hand', "
        f"the plan expected 'Élèves {LYCEE}'"
    ) in reason
    assert (
        f"person sdet:L0099 (l0099): moodle: an account with username 'l0099' is there now "
        f"(id {taken})"
    ) in reason


async def test_replan_drifted_plans_again_only_what_drifted_then_applies_clean(
    scenario: Scenario,
) -> None:
    people = await synced(scenario)
    scenario.set_people(LYCEE, renamed(people, "L0002", "L0003"))
    run = await simulate(scenario)
    account = scenario.site.user_by_username("l0003")
    assert account is not None
    account.lastname = "Saisi-à-la-main"
    writes = scenario.writes()

    replanned = await apply(scenario, run, replan_drifted=True, simulate=True)

    assert replanned.tenants[LYCEE].phase is Phase.SUCCEEDED, replanned.tenants[LYCEE].reason
    assert scenario.writes() == writes
    new_run = scenario.runs[-1]
    (old,) = scenario.registry.stored_plans(run)
    (new,) = scenario.registry.stored_plans(new_run)
    assert old.applied_by is None
    assert new.replanned_from == run
    assert [(d.key, d.field) for d in new.drift] == [("sdet:L0003", "lastname")]
    assert new.notes[0].startswith("re-planned after drift: person sdet:L0003 (l0003): moodle")
    two = next(op for op in new.operations if op.key == "sdet:L0002")
    assert two == next(op for op in old.operations if op.key == "sdet:L0002")
    three = next(op for op in new.operations if op.key == "sdet:L0003")
    assert dict(three.changes) == {"lastname": ("Saisi-à-la-main", "RENOMMÉ")}

    applied = await apply(scenario, new_run)

    assert applied.tenants[LYCEE].phase is Phase.SUCCEEDED, applied.tenants[LYCEE].reason
    assert scenario.site.user_by_username("l0003").lastname == "RENOMMÉ"  # type: ignore[union-attr]
    calls = Counter(scenario.site.calls)
    await scenario.sync()
    assert calls_since(scenario, calls) == WRITES_OF_A_RERUN
