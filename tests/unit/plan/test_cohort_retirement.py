"""Cohorts every tenant dropped: emptied and kept (``cohort_removal = keep``), or deleted.

Deleting a cohort loses what Moodle attached to its id (cohort enrolments):
when the source brings it back it is a new cohort. Under ``keep`` (the
default) its members go, the cohort and its index entry stay, and its
return re-indexes it with the same Moodle id.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from farm.index import SiteIndex
from farm.model import Cohort, CohortMembership, Entity, Kind, Person
from farm.operation import Action, Category
from farm.options import CohortRemovalPolicy, PlanOptions, RemovalPolicy
from farm.plan import Plan

from .factory import PREFIX, actions, apply, person, plan, synced, tenant

A, B = "0290009C", "0290010D"
CLASS = Cohort(f"{PREFIX}{A}_2NDE1", "2nde 1")
OTHER = Cohort(f"{PREFIX}{A}_2NDE2", "2nde 2")
NOTE = "cohort emptied (kept: cohort_removal = keep)"


def members_of(cohort: Cohort, people: list[Person]) -> list[CohortMembership]:
    return [CohortMembership(cohort.key, p.source_key) for p in people]


def with_class(people: list[Person]) -> tuple[SiteIndex, list[CohortMembership]]:
    members = members_of(CLASS, people)
    return synced(tenant(A, people, cohorts=[CLASS], members=members)), members


def cohort_id(index: SiteIndex, cohort: Cohort = CLASS) -> int | None:
    entry = index.get(Kind.COHORT, cohort.key)
    return None if entry is None else entry.moodle_id


def emptied_notes(result: Plan) -> list[str]:
    return [note for note in result.notes if note.startswith(NOTE)]


def test_a_cohort_gone_from_the_source_is_emptied_not_deleted_by_default() -> None:
    people = [person(1), person(2)]
    index, _ = with_class(people)

    result = plan(index, tenant(A, people))

    assert actions(result) == [
        (Kind.COHORT_MEMBER, "remove", f"{CLASS.key}|sdet:1"),
        (Kind.COHORT_MEMBER, "remove", f"{CLASS.key}|sdet:2"),
        (Kind.COHORT, "reindex", CLASS.key),
    ]
    kept = result.operations[-1]
    assert (kept.category, kept.tenants) == (Category.REMOVE, frozenset())
    assert emptied_notes(result) == [f"{NOTE}: {CLASS.key} (2 member(s) removed)"]
    assert f"note: {NOTE}: {CLASS.key} (2 member(s) removed)" in result.report_lines()


def test_the_index_remembers_an_emptied_cohort_and_a_rerun_writes_nothing() -> None:
    people = [person(1), person(2)]
    index, _ = with_class(people)
    old_id = cohort_id(index)

    after = apply(index, plan(index, tenant(A, people)))

    entry = after.get(Kind.COHORT, CLASS.key)
    assert entry is not None
    assert (entry.moodle_id, entry.tenants) == (old_id, frozenset())
    assert after.of(Kind.COHORT_MEMBER) == {}
    rerun = plan(after, tenant(A, people))
    assert rerun.operations == ()
    assert emptied_notes(rerun) == []


def test_a_returning_cohort_keeps_its_moodle_id_and_gets_its_members_back() -> None:
    people = [person(1), person(2)]
    index, members = with_class(people)
    old_id = cohort_id(index)
    emptied = apply(index, plan(index, tenant(A, people)))
    back = tenant(A, people, cohorts=[CLASS], members=members)

    result = plan(emptied, back)

    assert (Kind.COHORT, "create", CLASS.key) not in actions(result)
    assert actions(result) == [
        (Kind.COHORT_MEMBER, "add", f"{CLASS.key}|sdet:1"),
        (Kind.COHORT_MEMBER, "add", f"{CLASS.key}|sdet:2"),
        (Kind.COHORT, "reindex", CLASS.key),
    ]
    assert result.operations[-1].tenants == {A}
    assert result.operations[-1].category is Category.UPDATE
    after = apply(emptied, result)
    assert cohort_id(after) == old_id
    assert set(after.of(Kind.COHORT_MEMBER)) == {m.key for m in members}
    assert plan(after, back).operations == ()


def test_a_cohort_renamed_while_away_is_updated_in_place_on_its_return() -> None:
    people = [person(1)]
    index, members = with_class(people)
    emptied = apply(index, plan(index, tenant(A, people)))
    renamed = replace(CLASS, name="Seconde 1")

    result = plan(emptied, tenant(A, people, cohorts=[renamed], members=members))

    cohort_ops = [op for op in result.operations if op.kind is Kind.COHORT]
    assert [(op.action, op.moodle_id) for op in cohort_ops] == [(Action.UPDATE, cohort_id(index))]
    assert cohort_ops[0].tenants == {A}


def test_under_delete_a_gone_cohort_is_deleted_and_comes_back_as_a_new_one() -> None:
    people = [person(1), person(2)]
    index, members = with_class(people)

    result = plan(index, tenant(A, people), cohort_removal="delete")

    # Moodle drops the members with the cohort: no removal of its own.
    assert actions(result) == [(Kind.COHORT, "delete", CLASS.key)]
    assert emptied_notes(result) == []
    gone = apply(index, result)
    assert gone.get(Kind.COHORT, CLASS.key) is None
    assert gone.of(Kind.COHORT_MEMBER) == {}
    back = plan(gone, tenant(A, people, cohorts=[CLASS], members=members))
    assert (Kind.COHORT, "create", CLASS.key) in actions(back)
    assert cohort_id(apply(gone, back)) != cohort_id(index)


def test_a_cohort_emptied_under_keep_is_not_deleted_when_the_policy_becomes_delete() -> None:
    people = [person(1)]
    index, _ = with_class(people)
    emptied = apply(index, plan(index, tenant(A, people)))

    assert plan(emptied, tenant(A, people), cohort_removal="delete").operations == ()


def test_a_cohort_another_tenant_still_holds_is_neither_emptied_nor_deleted() -> None:
    people = [person(1, tenants=(A, B))]
    members = members_of(CLASS, people)
    index = synced(
        tenant(A, people, cohorts=[CLASS], members=members),
        tenant(B, people, cohorts=[CLASS], members=members),
    )

    result = plan(index, tenant(A, people), tenant(B, people, cohorts=[CLASS], members=members))

    assert [(k, a) for k, a, _ in actions(result)] == [
        (Kind.COHORT, "reindex"),
        (Kind.COHORT_MEMBER, "reindex"),
    ]
    assert all(op.tenants == {B} for op in result.operations)
    assert emptied_notes(result) == []


def test_only_the_gone_cohort_is_emptied_and_the_note_names_each() -> None:
    people = [person(1), person(2), person(3)]
    both = [*members_of(CLASS, people[:2]), *members_of(OTHER, people[2:])]
    index = synced(tenant(A, people, cohorts=[CLASS, OTHER], members=both))

    result = plan(index, tenant(A, people))

    assert emptied_notes(result) == [
        f"{NOTE}: {CLASS.key} (2 member(s) removed)",
        f"{NOTE}: {OTHER.key} (1 member(s) removed)",
    ]
    assert not any(op.action is Action.DELETE for op in result.operations)


def test_a_leaving_persons_membership_follows_them_and_everything_returns_as_it_was() -> None:
    """The issue's case: the directory lost everyone (--allow-mass-removal), then came back."""
    people = [person(n) for n in range(1, 8)]
    index, members = with_class(people)
    full = tenant(A, people, cohorts=[CLASS], members=members)

    result = plan(index, tenant(A), allow_mass_removal=True)

    # Suspended people keep their memberships (links follow their person); the cohort stays.
    assert {(k, a) for k, a, _ in actions(result)} == {
        (Kind.PERSON, "suspend"),
        (Kind.COHORT, "reindex"),
    }
    assert emptied_notes(result) == [f"{NOTE}: {CLASS.key} (0 member(s) removed)"]
    emptied = apply(index, result)
    back = plan(emptied, full)
    assert {(k, a) for k, a, _ in actions(back)} == {
        (Kind.PERSON, "revive"),
        (Kind.COHORT, "reindex"),
    }
    after = apply(emptied, back)
    assert cohort_id(after) == cohort_id(index)
    assert plan(after, full).operations == ()


def test_emptying_a_cohort_takes_nobody_off_the_site_for_the_mass_removal_rule() -> None:
    people = [person(n) for n in range(1, 41)]
    index, _ = with_class(people)

    result = plan(index, tenant(A, people))

    assert result.blocked is None
    assert len([op for op in result.operations if op.action is Action.REMOVE]) == 40


def test_an_empty_source_still_stops_a_run_that_would_only_empty_cohorts() -> None:
    people = [person(n) for n in range(1, 4)]
    index, _ = with_class(people)

    result = plan(index, tenant(A), entities=frozenset({Entity.COHORTS}))

    assert result.blocked is not None
    assert result.blocked.rule == "empty-source"
    assert result.operations == ()
    assert set(result.counts()) == {(Kind.COHORT, Action.REINDEX)}
    # Nothing was emptied: the report does not say it was.
    assert emptied_notes(result) == []


def test_a_person_run_never_empties_a_cohort() -> None:
    people = [person(1), person(2)]
    index, _ = with_class(people)

    result = plan(index, tenant(A, people[:1], complete=False), person="sdet:1")

    assert not any(op.kind is Kind.COHORT for op in result.operations)


def test_create_only_empties_nothing() -> None:
    people = [person(1)]
    index, _ = with_class(people)

    assert plan(index, tenant(A, people), mode="create-only").operations == ()


def test_policies_given_as_strings_are_read_as_policies() -> None:
    given = PlanOptions(cohort_removal="keep", removal="keep")  # type: ignore[arg-type]
    assert given.cohort_removal is CohortRemovalPolicy.KEEP
    assert given.removal is RemovalPolicy.KEEP
    assert PlanOptions().cohort_removal is CohortRemovalPolicy.KEEP
    with pytest.raises(ValueError, match="suspend"):
        PlanOptions(cohort_removal="suspend")  # type: ignore[arg-type]
