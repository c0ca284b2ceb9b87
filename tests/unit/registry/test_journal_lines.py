"""A confirmed batch's journal lines keep old and new values; its index rows ids and tenants."""

from __future__ import annotations

from farm.applied import Applied, Confirmation
from farm.index import SiteIndex, index_writes
from farm.model import Cohort, IndexEntry, Kind, Person
from farm.operation import Action, Category, Operation
from farm.registry.journal import index_changes, journal_lines, masked

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


def test_a_line_names_the_tenants_before_and_after_and_its_person() -> None:
    person = teacher()
    entry = IndexEntry(Kind.PERSON, person.key, 7, "d", person.values(), frozenset({A}))
    moved = Operation(
        Kind.PERSON, Action.REINDEX, person.key, Category.UPDATE, person, entry, {}, frozenset({B})
    )
    link = IndexEntry(
        Kind.COHORT_MEMBER, "farm:c|sdet:T1", None, "d", {"cohort": "farm:c", "person": "sdet:T1"},
        frozenset({A}),
    )  # fmt: skip
    removed = Operation(
        Kind.COHORT_MEMBER, Action.REMOVE, link.key, Category.REMOVE, None, link, {}, frozenset()
    )
    cohort = Operation(
        Kind.COHORT, Action.CREATE, "farm:c", Category.CREATE, Cohort("farm:c", "C"), None, {},
        frozenset({B}),
    )  # fmt: skip
    lines = journal_lines(Confirmation((Applied(moved), Applied(removed), Applied(cohort, 3)), ()))
    assert [(line.tenants, line.person) for line in lines] == [
        ((A, B), "sdet:T1"),
        ((A,), "sdet:T1"),
        ((B,), None),
    ]


def test_masked_hides_every_value_under_a_secret_s_name_at_any_depth() -> None:
    values = {
        "username": "t1",
        "Password": "s3cret",
        "profile_fields": {"uai": A, "ent_token": "s3cret"},
        "list": [{"secret_answer": "s3cret"}],
        "motDePasse": "s3cret",
    }
    assert masked(values) == {
        "username": "t1",
        "Password": "***",
        "profile_fields": {"uai": A, "ent_token": "***"},
        "list": [{"secret_answer": "***"}],
        "motDePasse": "***",
    }
    assert masked(None) is None


def test_the_links_a_deletion_drops_get_a_removal_line_each_after_the_batch_s_own() -> None:
    cohort = IndexEntry(Kind.COHORT, "farm:c", 4, "d", {"idnumber": "farm:c"}, frozenset({A}))
    member = IndexEntry(
        Kind.COHORT_MEMBER, "farm:c|sdet:T1", None, "d", {"cohort": "farm:c", "person": "sdet:T1"},
        frozenset({A, B}),
    )  # fmt: skip
    enrolment = IndexEntry(
        Kind.ENROLMENT, "C1|sdet:T1|student", None, "d",
        {"course": "C1", "person": "sdet:T1", "role": "student"}, frozenset({B}),
    )  # fmt: skip
    person = IndexEntry(Kind.PERSON, "sdet:T1", 7, "d", teacher().values(), frozenset({A, B}))
    index = SiteIndex([cohort, member, enrolment, person])
    gone = Operation(Kind.COHORT, Action.DELETE, "farm:c", Category.REMOVE, None, cohort)
    writes = index_writes(index, gone)
    later = index.with_writes(writes)
    left = Operation(Kind.PERSON, Action.DELETE, "sdet:T1", Category.REMOVE, None, person)
    writes += index_writes(later, left)

    lines = journal_lines(Confirmation((Applied(gone), Applied(left)), writes))

    assert [(line.entity, line.action, line.key) for line in lines] == [
        ("cohort", "delete", "farm:c"),
        ("person", "delete", "sdet:T1"),
        ("cohort_member", "remove", "farm:c|sdet:T1"),
        ("enrolment", "unenrol", "C1|sdet:T1|student"),
    ]
    cascaded = lines[2]
    assert (cascaded.old, cascaded.new) == ({"cohort": "farm:c", "person": "sdet:T1"}, None)
    assert (cascaded.tenants, cascaded.person) == ((A, B), "sdet:T1")
    assert (lines[3].tenants, lines[3].person) == ((B,), "sdet:T1")
