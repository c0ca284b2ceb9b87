"""Each action the planner emits, in the situation that calls for it."""

from __future__ import annotations

from dataclasses import replace

from farm.index import SiteIndex
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Group,
    GroupMembership,
    Kind,
    RoleAssignment,
)
from farm.operation import ORDER, Action, Category
from farm.options import RemovalPolicy

from .factory import PREFIX, actions, apply, person, plan, synced, tenant

A, B = "0290009C", "0290010D"
CLASS = Cohort(f"{PREFIX}{A}_2NDE1", "2nde 1")


def test_new_people_are_created_with_their_tenant() -> None:
    result = plan(SiteIndex(), tenant(A, [person(1), person(2)]))

    assert actions(result) == [
        (Kind.PERSON, "create", "sdet:1"),
        (Kind.PERSON, "create", "sdet:2"),
    ]
    assert all(op.tenants == {A} and op.category is Category.CREATE for op in result.operations)
    assert result.operations[0].record == person(1)


def test_an_update_names_only_the_changed_fields() -> None:
    index = synced(tenant(A, [person(1)]))

    result = plan(index, tenant(A, [person(1, email="new@example.fr", lastname="Durand")]))

    (op,) = result.operations
    assert (op.action, op.key) == (Action.UPDATE, "sdet:1")
    assert op.changes == {
        "email": ("user1@example.fr", "new@example.fr"),
        "lastname": ("Martin1", "Durand"),
    }
    assert op.moodle_id == index.get(Kind.PERSON, "sdet:1").moodle_id  # type: ignore[union-attr]


def test_an_unchanged_source_plans_nothing() -> None:
    snapshot = tenant(
        A, [person(1)], cohorts=[CLASS], members=[CohortMembership(CLASS.key, "sdet:1")]
    )
    index = synced(snapshot)

    assert plan(index, snapshot).operations == ()


def test_a_person_gone_from_the_source_is_suspended_by_default() -> None:
    index = synced(tenant(A, [person(n) for n in range(1, 11)]))

    result = plan(index, tenant(A, [person(n) for n in range(1, 10)]))

    (op,) = result.operations
    assert (op.action, op.key, op.category) == (Action.SUSPEND, "sdet:10", Category.REMOVE)
    assert op.changes == {"suspended": (False, True)}
    after = apply(index, result)
    assert after.get(Kind.PERSON, "sdet:10").suspended  # type: ignore[union-attr]
    assert plan(after, tenant(A, [person(n) for n in range(1, 10)])).operations == ()


def test_a_suspended_person_back_in_the_source_is_revived() -> None:
    everyone = [person(n) for n in range(1, 11)]
    index = synced(tenant(A, everyone))
    index = apply(index, plan(index, tenant(A, everyone[:-1])))

    result = plan(index, tenant(A, everyone))

    (op,) = result.operations
    assert (op.action, op.key) == (Action.REVIVE, "sdet:10")
    assert op.changes == {"suspended": (True, False)}
    assert op.tenants == {A}
    assert plan(apply(index, result), tenant(A, everyone)).operations == ()


def test_delete_policy_deletes_and_forgets_the_persons_links() -> None:
    people = [person(n) for n in range(1, 11)]
    members = [CohortMembership(CLASS.key, p.source_key) for p in people]
    index = synced(tenant(A, people, cohorts=[CLASS], members=members))

    result = plan(
        index, tenant(A, people[1:], cohorts=[CLASS], members=members[1:]), removal="delete"
    )

    assert actions(result) == [(Kind.PERSON, "delete", "sdet:1")]
    after = apply(index, result)
    assert after.get(Kind.PERSON, "sdet:1") is None
    assert after.get(Kind.COHORT_MEMBER, f"{CLASS.key}|sdet:1") is None


def test_keep_policy_only_forgets_the_tenant() -> None:
    people = [person(n) for n in range(1, 11)]
    index = synced(tenant(A, people))

    result = plan(index, tenant(A, people[1:]), removal=RemovalPolicy.KEEP)

    (op,) = result.operations
    assert (op.action, op.key, op.tenants) == (Action.REINDEX, "sdet:1", frozenset())
    assert not op.writes_moodle
    after = apply(index, result)
    assert plan(after, tenant(A, people[1:]), removal="keep").operations == ()
    # Back in the source: the account is simply re-tagged.
    assert actions(plan(after, tenant(A, people))) == [(Kind.PERSON, "reindex", "sdet:1")]


def test_links_are_added_and_removed() -> None:
    p = person(1)
    course_group = Group("MATH2", f"{PREFIX}G1", "Groupe 1")
    before = tenant(
        A,
        [p],
        cohorts=[CLASS],
        members=[CohortMembership(CLASS.key, p.source_key)],
        enrolments=[Enrolment("MATH2", p.source_key)],
        groups=[course_group],
        group_members=[GroupMembership("MATH2", course_group.idnumber, p.source_key)],
        roles=[RoleAssignment(p.source_key, "manager")],
    )

    first = plan(SiteIndex(), before)
    assert [(k, a) for k, a, _ in actions(first)] == [
        (Kind.PERSON, "create"),
        (Kind.COHORT, "create"),
        (Kind.COHORT_MEMBER, "add"),
        (Kind.ENROLMENT, "enrol"),
        (Kind.GROUP, "create"),
        (Kind.GROUP_MEMBER, "add"),
        (Kind.ROLE_ASSIGNMENT, "assign"),
    ]

    index = apply(SiteIndex(), first)
    after = tenant(A, [p], cohorts=[CLASS], groups=[course_group])
    second = plan(index, after)
    assert [(k, a) for k, a, _ in actions(second)] == [
        (Kind.GROUP_MEMBER, "remove"),
        (Kind.ROLE_ASSIGNMENT, "unassign"),
        (Kind.ENROLMENT, "unenrol"),
        (Kind.COHORT_MEMBER, "remove"),
    ]
    assert second.operations[0].previous is not None
    assert second.operations[0].previous.values["person"] == "sdet:1"


def test_a_cohort_gone_from_the_source_is_deleted_with_its_members_under_delete() -> None:
    people = [person(1), person(2)]
    members = [CohortMembership(CLASS.key, p.source_key) for p in people]
    index = synced(tenant(A, people, cohorts=[CLASS], members=members))

    result = plan(index, tenant(A, people), cohort_retirement="delete")

    assert actions(result) == [(Kind.COHORT, "delete", CLASS.key)]
    after = apply(index, result)
    assert after.of(Kind.COHORT_MEMBER) == {}
    assert plan(after, tenant(A, people), cohort_retirement="delete").operations == ()


def test_a_renamed_cohort_is_updated() -> None:
    index = synced(tenant(A, cohorts=[CLASS]))

    result = plan(index, tenant(A, cohorts=[replace(CLASS, name="Seconde 1")]))

    (op,) = result.operations
    assert (op.kind, op.action, op.changes) == (
        Kind.COHORT,
        Action.UPDATE,
        {"name": ("2nde 1", "Seconde 1")},
    )


def test_groups_are_never_deleted() -> None:
    course_group = Group("MATH2", f"{PREFIX}G1", "Groupe 1")
    index = synced(tenant(A, groups=[course_group]))

    result = plan(index, tenant(A, [person(1)]))

    assert [(k, a) for k, a, _ in actions(result) if k is Kind.GROUP] == [(Kind.GROUP, "reindex")]


def test_links_of_a_suspended_person_stay_for_their_return() -> None:
    people = [person(n) for n in range(1, 11)]
    members = [CohortMembership(CLASS.key, p.source_key) for p in people]
    enrolments = [Enrolment("MATH2", p.source_key) for p in people]
    full = tenant(A, people, cohorts=[CLASS], members=members, enrolments=enrolments)
    index = synced(full)

    without = tenant(A, people[1:], cohorts=[CLASS], members=members[1:], enrolments=enrolments[1:])
    result = plan(index, without)

    assert actions(result) == [(Kind.PERSON, "suspend", "sdet:1")]
    after = apply(index, result)
    assert plan(after, without).operations == ()
    assert actions(plan(after, full)) == [(Kind.PERSON, "revive", "sdet:1")]


def test_operations_follow_the_documented_order() -> None:
    people = [person(n) for n in range(1, 30)]
    cohort_b = Cohort(f"{PREFIX}B", "B")
    old = tenant(
        A,
        people[:20],
        cohorts=[CLASS, cohort_b],
        members=[CohortMembership(CLASS.key, p.source_key) for p in people[:20]],
        enrolments=[Enrolment("C1", p.source_key) for p in people[:20]],
    )
    index = synced(old)
    new = tenant(
        A,
        [*people[3:19], replace(people[19], lastname="X"), *people[20:]],
        cohorts=[CLASS, Cohort(f"{PREFIX}C", "C")],
        members=[CohortMembership(f"{PREFIX}C", p.source_key) for p in people[3:]],
        enrolments=[Enrolment("C2", p.source_key) for p in people[3:]],
    )

    # Most of the memberships and enrolments go: the safety checks would stop the run.
    result = plan(index, new, allow_mass_removal=True)

    ranks = [ORDER.index((op.kind, op.action)) for op in result.operations]
    assert ranks == sorted(ranks)
    # Re-indexing (here: cohort B, released) comes after every Moodle write.
    assert [op for op in result.operations if op.writes_moodle][-1].action is Action.SUSPEND
    kinds_actions = [(b.kind, b.action) for b in result.batches()]
    assert kinds_actions[0] == (Kind.PERSON, Action.CREATE)
    assert len(set(kinds_actions)) == len(kinds_actions)
    assert sum(len(b) for b in result.batches()) == len(result.operations)


def test_cohorts_without_the_prefix_are_left_alone() -> None:
    foreign = Cohort("teachers-manual", "Teachers")
    result = plan(
        SiteIndex(),
        tenant(
            A, [person(1)], cohorts=[foreign], members=[CohortMembership(foreign.key, "sdet:1")]
        ),
    )

    assert actions(result) == [(Kind.PERSON, "create", "sdet:1")]
    assert any("teachers-manual" in note for note in result.notes)


def test_links_to_records_nobody_creates_wait() -> None:
    result = plan(
        SiteIndex(),
        tenant(A, [person(1)], members=[CohortMembership(f"{PREFIX}missing", "sdet:1")]),
    )

    assert actions(result) == [(Kind.PERSON, "create", "sdet:1")]
    assert any("1 cohort_member link(s) wait" in note for note in result.notes)


def test_a_reindex_writes_only_the_index() -> None:
    index = synced(tenant(A, [person(1, tenants=(A, B))]))

    result = plan(
        index, tenant(A, [person(1, tenants=(A, B))]), tenant(B, [person(1, tenants=(A, B))])
    )

    (op,) = result.operations
    assert (op.action, op.writes_moodle) == (Action.REINDEX, False)
    assert op.tenants == {A, B}
    assert "tenants: 0290009C,0290010D" in op.describe()
