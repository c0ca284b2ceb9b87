"""Drift: each record whose index entry or Moodle values changed since the plan, by field."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from farm.drift import (
    INDEX,
    MOODLE,
    account_drift,
    cohort_drift,
    creation_drift,
    drift_words,
    index_drift,
)
from farm.index import SiteIndex
from farm.model import Cohort, Kind
from farm.operation import Action, Operation
from farm.stored_plan import StoredPlan, replan

from .factory import PREFIX, apply, person, plan, synced, tenant

UAI = "0290009C"


def people(**renamed: str) -> list[Any]:
    return [person(n, lastname=renamed.get(f"p{n}", f"Martin{n}")) for n in range(3)]


def the(ops: tuple[Operation, ...], action: Action, key: str) -> Operation:
    return next(op for op in ops if op.action is action and op.key == key)


def account(op: Operation, **changes: Any) -> dict[str, Any]:
    """The account Moodle holds for ``op``'s person as the plan saw it, with ``changes``."""
    assert op.previous is not None
    values = {name: op.previous.values.get(name) for name in ("username", "firstname")}
    values |= {name: op.previous.values.get(name) for name in ("lastname", "email", "auth")}
    values |= {"idnumber": op.previous.values.get("idnumber"), "suspended": False}
    values["customfields"] = dict(op.previous.values.get("profile_fields") or {})
    return values | changes


def test_nothing_drifted_when_the_index_is_the_one_planned_against() -> None:
    index = synced(tenant(UAI, people()))
    planned = plan(index, tenant(UAI, people(p1="DURAND")))

    assert index_drift(planned.operations, index) == []


def test_an_entry_another_run_rewrote_is_named_with_each_field() -> None:
    index = synced(tenant(UAI, people()))
    planned = plan(index, tenant(UAI, people(p1="DURAND")))
    # A targeted sync wrote person 1 again since, with another surname.
    later = apply(index, plan(index, tenant(UAI, people(p1="DUPONT"), complete=False)))

    (drift,) = index_drift(planned.operations, later)

    assert (drift.kind, drift.key, drift.where, drift.field) == (
        Kind.PERSON,
        "sdet:1",
        INDEX,
        "lastname",
    )
    assert (drift.expected, drift.found) == ("Martin1", "DUPONT")
    assert str(drift) == (
        "person sdet:1 (user1): index: lastname is 'DUPONT', the plan was computed from 'Martin1'"
    )


def test_an_entry_that_appeared_or_went_is_drift() -> None:
    index = synced(tenant(UAI, people()))
    created = plan(SiteIndex(), tenant(UAI, people()))
    assert {d.key for d in index_drift(created.operations, index)} == {
        "sdet:0",
        "sdet:1",
        "sdet:2",
    }
    updated = plan(index, tenant(UAI, people(p0="X")))
    gone = SiteIndex([e for e in index if e.key != "sdet:0"])
    (drift,) = index_drift(updated.operations, gone)
    assert "no longer holds it" in drift.message


def test_changed_tenants_are_drift() -> None:
    index = synced(tenant(UAI, people()))
    planned = plan(index, tenant(UAI, people(p0="X")))
    entry = index.get(Kind.PERSON, "sdet:0")
    assert entry is not None
    other = SiteIndex(
        [replace(entry, tenants=frozenset({UAI, "0290010D"})) if e is entry else e for e in index]
    )

    (drift,) = index_drift(planned.operations, other)

    assert drift.field == "tenants"


def test_a_field_the_plan_changes_edited_in_moodle_is_drift_and_others_are_not() -> None:
    index = synced(tenant(UAI, people()))
    op = the(plan(index, tenant(UAI, people(p1="DURAND"))).operations, Action.UPDATE, "sdet:1")

    assert account_drift(op, account(op)) == []
    # The e-mail changed by hand: the plan does not change it, so it is no drift.
    assert account_drift(op, account(op, email="other@example.fr")) == []
    (drift,) = account_drift(op, account(op, lastname="Martin-Hand"))
    assert (drift.where, drift.field, drift.expected, drift.found) == (
        MOODLE,
        "lastname",
        "Martin1",
        "Martin-Hand",
    )
    assert account_drift(op, account(op, lastname="Martin-Hand"), force=True) == []
    (gone,) = account_drift(op, None)
    assert "is gone from Moodle" in gone.message


def test_a_suspension_expects_an_active_account_and_profile_fields_are_compared() -> None:
    fields = {"uai": UAI}
    index = synced(tenant(UAI, [person(n, profile_fields=fields) for n in range(20)]))
    planned = plan(index, tenant(UAI, [person(n, profile_fields=fields) for n in range(1, 20)]))
    suspend = the(planned.operations, Action.SUSPEND, "sdet:0")
    assert account_drift(suspend, account(suspend)) == []
    (drift,) = account_drift(suspend, account(suspend, suspended=True))
    assert drift.field == "suspended"

    moved = plan(
        index, tenant(UAI, [person(1, profile_fields={"uai": "0290010D"})], complete=False)
    )
    update = the(moved.operations, Action.UPDATE, "sdet:1")
    assert account_drift(update, account(update)) == []
    (custom,) = account_drift(update, account(update, customfields={"uai": "9999999Z"}))
    assert (custom.field, custom.expected, custom.found) == ("profile_fields.uai", UAI, "9999999Z")


def test_cohorts_and_creations() -> None:
    old = Cohort(f"{PREFIX}c1", "Class 1")
    index = synced(tenant(UAI, [], cohorts=[old]))
    op = the(
        plan(index, tenant(UAI, [], cohorts=[replace(old, name="Renamed")])).operations,
        Action.UPDATE,
        old.key,
    )
    there = {"idnumber": old.idnumber, "name": "Class 1", "description": ""}
    assert cohort_drift(op, there) == []
    (drift,) = cohort_drift(op, there | {"name": "By hand"})
    assert drift.field == "name"

    create = plan(SiteIndex(), tenant(UAI, [person(5)])).operations[0]
    assert creation_drift(create, []) == []
    (found,) = creation_drift(create, [("idnumber", "id5", 301), ("username", "user5", 301)])
    assert found.found == 301
    assert "id 301" in found.message
    assert creation_drift(create, [("idnumber", "id5", 301)], known=[301]) == []


def test_drift_words_name_the_first_records_and_count_the_rest() -> None:
    index = synced(tenant(UAI, people()))
    drifts = index_drift(plan(SiteIndex(), tenant(UAI, people())).operations, index)

    assert drift_words(drifts, shown=2).endswith("; and 1 more (see the report's errors)")
    assert drift_words(drifts).count("person sdet:") == 3


def test_a_replan_keeps_what_did_not_drift_and_rebases_moodle_values() -> None:
    index = synced(tenant(UAI, people()))
    planned = plan(index, tenant(UAI, people(p0="ZERO", p1="DURAND")))
    stored = StoredPlan.of_plan(1, [UAI], planned)
    one = the(planned.operations, Action.UPDATE, "sdet:1")
    # In Moodle, person 1's surname was set by hand; the source is what it was.
    (drift,) = account_drift(one, account(one, lastname="Hand"))
    fresh = plan(index, tenant(UAI, people(p0="ZERO", p1="DURAND")), simulate=True)
    moodle = {(Kind.PERSON, "sdet:1"): account(one, lastname="Hand")}

    operations, known = replan(stored, fresh, [drift], moodle, {})

    assert [op.key for op in operations] == ["sdet:0", "sdet:1"]
    zero = the(operations, Action.UPDATE, "sdet:0")
    assert zero is the(stored.operations, Action.UPDATE, "sdet:0")
    rebased = the(operations, Action.UPDATE, "sdet:1")
    assert dict(rebased.changes) == {"lastname": ("Hand", "DURAND")}
    assert account_drift(rebased, account(one, lastname="Hand")) == []
    assert known == {}
    # Moodle already holds what the source says: the index is only behind.
    already = {(Kind.PERSON, "sdet:1"): account(one, lastname="DURAND")}
    operations, _ = replan(stored, fresh, [drift], already, {})
    assert the(operations, Action.REINDEX, "sdet:1").changes == {}


def test_a_replanned_creation_knows_the_account_it_adopts() -> None:
    planned = plan(SiteIndex(), tenant(UAI, [person(7)]))
    stored = StoredPlan.of_plan(1, [UAI], planned)
    create = planned.operations[0]
    (drift,) = creation_drift(create, [("idnumber", "id7", 444)])

    operations, known = replan(stored, planned, [drift], {}, {(Kind.PERSON, "sdet:7"): (444,)})

    assert operations == planned.operations
    assert known == {(Kind.PERSON, "sdet:7"): (444,)}
    assert creation_drift(create, [("idnumber", "id7", 444)], known[(Kind.PERSON, "sdet:7")]) == []
