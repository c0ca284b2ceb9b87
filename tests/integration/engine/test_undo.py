"""``farm undo``: a bad night taken back from its journal, on the Moodle simulator (issue 18).

Each night is a real run through the coordinator (leases, jobs, reports,
journal) on the simulated site and the registry (SQLite, and PostgreSQL
where ``any_scenario`` says so). The undo is simulated, stored as a plan,
then applied as ``farm apply`` applies one, drift checks included; the
simulator's state before the night and after the undo are compared record
by record: every account's fields and suspension, every cohort (by
idnumber: a cohort created again has a new Moodle id) and its members.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio
import pytest

from farm.engine.apply_request import apply_run
from farm.engine.coordinator import Coordinator, RunResult, SyncRequest
from farm.engine.undo_request import UndoOutcome, UndoRefused, simulate_undo, undo_run
from farm.engine.wiring import Sources, client_provider
from farm.model import Cohort, CohortMembership, Kind, Person, TenantSnapshot
from farm.operation import Action
from farm.options import CohortRetirementPolicy, RunOptions
from farm.registry import RunStatus
from farm.undo import CreatedPolicy
from tests.integration.engine.conftest import COLLEGE, LYCEE, SITE, Scenario, person

#: What a sync with nothing to do calls on the site: the site check only.
NOTHING_WRITTEN = {"core_webservice_get_site_info": 1}


def cohort(code: str) -> Cohort:
    return Cohort(f"farm:{LYCEE}:{code}", f"Classe {code}", f"Élèves de {code}")


def people(*numbers: int, tenant: str = LYCEE, **changes: Any) -> list[Person]:
    prefix = "L" if tenant == LYCEE else "C"
    return [person(f"{prefix}{n:04d}", tenant, **changes) for n in numbers]


def lycee(everyone: Sequence[Person], classes: Mapping[str, Iterable[int]]) -> TenantSnapshot:
    """The lycée's read: its people, and one cohort per class with its members."""
    return TenantSnapshot(
        LYCEE,
        people=tuple(everyone),
        cohorts=tuple(cohort(code) for code in classes),
        cohort_members=tuple(
            CohortMembership(cohort(code).idnumber, f"sdet:L{n:04d}")
            for code, numbers in classes.items()
            for n in numbers
        ),
    )


def world(scenario: Scenario) -> dict[str, Any]:
    """The simulated site, record by record: accounts by login, cohorts by idnumber."""
    users = {
        u.username: (u.idnumber, u.firstname, u.lastname, u.email, u.auth, u.suspended)
        for u in scenario.site.live_users()
        if u.username != "admin"
    }
    by_id = {u.id: u.username for u in scenario.site.live_users()}
    cohorts = {
        c.idnumber: (c.name, c.description, frozenset(by_id[m] for m in c.members))
        for c in scenario.site.cohorts.values()
    }
    return {"users": users, "cohorts": cohorts}


@dataclass
class Farm:
    """The scenario's farm, run through a coordinator as ``farm sync`` runs it."""

    scenario: Scenario
    coordinator: Coordinator

    async def sync(self, **options: Any) -> RunResult:
        options.setdefault("cohort_retirement", CohortRetirementPolicy.DELETE.value)
        request = SyncRequest(
            tenants=tuple(self.scenario.farm.tenants[t] for t in (LYCEE, COLLEGE)),
            options=RunOptions.from_mapping(options),
        )
        result = await self.coordinator.run(request)
        assert result.status is RunStatus.SUCCEEDED, result
        return result

    def calls(self) -> Counter[str]:
        return Counter(self.scenario.site.calls)

    def since(self, before: Counter[str]) -> dict[str, int]:
        now = self.scenario.site.calls
        return {k: n - before.get(k, 0) for k, n in now.items() if n != before.get(k)}


def applied(outcome: UndoOutcome) -> RunResult:
    """The run that applied an undo, which must have succeeded."""
    assert outcome.applied is not None, outcome.simulation
    assert outcome.applied.succeeded, outcome.applied
    return outcome.applied


def farm_of(scenario: Scenario) -> Farm:
    coordinator = Coordinator(
        farm=scenario.farm,
        registry=scenario.registry,
        events=scenario.events,
        sources=Sources(scenario.farm, {"ent": scenario.source}),
        clients=client_provider(transport=scenario.sim.transport()),
    )
    return Farm(scenario, coordinator)


BEFORE = {"a": (1, 2, 3, 4, 5), "b": (6, 7, 8), "gone": (9, 10)}
#: The night: 4 moved from a to b, 10 left (suspended), cohort gone deleted.
NIGHT = {"a": (1, 2, 3, 5), "b": (4, 6, 7, 8)}


async def a_bad_night(farm: Farm, *, newcomers: Sequence[int] = ()) -> tuple[dict[str, Any], int]:
    """Sync the site as it was, then the bad night; the site before the night, and its run."""
    scenario = farm.scenario
    scenario.source.set(lycee(people(*range(1, 11)), BEFORE))
    scenario.set_people(COLLEGE, people(1, 2, 3, tenant=COLLEGE))
    await farm.sync()
    before = world(scenario)
    staying = [
        replace(p, lastname="RENOMMÉ")
        if p.idnumber == "L0002"
        else replace(p, email="nouvelle@example.org")
        if p.idnumber == "L0003"
        else p
        for p in people(*range(1, 10), *newcomers)
    ]
    classes = {
        code: (*numbers, *newcomers) if code == "a" else numbers for code, numbers in NIGHT.items()
    }
    scenario.source.set(lycee(staying, classes))
    night = await farm.sync()
    return before, night.run_id


async def test_the_undo_of_a_bad_night_restores_the_site_exactly_then_the_night_converges(
    any_scenario: Scenario,
) -> None:
    farm = farm_of(any_scenario)
    before, night = await a_bad_night(farm)
    after_night = world(any_scenario)
    assert after_night["users"]["l0002"][2] == "RENOMMÉ"
    assert after_night["users"]["l0010"][5] is True
    assert f"farm:{LYCEE}:gone" not in after_night["cohorts"]
    assert "l0004" in after_night["cohorts"][f"farm:{LYCEE}:b"][2]
    calls = farm.calls()

    simulated = await undo_run(farm.coordinator, night)

    assert farm.since(calls) == {}  # a simulation writes nothing, reads nothing
    assert simulated.applied is None
    simulation = simulated.simulation
    assert simulation.result.status is RunStatus.SUCCEEDED
    assert simulation.left_alone == {SITE: ()}
    (plan,) = simulation.plans
    assert (plan.run_id, plan.site, plan.tenants) == (simulation.run_id, SITE, (LYCEE, COLLEGE))
    steps = Counter((op.kind, op.action) for op in plan.operations)
    assert steps == {
        (Kind.PERSON, Action.UPDATE): 2,  # the surname and the e-mail back
        (Kind.PERSON, Action.REVIVE): 1,
        (Kind.COHORT, Action.CREATE): 1,
        (Kind.COHORT_MEMBER, Action.ADD): 3,  # 4 back in a, 9 and 10 back in gone
        (Kind.COHORT_MEMBER, Action.REMOVE): 1,  # 4 out of b
    }
    rename = next(op for op in plan.operations if op.key == "sdet:L0002")
    assert dict(rename.changes) == {"lastname": ("RENOMMÉ", "NOML0002")}
    assert any_scenario.registry.get_run(simulation.run_id).options == {
        "simulate": True,
        "undo_of": night,
    }

    applied = await apply_run(farm.coordinator, simulation.run_id)

    assert applied.status is RunStatus.SUCCEEDED, applied
    assert world(any_scenario) == before
    assert any_scenario.registry.get_run(applied.run_id).options["undo_of"] == night
    journal = {(e.entity, e.action) for e in any_scenario.registry.journal(applied.run_id)}
    assert ("cohort", "create") in journal

    # The source still says what the night said: the next sync does it again, then nothing.
    await farm.sync()
    assert world(any_scenario) == after_night
    calls = farm.calls()
    await farm.sync()
    assert farm.since(calls) == NOTHING_WRITTEN


async def test_the_undo_of_the_undo_gives_the_night_back(scenario: Scenario) -> None:
    farm = farm_of(scenario)
    _, night = await a_bad_night(farm)
    after_night = world(scenario)
    undone = applied(await undo_run(farm.coordinator, night, apply=True))

    redone = await undo_run(farm.coordinator, undone.run_id, apply=True)

    applied(redone)
    assert redone.simulation.left_alone == {SITE: ()}
    assert world(scenario) == after_night
    # The night's records were changed again since: undoing it again takes nothing back.
    again = await undo_run(farm.coordinator, night)
    assert again.simulation.operations == 0
    left = again.simulation.left_alone[SITE]
    assert {item.key for item in left} >= {"sdet:L0002", "sdet:L0010", f"farm:{LYCEE}:gone"}
    assert all(item.later for item in left)


async def test_created_accounts_are_suspended_or_deleted_as_asked(scenario: Scenario) -> None:
    farm = farm_of(scenario)
    before, night = await a_bad_night(farm, newcomers=(11,))
    assert "l0011" in world(scenario)["users"]

    applied(await undo_run(farm.coordinator, night, apply=True))

    after_undo = world(scenario)
    users = dict(after_undo["users"])
    assert users.pop("l0011")[5] is True  # suspended, the rest as before the night
    assert {**after_undo, "users": users} == before

    # Another night: 11 back (revived), 12 new (created), 3 gone (suspended).
    scenario.source.set(
        lycee(
            [*people(1, *range(4, 10), 11, 12), *people(2, lastname="RENOMMÉ")],
            {"a": (1, 5, 11, 12), "b": (4, 6, 7, 8)},
        )
    )
    again = await farm.sync()
    assert world(scenario)["users"]["l0012"][5] is False

    applied(
        await undo_run(farm.coordinator, again.run_id, apply=True, created=CreatedPolicy.DELETE)
    )

    assert "l0012" not in world(scenario)["users"]  # deleted: no live account left
    assert world(scenario) == after_undo


async def test_a_record_a_later_run_changed_is_left_alone_unless_listed(
    scenario: Scenario,
) -> None:
    farm = farm_of(scenario)
    _, night = await a_bad_night(farm)
    # A later run renames 2 again; 3 keeps the night's e-mail.
    everyone = [
        replace(p, lastname="ENCORE")
        if p.idnumber == "L0002"
        else replace(p, email="nouvelle@example.org")
        if p.idnumber == "L0003"
        else p
        for p in people(*range(1, 10))
    ]
    scenario.source.set(lycee(everyone, NIGHT))
    later = (await farm.sync()).run_id

    undone = await undo_run(farm.coordinator, night, apply=True)

    (left,) = undone.simulation.left_alone[SITE]
    assert (left.key, left.later, left.includable) == ("sdet:L0002", (later,), True)
    assert str(left) == (
        f"person sdet:L0002 (l0002): changed again by run {later}; "
        "--include sdet:L0002 undoes it anyway"
    )
    report = scenario.registry.get_report(undone.simulation.run_id, LYCEE).tenants[0]
    assert any(w.key == "sdet:L0002" and "changed again" in w.message for w in report.warnings)
    assert scenario.site.user_by_username("l0002").lastname == "ENCORE"  # type: ignore[union-attr]
    assert scenario.site.user_by_username("l0003").email == "l0003@example.org"  # type: ignore[union-attr]

    with pytest.raises(UndoRefused, match=r"--include sdet:NOBODY: run \d+ did not change it"):
        await undo_run(farm.coordinator, night, include={"sdet:NOBODY"})
    applied(await undo_run(farm.coordinator, night, include={"sdet:L0002"}, apply=True))
    # Back to what it was before the night, the later run's surname overwritten as asked.
    assert scenario.site.user_by_username("l0002").lastname == "NOML0002"  # type: ignore[union-attr]


async def test_a_hand_edit_between_the_simulation_and_the_apply_is_drift(
    scenario: Scenario,
) -> None:
    farm = farm_of(scenario)
    _, night = await a_bad_night(farm)
    simulated = await undo_run(farm.coordinator, night)
    account = scenario.site.user_by_username("l0002")
    assert account is not None
    account.lastname = "Saisi-à-la-main"
    writes = scenario.writes()

    applied = await apply_run(farm.coordinator, simulated.simulation.run_id)

    assert applied.status is RunStatus.FAILED
    assert scenario.writes() == writes
    reason = applied.tenants[LYCEE].reason
    assert "person sdet:L0002 (l0002): moodle: lastname is 'Saisi-à-la-main'" in reason


async def test_what_cannot_be_undone_is_refused_before_any_run(scenario: Scenario) -> None:
    farm = farm_of(scenario)
    await a_bad_night(farm)
    runs = len(scenario.registry.list_runs(limit=100))
    simulated = (await farm.sync(simulate=True)).run_id

    with pytest.raises(UndoRefused, match=f"run {simulated} was a simulation"):
        await anyio.to_thread.run_sync(
            lambda: simulate_undo(scenario.farm, scenario.registry, simulated)
        )
    with pytest.raises(UndoRefused, match="there is no run 999"):
        await undo_run(farm.coordinator, 999)
    assert len(scenario.registry.list_runs(limit=100)) == runs + 1  # the simulation only
