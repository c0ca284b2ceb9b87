"""A cohort the source drops, then brings back, on the simulated Moodle (issue 12).

Under ``cohort_retirement = "empty"`` (what ``cohort_removal = "keep"``
was) the cohort is emptied, not deleted: its Moodle id survives, with
whatever Moodle attached to it (cohort enrolments), and its members come
back with the source. Under ``delete``
the cohort goes and comes back as a new one, with a new id.
"""

from __future__ import annotations

from typing import Any

from farm.engine.events import Phase
from farm.model import Cohort, CohortMembership, Person, TenantSnapshot
from farm.simulators.moodle import CohortRow
from tests.integration.engine.conftest import COLLEGE, LYCEE, Scenario, person

COHORT = f"farm:{LYCEE}:student"
NOTE = "cohort emptied (kept: cohort_retirement = empty)"


def students(n: int) -> list[Person]:
    return [person(f"L{i:04d}") for i in range(1, n + 1)]


def without_cohorts(people: list[Person]) -> TenantSnapshot:
    """The same people, no longer in any cohort (the class went from the directory)."""
    return TenantSnapshot(tenant=LYCEE, people=tuple(people))


def cohort(scenario: Scenario) -> CohortRow | None:
    return scenario.site.cohort_by_idnumber(COHORT)


def members(scenario: Scenario) -> set[str]:
    found = cohort(scenario)
    assert found is not None
    return {scenario.site.users[u].idnumber for u in found.members}


def notes(scenario: Scenario) -> list[str]:
    report = scenario.registry.get_report(scenario.runs[-1], LYCEE)
    return [w.message for t in report.tenants for w in t.warnings]


async def sync_ok(scenario: Scenario, **options: Any) -> None:
    options.setdefault("cohort_retirement", "empty")
    outcome = await scenario.sync(**options)
    assert {t.phase for t in outcome.tenants.values()} == {Phase.SUCCEEDED}, outcome


async def test_a_cohort_gone_then_back_keeps_its_moodle_id_and_gets_its_members_back(
    scenario: Scenario,
) -> None:
    people = students(6)
    scenario.set_people(LYCEE, people)
    await sync_ok(scenario)
    first = cohort(scenario)
    assert first is not None
    assert members(scenario) == {p.idnumber for p in people}

    scenario.source.set(without_cohorts(people))
    # All 6 memberships of the site go: a mass removal the safety checks stop otherwise.
    await sync_ok(scenario, allow_mass_removal=True)

    emptied = cohort(scenario)
    assert emptied is not None
    assert emptied.id == first.id
    assert emptied.members == set()
    entry = scenario.index("cohort")[COHORT]
    assert (entry.moodle_id, tuple(entry.tenants)) == (first.id, ())
    assert scenario.index("cohort_member") == {}
    assert f"{NOTE}: {COHORT} (6 member(s) removed)" in notes(scenario)

    scenario.set_people(LYCEE, people)
    created = scenario.site.calls["core_cohort_create_cohorts"]
    await sync_ok(scenario)

    assert scenario.site.calls["core_cohort_create_cohorts"] == created
    back = cohort(scenario)
    assert back is not None
    assert back.id == first.id
    assert members(scenario) == {p.idnumber for p in people}
    assert scenario.index("cohort")[COHORT].tenants == (LYCEE,)
    before = scenario.writes()
    await sync_ok(scenario)
    assert scenario.writes() == before


async def test_the_directory_emptied_and_restored_under_allow_mass_removal(
    scenario: Scenario,
) -> None:
    """The issue's report: the cohort must not be deleted and recreated with a new id."""
    people = students(8)
    scenario.set_people(LYCEE, people)
    await sync_ok(scenario)
    first = cohort(scenario)
    assert first is not None

    scenario.set_people(LYCEE, [])
    await sync_ok(scenario, allow_mass_removal=True)

    kept = cohort(scenario)
    assert kept is not None
    assert kept.id == first.id
    assert all(u.suspended for u in scenario.accounts().values())

    scenario.set_people(LYCEE, people)
    await sync_ok(scenario)

    back = cohort(scenario)
    assert back is not None
    assert back.id == first.id
    assert members(scenario) == {p.idnumber for p in people}
    assert not any(u.suspended for u in scenario.accounts().values())


async def test_under_delete_the_cohort_is_deleted_and_comes_back_as_a_new_one(
    scenario: Scenario,
) -> None:
    people = students(5)
    scenario.set_people(LYCEE, people)
    await sync_ok(scenario)
    first = cohort(scenario)
    assert first is not None

    scenario.source.set(without_cohorts(people))
    await sync_ok(scenario, cohort_retirement="delete")

    assert cohort(scenario) is None
    assert COHORT not in scenario.index("cohort")
    assert scenario.index("cohort_member") == {}
    assert not any(note.startswith(NOTE) for note in notes(scenario))

    scenario.set_people(LYCEE, people)
    await sync_ok(scenario, cohort_retirement="delete")

    back = cohort(scenario)
    assert back is not None
    assert back.id != first.id
    assert members(scenario) == {p.idnumber for p in people}


async def test_a_cohort_of_both_schools_stays_whole_when_one_school_drops_it(
    scenario: Scenario,
) -> None:
    teacher = person("T0001", LYCEE, establishments=frozenset({LYCEE, COLLEGE}))
    shared = "farm:shared:teachers"

    def school(tenant: str, listed: bool) -> TenantSnapshot:
        return TenantSnapshot(
            tenant=tenant,
            people=(teacher,),
            cohorts=(Cohort(shared, "Enseignants"),) if listed else (),
            cohort_members=(CohortMembership(shared, teacher.source_key),) if listed else (),
        )

    scenario.source.set(school(LYCEE, True))
    scenario.source.set(school(COLLEGE, True))
    await sync_ok(scenario)
    first = scenario.site.cohort_by_idnumber(shared)
    assert first is not None

    scenario.source.set(school(LYCEE, False))
    await sync_ok(scenario)

    still = scenario.site.cohort_by_idnumber(shared)
    assert still is not None
    assert still.id == first.id
    assert {scenario.site.users[u].idnumber for u in still.members} == {"T0001"}
    assert scenario.index("cohort")[shared].tenants == (COLLEGE,)
    assert not any(note.startswith(NOTE) for note in notes(scenario))
