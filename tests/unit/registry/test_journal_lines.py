"""A confirmed batch's journal lines keep old and new values; its index rows ids and tenants."""

from __future__ import annotations

from farm.applied import Applied, Confirmation
from farm.index import SiteIndex, index_writes
from farm.model import IndexEntry, Kind, Person
from farm.operation import Action, Category, Operation
from farm.registry.journal import index_changes, journal_lines

A, B = "0330001K", "0330002L"


def teacher() -> Person:
    return Person(
        "sdet:T1", "t1", "T1", "Jeanne", "DUPONT", "t1@example.org",
        establishments=frozenset({A, B}),
    )  # fmt: skip


def create(person: Person, tenants: frozenset[str]) -> Operation:
    return Operation(
        Kind.PERSON, Action.CREATE, person.key, Category.CREATE, person, None, {}, tenants
    )


def test_journal_lines_hold_changed_fields_and_adoptions_what_was_found() -> None:
    person = teacher()
    entry = IndexEntry(
        Kind.PERSON, person.key, 7, "d", {**person.values(), "lastname": "X"}, frozenset({A})
    )
    update = Operation(
        Kind.PERSON,
        Action.UPDATE,
        person.key,
        Category.UPDATE,
        person,
        entry,
        {"lastname": ("X", "DUPONT")},
        frozenset({A}),
    )
    line = journal_lines(Confirmation((Applied(update),), ()))[0]
    assert (line.action, line.moodle_id, line.old, line.new) == (
        "update",
        7,
        {"lastname": "X"},
        {"lastname": "DUPONT"},
    )
    found = {"firstname": "J."}
    adopted_op = Applied(create(person, frozenset({A})), 9, adopted=True, found=found)
    (adopted,) = journal_lines(Confirmation((adopted_op,), ()))
    assert (adopted.action, adopted.moodle_id, adopted.old) == ("adopt", 9, {"firstname": "J."})
    assert adopted.new == person.values()


def test_index_rows_carry_ids_tenants_and_deletions() -> None:
    person = teacher()
    op = create(person, frozenset({B, A}))
    writes = index_writes(SiteIndex(), op, 11)
    upserts, deletes = index_changes(Confirmation((Applied(op, 11),), writes).writes)
    (row,) = upserts
    assert (row.entity, row.key, row.moodle_id, row.tenants) == ("person", person.key, 11, (A, B))
    assert row.digest == person.digest()
    assert deletes == []
