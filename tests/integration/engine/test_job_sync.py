"""One site synced end to end: first run, no-change rerun, rename, removal, return."""

from __future__ import annotations

from dataclasses import replace

from farm.engine.events import EventKind, Phase
from tests.integration.engine.conftest import COLLEGE, LYCEE, Scenario, person


def students(n: int, tenant: str = LYCEE, start: int = 1) -> list:
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
