"""The in-memory index and the writes a confirmed operation makes."""

from __future__ import annotations

import pytest

from farm.index import IndexWrite, LiveIndex, SiteIndex, apply_confirmed, index_writes
from farm.model import Cohort, CohortMembership, Enrolment, IndexEntry, Kind
from farm.operation import Action, Category, Operation
from tests.unit.plan.factory import person

A = "0290009C"


def entry(kind: Kind, key: str, moodle_id: int | None = None, **values: str) -> IndexEntry:
    return IndexEntry(kind, key, moodle_id, "d", values, frozenset({A}))


def test_a_creation_records_the_id_moodle_answered() -> None:
    p = person(1)
    create = Operation(
        Kind.PERSON, Action.CREATE, p.key, Category.CREATE, p, tenants=frozenset({A})
    )

    index = apply_confirmed(SiteIndex(), [create], {(Kind.PERSON, p.key): 42})

    stored = index.get(Kind.PERSON, p.key)
    assert stored == IndexEntry(Kind.PERSON, p.key, 42, p.digest(), p.values(), frozenset({A}))
    assert index.linked_accounts() == {42: p.key}


def test_a_creation_without_its_moodle_id_is_refused() -> None:
    p = person(1)
    create = Operation(
        Kind.PERSON, Action.CREATE, p.key, Category.CREATE, p, tenants=frozenset({A})
    )

    with pytest.raises(ValueError, match="needs the Moodle id"):
        index_writes(SiteIndex(), create)


def test_deleting_a_person_drops_their_links_and_nothing_else() -> None:
    index = SiteIndex(
        [
            entry(Kind.PERSON, "sdet:1", 1),
            entry(Kind.PERSON, "sdet:2", 2),
            entry(Kind.COHORT, "farm_a", 9),
            entry(Kind.COHORT_MEMBER, "farm_a|sdet:1", cohort="farm_a", person="sdet:1"),
            entry(Kind.COHORT_MEMBER, "farm_a|sdet:2", cohort="farm_a", person="sdet:2"),
            entry(
                Kind.ENROLMENT, "C1|sdet:1|student", course="C1", person="sdet:1", role="student"
            ),
        ]
    )
    delete = Operation(
        Kind.PERSON,
        Action.DELETE,
        "sdet:1",
        Category.REMOVE,
        previous=index.get(Kind.PERSON, "sdet:1"),
    )

    writes = index_writes(index, delete)
    after = index.with_writes(writes)

    assert {(w.kind, w.key) for w in writes if w.entry is None} == {
        (Kind.PERSON, "sdet:1"),
        (Kind.COHORT_MEMBER, "farm_a|sdet:1"),
        (Kind.ENROLMENT, "C1|sdet:1|student"),
    }
    assert len(after) == 3
    assert len(index) == 6  # the original is untouched


def test_deleting_a_cohort_drops_its_members() -> None:
    index = SiteIndex(
        [
            entry(Kind.COHORT, "farm_a", 9),
            entry(Kind.COHORT_MEMBER, "farm_a|sdet:1", cohort="farm_a", person="sdet:1"),
        ]
    )
    delete = Operation(
        Kind.COHORT,
        Action.DELETE,
        "farm_a",
        Category.REMOVE,
        previous=index.get(Kind.COHORT, "farm_a"),
    )

    assert apply_confirmed(index, [delete]) == SiteIndex()


def test_links_added_in_the_same_batch_are_dropped_with_their_person() -> None:
    p = person(1)
    index = SiteIndex([entry(Kind.PERSON, p.key, 1), entry(Kind.COHORT, "farm_a", 9)])
    member = CohortMembership("farm_a", p.key)
    add = Operation(
        Kind.COHORT_MEMBER, Action.ADD, member.key, Category.CREATE, member, tenants=frozenset({A})
    )
    delete = Operation(
        Kind.PERSON, Action.DELETE, p.key, Category.REMOVE, previous=index.get(Kind.PERSON, p.key)
    )

    after = apply_confirmed(index, [add, delete])

    assert set(after.of(Kind.COHORT)) == {"farm_a"}
    assert len(after) == 1


def test_suspending_marks_the_entry_and_clears_its_tenants() -> None:
    index = SiteIndex(
        [IndexEntry(Kind.PERSON, "sdet:1", 1, "d", {"suspended": False}, frozenset({A}))]
    )
    suspend = Operation(
        Kind.PERSON,
        Action.SUSPEND,
        "sdet:1",
        Category.REMOVE,
        previous=index.get(Kind.PERSON, "sdet:1"),
    )

    (write,) = index_writes(index, suspend)

    assert write.entry == IndexEntry(
        Kind.PERSON, "sdet:1", 1, "d", {"suspended": True}, frozenset(), True
    )
    with pytest.raises(ValueError, match="not in the index"):
        index_writes(SiteIndex(), suspend)


def test_an_index_can_be_rebuilt_from_its_entries() -> None:
    entries = [entry(Kind.COHORT, "farm_a", 9), entry(Kind.ENROLMENT, "C1|x|student", person="x")]
    index = SiteIndex(entries)

    assert SiteIndex(list(index)) == index
    assert index.with_writes([IndexWrite(Kind.COHORT, "farm_b", None)]) == index
    assert "cohort=1" in repr(index)
    assert Enrolment("C1", "x").key == "C1|x|student"
    assert Cohort("farm_a", "A").key in index.of(Kind.COHORT)


def test_an_index_moved_forward_knows_the_same_dependents_as_one_built_afresh() -> None:
    members = [
        entry(Kind.COHORT_MEMBER, f"farm_a|sdet:{n}", cohort="farm_a", person=f"sdet:{n}")
        for n in range(4)
    ]
    index = SiteIndex([entry(Kind.COHORT, "farm_a", 9), *members])
    index.dependents(Kind.COHORT, "farm_a")  # built once, then carried over
    writes = [
        IndexWrite(Kind.COHORT_MEMBER, "farm_a|sdet:0", None),
        IndexWrite(
            Kind.COHORT_MEMBER,
            "farm_b|sdet:1",
            entry(Kind.COHORT_MEMBER, "farm_b|sdet:1", cohort="farm_b", person="sdet:1"),
        ),
        IndexWrite(Kind.PERSON, "sdet:3", entry(Kind.PERSON, "sdet:3", 3)),
    ]

    after = index.with_writes(writes)
    afresh = SiteIndex(list(after))

    for owner in [(Kind.COHORT, "farm_a"), (Kind.COHORT, "farm_b")] + [
        (Kind.PERSON, f"sdet:{n}") for n in range(4)
    ]:
        assert sorted(after.dependents(*owner)) == sorted(afresh.dependents(*owner)), owner
    assert (Kind.COHORT_MEMBER, "farm_a|sdet:0") not in after.dependents(Kind.COHORT, "farm_a")
    assert len(index.dependents(Kind.COHORT, "farm_a")) == 4  # the original is untouched


def test_a_live_index_moves_forward_in_place_and_leaves_the_index_it_came_from() -> None:
    members = [
        entry(Kind.COHORT_MEMBER, f"farm_a|sdet:{n}", cohort="farm_a", person=f"sdet:{n}")
        for n in range(3)
    ]
    index = SiteIndex([entry(Kind.PERSON, "sdet:0", 1), entry(Kind.COHORT, "farm_a", 9), *members])
    live = LiveIndex(index)
    live.write([IndexWrite(Kind.COHORT_MEMBER, "farm_a|sdet:1", None)])
    live.write(
        [
            IndexWrite(
                Kind.COHORT_MEMBER,
                "farm_a|sdet:7",
                entry(Kind.COHORT_MEMBER, "farm_a|sdet:7", cohort="farm_a", person="sdet:7"),
            )
        ]
    )

    frozen = live.frozen()
    assert frozen == SiteIndex(list(frozen))
    assert sorted(k for _, k in live.dependents(Kind.COHORT, "farm_a")) == [
        "farm_a|sdet:0",
        "farm_a|sdet:2",
        "farm_a|sdet:7",
    ]
    assert len(index.of(Kind.COHORT_MEMBER)) == 3  # the index it was built from is untouched
    assert index.get(Kind.COHORT_MEMBER, "farm_a|sdet:7") is None


def test_a_live_index_copies_only_what_its_writes_change_and_shares_nothing_back() -> None:
    members = [
        entry(Kind.COHORT_MEMBER, f"farm_a|sdet:{n}", cohort="farm_a", person=f"sdet:{n}")
        for n in range(3)
    ]
    people = [entry(Kind.PERSON, f"sdet:{n}", n + 1) for n in range(3)]
    index = SiteIndex([*people, entry(Kind.COHORT, "farm_a", 9), *members])
    before = index.dependents(Kind.COHORT, "farm_a")  # the source's own owners map, built
    live = LiveIndex(index)
    assert live.frozen() is index  # nothing written: nothing copied
    assert live.copied == 0

    live.write([IndexWrite(Kind.COHORT_MEMBER, "farm_a|sdet:1", None)])
    live.write([IndexWrite(Kind.COHORT_MEMBER, "farm_a|sdet:2", None)])

    assert live.copied == 3  # the memberships' table, once, when first written
    assert live.dependents(Kind.COHORT, "farm_a") == ((Kind.COHORT_MEMBER, "farm_a|sdet:0"),)
    assert index.dependents(Kind.COHORT, "farm_a") == before
    assert len(index.of(Kind.COHORT_MEMBER)) == 3
    frozen = live.frozen()
    assert frozen == SiteIndex([*people, entry(Kind.COHORT, "farm_a", 9), members[0]])
    assert frozen.of(Kind.PERSON) is index.of(Kind.PERSON)  # a kind never written stays shared
    assert live.copied == 3 + 1


def test_a_live_index_s_moodle_ids_follow_creations_adoptions_and_deletions() -> None:
    live = LiveIndex(SiteIndex([entry(Kind.PERSON, "sdet:1", 1), entry(Kind.PERSON, "sdet:2", 2)]))
    linked = live.linked_accounts(Kind.PERSON)
    assert dict(linked) == {1: "sdet:1", 2: "sdet:2"}

    live.write(
        [
            IndexWrite(Kind.PERSON, "sdet:3", entry(Kind.PERSON, "sdet:3", 3)),
            IndexWrite(Kind.PERSON, "sdet:2", None),
            # Written twice in one batch: the second write decides.
            IndexWrite(Kind.PERSON, "sdet:1", entry(Kind.PERSON, "sdet:1", 10)),
            IndexWrite(Kind.PERSON, "sdet:1", entry(Kind.PERSON, "sdet:1", 11)),
        ]
    )

    # The view handed out before the writes follows them, as one built afresh would say.
    assert dict(linked) == {3: "sdet:3", 11: "sdet:1"}
    assert dict(linked) == dict(live.frozen().linked_accounts(Kind.PERSON))
    assert dict(live.linked_accounts(Kind.COHORT)) == {}


def test_applying_a_plan_reads_each_operation_s_index_so_a_cascade_sees_links_added_before() -> (
    None
):
    p = person(1)
    cohort = Cohort("farm_a", "A")
    member = CohortMembership("farm_a", p.key)
    index = SiteIndex([entry(Kind.PERSON, p.key, 1), entry(Kind.COHORT, "farm_a", 9)])
    operations = [
        Operation(Kind.COHORT_MEMBER, Action.ADD, member.key, Category.CREATE, member),
        Operation(
            Kind.COHORT,
            Action.DELETE,
            cohort.key,
            Category.REMOVE,
            previous=index.get(Kind.COHORT, "farm_a"),
        ),
    ]

    after = apply_confirmed(index, operations)

    assert after == SiteIndex([entry(Kind.PERSON, p.key, 1)])
    assert index.get(Kind.COHORT, "farm_a") is not None  # the index given is left as it was
