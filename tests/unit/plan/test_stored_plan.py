"""Stored plans: the JSON codec round-trips every record type and every plan; the plan rebuilt."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farm.drift import Drift
from farm.index import SiteIndex
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Group,
    GroupMembership,
    Kind,
    Person,
    Profile,
    Record,
    RoleAssignment,
)
from farm.operation import Action
from farm.options import Mode, RemovalPolicy
from farm.plan_codec import (
    RECORD_TYPES,
    StoredPlanError,
    operation_from_json,
    operation_to_json,
    plan_from_json,
    plan_to_json,
    record_from_json,
    record_to_json,
)
from farm.stored_plan import StoredPlan, field_changes

from .factory import PREFIX, apply, person, plan, synced, tenant

UAI, OTHER = "0290009C", "0290010D"

text = st.text(max_size=12)
names = st.frozensets(text, max_size=3)

RECORDS: dict[Kind, st.SearchStrategy[Record]] = {
    Kind.PERSON: st.builds(
        Person,
        source_key=text,
        username=text,
        idnumber=text,
        firstname=text,
        lastname=text,
        email=text,
        auth=text,
        profiles=st.frozensets(st.sampled_from(list(Profile))),
        establishments=names,
        profile_fields=st.dictionaries(text, text, max_size=3),
        suspended=st.booleans(),
    ),
    Kind.COHORT: st.builds(
        Cohort,
        idnumber=text,
        name=text,
        description=text,
        context=text,
        establishment=st.none() | text,
    ),
    Kind.COHORT_MEMBER: st.builds(CohortMembership, cohort=text, person=text),
    Kind.ENROLMENT: st.builds(Enrolment, course=text, person=text, role=text),
    Kind.GROUP: st.builds(Group, course=text, idnumber=text, name=text, description=text),
    Kind.GROUP_MEMBER: st.builds(GroupMembership, course=text, group=text, person=text),
    Kind.ROLE_ASSIGNMENT: st.builds(
        RoleAssignment, person=text, role=text, context_level=text, context=text
    ),
}


def test_every_record_type_has_a_strategy_here() -> None:
    assert set(RECORDS) == set(RECORD_TYPES) == set(Kind)


@pytest.mark.parametrize("kind", list(Kind))
@given(data=st.data())
def test_every_record_type_round_trips_through_json(kind: Kind, data: st.DataObject) -> None:
    record = data.draw(RECORDS[kind])

    back = record_from_json(kind, json.loads(json.dumps(record_to_json(record))))

    assert back == record
    assert type(back) is type(record)
    assert back.digest() == record.digest()


def cohort(n: int) -> Cohort:
    return Cohort(f"{PREFIX}c{n}", f"Class {n}", establishment=UAI)


def full_snapshot(changes: dict[int, dict[str, Any]] | None = None) -> Any:
    people = [person(n, **(changes or {}).get(n, {})) for n in range(4)]
    return tenant(
        UAI,
        people,
        cohorts=[cohort(1), cohort(2)],
        members=[CohortMembership(cohort(1).key, p.key) for p in people],
        enrolments=[Enrolment("MATHS", people[0].key)],
        groups=[Group("MATHS", f"{PREFIX}g1", "G1")],
        group_members=[GroupMembership("MATHS", f"{PREFIX}g1", people[0].key)],
        roles=[RoleAssignment(people[1].key, "manager", "coursecat", "1")],
    )


def round_trip(stored: StoredPlan) -> StoredPlan:
    return plan_from_json(json.loads(json.dumps(plan_to_json(stored))))


def test_a_plan_of_every_action_round_trips_operation_by_operation() -> None:
    index = synced(full_snapshot())
    # Person 0 renamed, 3 gone (suspended), 4 new; cohort 2 renamed; a member moved.
    people = [person(0, lastname="RENAMED"), person(1), person(2), person(4)]
    changed = tenant(
        UAI,
        people,
        cohorts=[cohort(1), Cohort(f"{PREFIX}c2", "Renamed class", establishment=UAI)],
        members=[CohortMembership(cohort(2).key, p.key) for p in people],
    )
    planned = plan(index, changed, allow_mass_removal=True, removal=RemovalPolicy.SUSPEND)
    actions = {(op.kind, op.action) for op in planned.operations}
    assert {(Kind.PERSON, Action.UPDATE), (Kind.PERSON, Action.CREATE)} <= actions
    assert (Kind.PERSON, Action.SUSPEND) in actions
    assert (Kind.COHORT_MEMBER, Action.REMOVE) in actions
    stored = StoredPlan.of_plan(7, [UAI], planned)

    back = round_trip(stored)

    assert back == stored
    for mine, theirs in zip(back.operations, stored.operations, strict=True):
        assert (mine.kind, mine.action, mine.key, mine.category) == (
            theirs.kind,
            theirs.action,
            theirs.key,
            theirs.category,
        )
        assert mine.record == theirs.record
        assert mine.previous == theirs.previous
        assert dict(mine.changes) == dict(theirs.changes)
        assert mine.tenants == theirs.tenants


def test_a_blocked_plan_keeps_its_verdict_and_withheld_operations() -> None:
    index = synced(full_snapshot())
    planned = plan(index, tenant(UAI, []))
    assert planned.blocked is not None
    stored = StoredPlan.of_plan(3, [UAI], planned)

    back = round_trip(stored)

    assert back.blocked == planned.blocked
    assert back.operations == ()
    assert back.withheld == planned.withheld
    assert back.shown() == planned.withheld


def test_options_drift_and_known_accounts_round_trip() -> None:
    planned = plan(SiteIndex(), full_snapshot(), mode=Mode.CREATE_ONLY, person="user1")
    drift = Drift(Kind.PERSON, "sdet:1", "moodle", "lastname is 'X'", "lastname", "A", "X", "u1")
    stored = StoredPlan(
        **{
            **{
                f: getattr(StoredPlan.of_plan(9, [UAI, OTHER], planned), f)
                for f in (
                    "run_id",
                    "site",
                    "tenants",
                    "options",
                    "operations",
                    "notes",
                    "complete",
                    "people_read",
                    "people_matched",
                )
            },
            "known": {(Kind.PERSON, "sdet:1"): (101, 102)},
            "replanned_from": 4,
            "drift": (drift,),
        }
    )

    back = round_trip(stored)

    assert back.options == planned.options
    assert back.known == {(Kind.PERSON, "sdet:1"): (101, 102)}
    assert back.drift == (drift,)
    assert back.replanned_from == 4
    assert back.tenants == (UAI, OTHER)


def test_the_rebuilt_plan_applies_exactly_the_stored_operations_for_real() -> None:
    planned = plan(SiteIndex(), full_snapshot(), simulate=True)
    stored = round_trip(StoredPlan.of_plan(1, [UAI], planned))

    rebuilt = stored.to_plan()

    assert planned.simulate
    assert not rebuilt.simulate
    assert rebuilt.operations == planned.operations
    assert rebuilt.batches() == planned.batches()
    assert apply(SiteIndex(), rebuilt).of(Kind.PERSON).keys() == {f"sdet:{n}" for n in range(4)}


def test_safety_is_checked_again_against_the_index_as_it_is_now() -> None:
    people = [person(n) for n in range(100)]
    index = synced(tenant(UAI, people))
    # Six people leave: above the floor of 5, under the threshold of 10 % of 100.
    planned = plan(index, tenant(UAI, people[6:]))
    stored = round_trip(StoredPlan.of_plan(1, [UAI], planned))
    assert planned.blocked is None
    assert stored.safety(index) is None
    # Meanwhile the site lost most of its people: the same six are now too many.
    kept = {p.key for p in people[:20]}
    smaller = SiteIndex([e for e in index if e.kind is not Kind.PERSON or e.key in kept])

    stop = stored.safety(smaller)

    assert stop is not None
    assert stop.rule == "mass-removal"


def test_field_changes_say_old_and_new_per_value() -> None:
    index = synced(full_snapshot())
    planned = plan(index, full_snapshot({0: {"email": "new@example.fr"}}))
    (update,) = [op for op in planned.operations if op.action is Action.UPDATE]

    assert field_changes(update) == [("email", "user0@example.fr", "new@example.fr")]
    created = plan(SiteIndex(), full_snapshot()).operations[0]
    assert ("lastname", None, "Martin0") in field_changes(created)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("operations", 0, "record", "username"),
            3,
            "operations[0].record.username: expected a string",
        ),
        (("operations", 0, "kind"), "robot", "operations[0].kind: unknown value 'robot'"),
        (("operations", 0, "record", "shoe_size"), 42, "unknown field(s) shoe_size"),
        (("operations", 0, "key"), "sdet:other", "its key is 'sdet:0', not 'sdet:other'"),
        (("options", "mode"), "sometimes", "options.mode: unknown value 'sometimes'"),
        (("format",), 99, "this farm reads format 1, not 99"),
    ],
)
def test_a_document_it_cannot_read_names_where(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    doc = plan_to_json(StoredPlan.of_plan(1, [UAI], plan(SiteIndex(), full_snapshot())))
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value

    with pytest.raises(StoredPlanError, match=re.escape(message)):
        plan_from_json(doc)


def test_an_operation_round_trips_alone() -> None:
    op = plan(SiteIndex(), full_snapshot()).operations[0]
    assert operation_from_json(json.loads(json.dumps(operation_to_json(op)))) == op
