"""Cohorts no tenant reads any more, under each ``cohort_retirement`` policy.

``keep`` (the default) and ``archive`` release the cohort: its members stay
in Moodle, the index forgets its tenants and theirs, and a rerun writes
nothing; ``archive`` also renames it and hides it. ``empty`` removes its
members and keeps the cohort, so that its return re-indexes it with the same
Moodle id. Deleting a cohort (``delete``) loses what Moodle attached to its
id (cohort enrolments): when the source brings it back it is a new cohort.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from farm.index import SiteIndex
from farm.model import Cohort, CohortMembership, Entity, Kind, Person
from farm.operation import Action, Category
from farm.options import CohortRetirementPolicy, PlanOptions, RemovalPolicy, RunOptions
from farm.plan import Plan

from .factory import PREFIX, actions, apply, person, plan, synced, tenant

A, B = "0290009C", "0290010D"
CLASS = Cohort(f"{PREFIX}{A}_2NDE1", "2nde 1")
OTHER = Cohort(f"{PREFIX}{A}_2NDE2", "2nde 2")
NOTE = "cohort emptied (kept: cohort_retirement = empty)"


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


def test_under_empty_a_cohort_gone_from_the_source_is_emptied_not_deleted() -> None:
    people = [person(1), person(2)]
    index, _ = with_class(people)

    result = plan(index, tenant(A, people), cohort_retirement="empty")

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

    after = apply(index, plan(index, tenant(A, people), cohort_retirement="empty"))

    entry = after.get(Kind.COHORT, CLASS.key)
    assert entry is not None
    assert (entry.moodle_id, entry.tenants) == (old_id, frozenset())
    assert after.of(Kind.COHORT_MEMBER) == {}
    rerun = plan(after, tenant(A, people), cohort_retirement="empty")
    assert rerun.operations == ()
    assert emptied_notes(rerun) == []


def test_a_returning_cohort_keeps_its_moodle_id_and_gets_its_members_back() -> None:
    people = [person(1), person(2)]
    index, members = with_class(people)
    old_id = cohort_id(index)
    emptied = apply(index, plan(index, tenant(A, people), cohort_retirement="empty"))
    back = tenant(A, people, cohorts=[CLASS], members=members)

    result = plan(emptied, back, cohort_retirement="empty")

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
    assert plan(after, back, cohort_retirement="empty").operations == ()


def test_a_cohort_renamed_while_away_is_updated_in_place_on_its_return() -> None:
    people = [person(1)]
    index, members = with_class(people)
    emptied = apply(index, plan(index, tenant(A, people), cohort_retirement="empty"))
    renamed = replace(CLASS, name="Seconde 1")

    result = plan(
        emptied, tenant(A, people, cohorts=[renamed], members=members), cohort_retirement="empty"
    )

    cohort_ops = [op for op in result.operations if op.kind is Kind.COHORT]
    assert [(op.action, op.moodle_id) for op in cohort_ops] == [(Action.UPDATE, cohort_id(index))]
    assert cohort_ops[0].tenants == {A}


def test_under_delete_a_gone_cohort_is_deleted_and_comes_back_as_a_new_one() -> None:
    people = [person(1), person(2)]
    index, members = with_class(people)

    result = plan(index, tenant(A, people), cohort_retirement="delete")

    # Moodle drops the members with the cohort: no removal of its own.
    assert actions(result) == [(Kind.COHORT, "delete", CLASS.key)]
    assert emptied_notes(result) == []
    gone = apply(index, result)
    assert gone.get(Kind.COHORT, CLASS.key) is None
    assert gone.of(Kind.COHORT_MEMBER) == {}
    back = plan(
        gone, tenant(A, people, cohorts=[CLASS], members=members), cohort_retirement="empty"
    )
    assert (Kind.COHORT, "create", CLASS.key) in actions(back)
    assert cohort_id(apply(gone, back)) != cohort_id(index)


def test_a_cohort_emptied_under_empty_is_not_deleted_when_the_policy_becomes_delete() -> None:
    people = [person(1)]
    index, _ = with_class(people)
    emptied = apply(index, plan(index, tenant(A, people), cohort_retirement="empty"))

    assert plan(emptied, tenant(A, people), cohort_retirement="delete").operations == ()


def test_a_cohort_another_tenant_still_holds_is_neither_emptied_nor_deleted() -> None:
    people = [person(1, tenants=(A, B))]
    members = members_of(CLASS, people)
    index = synced(
        tenant(A, people, cohorts=[CLASS], members=members),
        tenant(B, people, cohorts=[CLASS], members=members),
    )

    result = plan(
        index,
        tenant(A, people),
        tenant(B, people, cohorts=[CLASS], members=members),
        cohort_retirement="empty",
    )

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

    result = plan(index, tenant(A, people), cohort_retirement="empty")

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

    result = plan(index, tenant(A), allow_mass_removal=True, cohort_retirement="empty")

    # Suspended people keep their memberships (links follow their person); the cohort stays.
    assert {(k, a) for k, a, _ in actions(result)} == {
        (Kind.PERSON, "suspend"),
        (Kind.COHORT, "reindex"),
    }
    assert emptied_notes(result) == [f"{NOTE}: {CLASS.key} (0 member(s) removed)"]
    emptied = apply(index, result)
    back = plan(emptied, full, cohort_retirement="empty")
    assert {(k, a) for k, a, _ in actions(back)} == {
        (Kind.PERSON, "revive"),
        (Kind.COHORT, "reindex"),
    }
    after = apply(emptied, back)
    assert cohort_id(after) == cohort_id(index)
    assert plan(after, full, cohort_retirement="empty").operations == ()


def test_emptying_a_cohort_takes_nobody_off_the_site_but_its_memberships_count() -> None:
    people = [person(n) for n in range(1, 41)]
    index, _ = with_class(people)

    result = plan(index, tenant(A, people), cohort_retirement="empty")

    # Nobody leaves the site: the people rule passes; 40 of 40 memberships go: that one stops.
    assert result.blocked is not None
    assert (result.blocked.rule, result.blocked.removals) == ("mass-removal-cohort_member", 40)
    allowed = plan(index, tenant(A, people), cohort_retirement="empty", allow_mass_removal=True)
    assert len([op for op in allowed.operations if op.action is Action.REMOVE]) == 40


def test_releasing_every_cohort_removes_nothing_the_safety_checks_count() -> None:
    people = [person(n) for n in range(1, 41)]
    index, _ = with_class(people)

    for policy in ("keep", "archive"):
        assert plan(index, tenant(A, people), cohort_retirement=policy).blocked is None


def test_an_empty_source_still_stops_a_run_that_would_only_empty_cohorts() -> None:
    people = [person(n) for n in range(1, 4)]
    index, _ = with_class(people)

    result = plan(index, tenant(A), entities=frozenset({Entity.COHORTS}), cohort_retirement="empty")

    assert result.blocked is not None
    assert result.blocked.rule == "empty-source"
    assert result.operations == ()
    assert set(result.counts()) == {(Kind.COHORT, Action.REINDEX)}
    # Nothing was emptied: the report does not say it was.
    assert emptied_notes(result) == []


def test_a_person_run_never_empties_a_cohort() -> None:
    people = [person(1), person(2)]
    index, _ = with_class(people)

    result = plan(
        index, tenant(A, people[:1], complete=False), person="sdet:1", cohort_retirement="empty"
    )

    assert not any(op.kind is Kind.COHORT for op in result.operations)


def test_create_only_empties_nothing() -> None:
    people = [person(1)]
    index, _ = with_class(people)

    assert (
        plan(index, tenant(A, people), mode="create-only", cohort_retirement="empty").operations
        == ()
    )


def test_policies_given_as_strings_are_read_as_policies() -> None:
    given = PlanOptions(cohort_retirement="archive", removal="keep")  # type: ignore[arg-type]
    assert given.cohort_retirement is CohortRetirementPolicy.ARCHIVE
    assert given.removal is RemovalPolicy.KEEP
    assert PlanOptions().cohort_retirement is CohortRetirementPolicy.KEEP
    with pytest.raises(ValueError, match="suspend"):
        PlanOptions(cohort_retirement="suspend")  # type: ignore[arg-type]


@pytest.mark.parametrize(("old", "new"), [("keep", "empty"), ("delete", "delete")])
def test_the_old_cohort_removal_option_still_reads_as_what_it_did(old: str, new: str) -> None:
    options = RunOptions.from_mapping({"cohort_removal": old})

    assert options.cohort_retirement is CohortRetirementPolicy(new)
    assert options.to_json() == {"cohort_retirement": new}
    with pytest.raises(ValueError, match="give cohort_retirement only"):
        RunOptions.from_mapping({"cohort_removal": old, "cohort_retirement": "keep"})


@pytest.mark.parametrize("suffix", ["", "  ", " ({year})", " ({school_year"])
def test_an_archive_suffix_that_cannot_rename_is_refused(suffix: str) -> None:
    with pytest.raises(ValueError, match="cohort_archive_suffix"):
        PlanOptions(cohort_archive_suffix=suffix)


# -- keep and archive: the cohort is released, its members stay ---------------------------

YEAR_CLASS = Cohort(f"{PREFIX}2025:{A}:2NDE1", "2nde 1")
NEXT_CLASS = Cohort(f"{PREFIX}2026:{A}:2NDE1", "2nde 1")


def with_year_class(people: list[Person]) -> tuple[SiteIndex, list[CohortMembership]]:
    members = members_of(YEAR_CLASS, people)
    return synced(tenant(A, people, cohorts=[YEAR_CLASS], members=members)), members


def test_by_default_last_years_cohort_is_released_untouched_and_this_years_created() -> None:
    people = [person(1), person(2)]
    index, _ = with_year_class(people)
    rentree = tenant(A, people, cohorts=[NEXT_CLASS], members=members_of(NEXT_CLASS, people))

    result = plan(index, rentree)

    # Nothing of last year's cohort reaches Moodle: only the index forgets its tenants.
    assert [(k, a, key) for k, a, key in actions(result) if YEAR_CLASS.key in key] == [
        (Kind.COHORT, "reindex", YEAR_CLASS.key),
        (Kind.COHORT_MEMBER, "reindex", f"{YEAR_CLASS.key}|sdet:1"),
        (Kind.COHORT_MEMBER, "reindex", f"{YEAR_CLASS.key}|sdet:2"),
    ]
    assert not [op for op in result.operations if YEAR_CLASS.key in op.key and op.writes_moodle]
    assert (Kind.COHORT, "create", NEXT_CLASS.key) in actions(result)
    assert result.blocked is None
    assert (
        f"1 cohort(s) released (cohort_retirement = keep: left as they are in Moodle, "
        f"members kept; the farm no longer manages them): {YEAR_CLASS.key}"
    ) in result.notes
    after = apply(index, result)
    assert after.get(Kind.COHORT, YEAR_CLASS.key) is not None
    assert {k for k in after.of(Kind.COHORT_MEMBER) if YEAR_CLASS.key in k} == {
        f"{YEAR_CLASS.key}|sdet:1",
        f"{YEAR_CLASS.key}|sdet:2",
    }
    rerun = plan(after, rentree)
    assert rerun.operations == ()
    assert rerun.notes == ()


def test_archive_renames_with_the_school_year_and_hides_and_a_rerun_writes_nothing() -> None:
    people = [person(1)]
    index, _ = with_year_class(people)

    result = plan(index, tenant(A, people), cohort_retirement="archive")

    (rename,) = [op for op in result.operations if op.writes_moodle]
    assert (rename.kind, rename.action, rename.category) == (
        Kind.COHORT,
        Action.UPDATE,
        Category.REMOVE,
    )
    assert rename.changes == {"name": ("2nde 1", "2nde 1 (2025-2026)")}
    assert isinstance(rename.record, Cohort)
    assert rename.record.visible is False
    assert rename.moodle_id == cohort_id(index, YEAR_CLASS)
    # The rename keeps the tenants; a re-index drops them (an undo takes each back).
    released = [op for op in result.operations if op.kind is Kind.COHORT and not op.writes_moodle]
    assert [(op.action, op.tenants) for op in released] == [(Action.REINDEX, frozenset())]
    after = apply(index, result)
    assert plan(after, tenant(A, people), cohort_retirement="archive").operations == ()


def test_an_archived_cohort_read_again_is_renamed_back_shown_and_its_members_diffed() -> None:
    people = [person(1), person(2)]
    index, _ = with_year_class(people)
    archived = apply(index, plan(index, tenant(A, people), cohort_retirement="archive"))
    # It comes back with one member only: the other's membership is the farm's to remove.
    back = tenant(A, people, cohorts=[YEAR_CLASS], members=members_of(YEAR_CLASS, people[:1]))

    result = plan(archived, back, cohort_retirement="archive")

    (update,) = [op for op in result.operations if op.kind is Kind.COHORT]
    assert update.action is Action.UPDATE
    assert update.changes == {"name": ("2nde 1 (2025-2026)", "2nde 1")}
    assert isinstance(update.record, Cohort)
    assert update.record.visible is True
    assert update.tenants == {A}
    members = {
        (str(op.action), op.key) for op in result.operations if op.kind is Kind.COHORT_MEMBER
    }
    assert members == {
        ("reindex", f"{YEAR_CLASS.key}|sdet:1"),
        ("remove", f"{YEAR_CLASS.key}|sdet:2"),
    }
    after = apply(archived, result)
    assert plan(after, back, cohort_retirement="archive").operations == ()


def test_an_archive_suffix_without_a_year_in_the_idnumber_says_archived() -> None:
    people = [person(1)]
    index, _ = with_class(people)

    result = plan(index, tenant(A, people), cohort_retirement="archive")

    (rename,) = [op for op in result.operations if op.writes_moodle]
    assert rename.changes == {"name": ("2nde 1", "2nde 1 (archived)")}


def test_a_released_persons_membership_is_not_removed_when_they_come_back() -> None:
    """A person who left while their cohort was released keeps the membership on return."""
    people = [person(1), person(2)]
    index, _ = with_year_class(people)
    gone = apply(index, plan(index, tenant(A, people[1:]), allow_mass_removal=True))
    assert gone.get(Kind.COHORT_MEMBER, f"{YEAR_CLASS.key}|sdet:1") is not None

    back = plan(gone, tenant(A, people))

    assert not [op for op in back.operations if op.kind is Kind.COHORT_MEMBER and op.writes_moodle]
