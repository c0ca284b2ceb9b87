"""Every operator option changes the plan the way the operator expects."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date

import pytest

from farm.index import SiteIndex
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Entity,
    Kind,
    Person,
    Profile,
    TenantSnapshot,
)
from farm.operation import Action
from farm.options import Mode, PlanDefaults, PlanOptions, RemovalPolicy, RunOptions
from farm.plan import Plan

from .factory import PREFIX, actions, apply, options, person, plan, synced, tenant

A = "0290009C"
CLASS = Cohort(f"{PREFIX}2NDE1", "2nde 1")


def site() -> tuple[SiteIndex, list[Person]]:
    """An index of 20 people in a class, and the people as the source now gives them."""
    people = [person(n) for n in range(1, 21)]
    teachers = [person(n, profile=Profile.TEACHER) for n in range(21, 24)]
    index = synced(
        tenant(
            A,
            [*people, *teachers],
            cohorts=[CLASS],
            members=[CohortMembership(CLASS.key, p.source_key) for p in people],
        )
    )
    return index, [*people, *teachers]


def changed(people: list[Person]) -> TenantSnapshot:
    """One new person, one renamed, one gone, one teacher renamed."""
    now = [replace(p, lastname="Renamed") if p.key in ("sdet:2", "sdet:22") else p for p in people]
    now = [p for p in now if p.key != "sdet:3"]
    now.append(person(99))
    return tenant(
        A,
        now,
        cohorts=[CLASS],
        members=[CohortMembership(CLASS.key, p.source_key) for p in now if "2" not in p.key[5:6]],
    )


def kinds_actions(result: Plan) -> set[tuple[Kind, str]]:
    return {(k, a) for k, a, _ in actions(result)}


def test_default_plans_every_kind_of_change() -> None:
    index, people = site()

    result = plan(index, changed(people))

    assert {("sdet:99", "create"), ("sdet:2", "update"), ("sdet:3", "suspend")} <= {
        (key, a) for k, a, key in actions(result) if k is Kind.PERSON
    }


def test_force_rewrites_every_existing_record_with_all_fields() -> None:
    index, people = site()

    result = plan(index, changed(people), force=True)

    updates = [op for op in result.operations if op.action is Action.UPDATE]
    assert len([op for op in updates if op.kind is Kind.PERSON]) == len(people) - 1
    unchanged = next(op for op in updates if op.key == "sdet:1")
    assert set(unchanged.changes) == set(person(1).values())
    assert unchanged.changes["lastname"] == ("Martin1", "Martin1")
    readd = next(op for op in result.operations if op.key == f"{CLASS.key}|sdet:1")
    assert (readd.action, readd.previous is not None) == (Action.ADD, True)


def test_refresh_only_creates_no_account_but_updates_and_removes() -> None:
    index, people = site()

    result = plan(index, changed(people), refresh_only=True)

    assert (Kind.PERSON, "create") not in kinds_actions(result)
    assert {(Kind.PERSON, "update"), (Kind.PERSON, "suspend")} <= kinds_actions(result)
    assert not any(op.key == "sdet:99" for op in result.operations)


@pytest.mark.parametrize(
    ("mode", "allowed"),
    [
        (Mode.CREATE_ONLY, {"create", "add", "enrol", "assign"}),
        (Mode.UPDATE_ONLY, {"update", "revive", "reindex"}),
        (Mode.DELETE_ONLY, {"suspend", "delete", "remove", "unenrol", "unassign", "reindex"}),
    ],
)
def test_modes_keep_only_their_operations(mode: Mode, allowed: set[str]) -> None:
    index, people = site()

    result = plan(index, changed(people), mode=mode)

    assert result.operations
    assert {a for _, a, _ in actions(result)} <= allowed


def test_entity_selection_leaves_other_kinds_alone() -> None:
    index, people = site()

    result = plan(index, changed(people), entities=frozenset({Entity.COHORTS}))

    assert {k for k, _, _ in actions(result)} == {Kind.COHORT_MEMBER}


def test_profile_selection_plans_only_those_people() -> None:
    index, people = site()

    result = plan(index, changed(people), profiles=frozenset({Profile.TEACHER}))

    assert actions(result) == [(Kind.PERSON, "update", "sdet:22")]


@pytest.mark.parametrize("selector", ["sdet:2", "2", "user2", "USER2", "id2", " Id2 "])
def test_single_person_by_source_key_uid_login_or_idnumber_in_any_case(selector: str) -> None:
    index, people = site()

    result = plan(index, changed(people), person=selector)

    assert {key for _, _, key in actions(result) if not key.startswith(CLASS.key)} == {"sdet:2"}
    assert all("sdet:2" in op.key for op in result.operations)


def test_single_person_absent_from_a_complete_read_is_removed_alone() -> None:
    index, people = site()

    result = plan(index, changed(people), person="user3")

    assert actions(result) == [(Kind.PERSON, "suspend", "sdet:3")]


def test_simulation_and_verbose_shape_the_report() -> None:
    index, people = site()

    result = plan(index, changed(people), simulate=True, verbose=True)

    lines = result.report_lines()
    assert result.simulate
    assert all(line.startswith("[SIMULATION]") for line in lines)
    assert "[SIMULATION] update person sdet:2 (user2): lastname" in lines
    assert "[SIMULATION] suspend person sdet:3 (user3): suspended" in lines
    quiet = plan(index, changed(people)).report_lines()
    assert not any(line.startswith("update person") for line in quiet)
    assert any("person create: 1" in line for line in quiet)


def test_adopt_cohorts_takes_unprefixed_cohorts() -> None:
    manual = Cohort("profs", "Professeurs")
    snapshot = tenant(
        A, [person(1)], cohorts=[manual], members=[CohortMembership("profs", "sdet:1")]
    )

    default = plan(SiteIndex(), snapshot)
    adopting = plan(SiteIndex(), snapshot, adopt_cohorts=True)

    assert (Kind.COHORT, "create") not in kinds_actions(default)
    assert {(Kind.COHORT, "create"), (Kind.COHORT_MEMBER, "add")} <= kinds_actions(adopting)


def test_enrolments_are_their_own_entity() -> None:
    index = synced(tenant(A, [person(1)]))
    snapshot = tenant(A, [person(1)], enrolments=[Enrolment("MATH2", "sdet:1")])

    assert actions(plan(index, snapshot, entities=frozenset({Entity.USERS}))) == []
    assert actions(plan(index, snapshot, entities=frozenset({Entity.ENROLMENTS}))) == [
        (Kind.ENROLMENT, "enrol", "MATH2|sdet:1|student")
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mass_removal_threshold": 0}, "mass_removal_threshold"),
        ({"mass_removal_threshold": 1.5}, "mass_removal_threshold"),
        ({"person": "  "}, "person selection is empty"),
        ({"refresh_only": True, "mode": Mode.DELETE_ONLY}, "refresh-only"),
    ],
)
def test_contradictory_options_are_refused(values: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        PlanOptions(**values)


def test_no_entity_is_refused_from_an_operator_and_plans_nothing_for_a_task() -> None:
    with pytest.raises(ValueError, match="no entity selected"):
        RunOptions.from_mapping({"entities": []})
    caches = RunOptions.from_mapping({"entities": [], "task": "caches"})
    assert caches == RunOptions(entities=frozenset(), task="caches")
    assert RunOptions.from_mapping(caches.to_json()) == caches
    index, people = site()
    assert plan(index, changed(people), entities=frozenset()).operations == ()


def test_the_plan_applies_to_the_index_then_plans_nothing_in_every_mode() -> None:
    for mode in Mode:
        index, people = site()
        snapshot = changed(people)
        result = plan(index, snapshot, mode=mode)
        assert plan(apply(index, result), snapshot, mode=mode).operations == (), mode
    assert options().cohort_prefix == PREFIX


def test_run_options_travel_as_json_and_come_back_the_same() -> None:
    given = RunOptions(
        simulate=True,
        entities=frozenset({Entity.USERS, Entity.COHORTS}),
        profiles=frozenset({Profile.TEACHER}),
        person="F1700ivg",
        mode=Mode.UPDATE_ONLY,
        removal=RemovalPolicy.KEEP,
        mass_removal_floor=3,
        delta=True,
        run_date=date(2026, 9, 1),
    )
    sent = given.to_json()
    assert sent["entities"] == ["cohorts", "users"]
    assert sent["run_date"] == "2026-09-01"
    assert "cohort_retirement" not in sent  # left to the site
    assert RunOptions.from_mapping(json.loads(json.dumps(sent))) == given


def test_the_apply_of_a_stored_plan_travels_as_json_too() -> None:
    given = RunOptions(apply_plan_of=42, force_stale=True, replan_drifted=True, verbose=True)
    sent = given.to_json()
    assert sent == {
        "apply_plan_of": 42,
        "force_stale": True,
        "replan_drifted": True,
        "verbose": True,
    }
    assert RunOptions.from_mapping(json.loads(json.dumps(sent))) == given
    assert "apply_plan_of" not in RunOptions().to_json()
    undo = RunOptions(simulate=True, undo_of=41)
    assert undo.to_json() == {"simulate": True, "undo_of": 41}
    assert RunOptions.from_mapping(json.loads(json.dumps(undo.to_json()))) == undo


def test_a_site_default_applies_only_where_the_run_says_nothing() -> None:
    defaults = PlanDefaults(
        removal=RemovalPolicy.DELETE, mass_removal_threshold=0.3, cohort_prefix="ac:"
    )
    plain = RunOptions().resolve(defaults)
    assert (plain.removal, plain.mass_removal_threshold, plain.cohort_prefix) == (
        RemovalPolicy.DELETE,
        0.3,
        "ac:",
    )
    assert plain.entities == frozenset(Entity)
    chosen = RunOptions(removal=RemovalPolicy.KEEP, mass_removal_threshold=0.5).resolve(defaults)
    assert (chosen.removal, chosen.mass_removal_threshold) == (RemovalPolicy.KEEP, 0.5)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"simulat": True}, "unknown option 'simulat'"),
        ({"cohort_prefix": "x:"}, "unknown option 'cohort_prefix'"),
        ({"simulate": "yes"}, "option 'simulate' must be true or false"),
        ({"entities": "users,people"}, "bad option value: 'people'"),
        ({"run_date": "01/09/2026"}, "option 'run_date' must be a YYYY-MM-DD date"),
        ({"mass_removal_floor": "3"}, "option 'mass_removal_floor' must be a number"),
        ({"apply_plan_of": "12"}, "option 'apply_plan_of' must be a run id, got '12'"),
        ({"apply_plan_of": 0}, "option 'apply_plan_of' must be a run id"),
        ({"force_stale": 1}, "option 'force_stale' must be true or false"),
        ({"undo_of": True}, "option 'undo_of' must be a run id, got True"),
    ],
)
def test_a_bad_run_option_is_named(given: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RunOptions.from_mapping(given)
