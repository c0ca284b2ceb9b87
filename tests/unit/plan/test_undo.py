"""Undo: a run's journal and today's index make the operations that take the run back.

Each "run" here is a real plan (:func:`farm.plan.plan_site`) confirmed
operation by operation as the applier does (:func:`farm.index.index_writes`),
journalled by the registry's own rule (:func:`farm.registry.journal.journal_lines`).
The undo's operations are confirmed the same way, and the index they leave
is compared, entry by entry, with the index before the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import count
from typing import Any

from farm.applied import Applied, Confirmation
from farm.index import SiteIndex, index_writes
from farm.model import Cohort, CohortMembership, Group, IndexEntry, Kind, Person
from farm.operation import Action, Category, Operation
from farm.options import CohortRetirementPolicy
from farm.registry.journal import journal_lines
from farm.registry.rows import JournalEntry, RunId
from farm.stored_plan import field_changes
from farm.undo import CreatedPolicy, LeftAlone, Undo, invert

from .factory import PREFIX, person, plan, synced, tenant

UAI = "0290009C"
NIGHT = 7
_ids = count(5000)


def cohort(name: str) -> Cohort:
    return Cohort(f"{PREFIX}{name}", f"Classe {name}")


def members(name: str, *people: int) -> list[CohortMembership]:
    return [CohortMembership(f"{PREFIX}{name}", f"sdet:{n}") for n in people]


def confirm(
    index: SiteIndex, operations: Iterable[Operation], run: int
) -> tuple[SiteIndex, list[JournalEntry]]:
    """Confirm each operation as Moodle would; the index after, and the run's journal lines."""
    lines: list[JournalEntry] = []
    for op in operations:
        made = next(_ids) if op.action is Action.CREATE and op.kind.has_moodle_id else None
        writes = index_writes(index, op, made)
        for line in journal_lines(Confirmation((Applied(op, made),), writes)):
            lines.append(
                JournalEntry(
                    RunId(run), "lycee", len(lines) + 1, line.entity, line.action, line.key,
                    line.moodle_id, line.old, line.new, datetime.now(UTC), line.tenants,
                    line.person,
                )
            )  # fmt: skip
        index = index.with_writes(writes)
    return index, lines


def state(index: SiteIndex) -> dict[tuple[Kind, str], tuple[Any, ...]]:
    """Every entry's values, tenants and suspension: what an undo must give back."""
    return {(e.kind, e.key): (dict(e.values), e.tenants, e.suspended) for e in index}


def ids(index: SiteIndex) -> dict[tuple[Kind, str], int | None]:
    return {(e.kind, e.key): e.moodle_id for e in index}


def before() -> tuple[list[Person], SiteIndex]:
    people = [person(n, tenants=(UAI,)) for n in range(1, 7)]
    index = synced(
        tenant(
            UAI,
            people,
            cohorts=[cohort("a"), cohort("b"), cohort("gone")],
            members=[*members("a", 1, 2, 3), *members("b", 4, 5), *members("gone", 6)],
        ),
        cohort_retirement=CohortRetirementPolicy.DELETE,
    )
    return people, index


def night(people: list[Person], index: SiteIndex) -> tuple[SiteIndex, list[JournalEntry]]:
    """Renames 2, suspends 6, moves 3 from a to b, deletes cohort gone, creates 7 and cohort new."""
    staying = [replace(p, lastname="RENOMMÉ") if p.key == "sdet:2" else p for p in people[:5]]
    newcomer = person(7, tenants=(UAI,))
    planned = plan(
        index,
        tenant(
            UAI,
            [*staying, newcomer],
            cohorts=[cohort("a"), cohort("b"), cohort("new")],
            members=[*members("a", 1, 2, 7), *members("b", 3, 4, 5), *members("new", 1, 7)],
        ),
        cohort_retirement=CohortRetirementPolicy.DELETE,
    )
    assert planned.blocked is None
    return confirm(index, planned.operations, NIGHT)


def actions(undo: Undo) -> list[tuple[str, str, str]]:
    return [(op.kind.value, op.action.value, op.key) for op in undo.operations]


def test_the_undo_of_a_night_gives_the_index_back_entry_by_entry() -> None:
    people, start = before()
    after, lines = night(people, start)
    assert {(line.entity, line.action) for line in lines} >= {
        ("person", "update"),
        ("person", "suspend"),
        ("person", "create"),
        ("cohort", "delete"),
        ("cohort_member", "remove"),
    }

    undo = invert(lines, after, run_id=NIGHT, created=CreatedPolicy.DELETE)

    assert undo.left_alone == ()
    assert actions(undo) == [
        ("person", "update", "sdet:2"),
        ("person", "revive", "sdet:6"),
        ("cohort", "create", f"{PREFIX}gone"),
        ("cohort_member", "add", f"{PREFIX}a|sdet:3"),
        ("cohort_member", "add", f"{PREFIX}gone|sdet:6"),
        ("cohort_member", "remove", f"{PREFIX}b|sdet:3"),
        ("cohort", "delete", f"{PREFIX}new"),
        ("person", "delete", "sdet:7"),
    ]
    rename = undo.operations[0]
    assert dict(rename.changes) == {"lastname": ("RENOMMÉ", "Martin2")}
    assert rename.previous == after.get(Kind.PERSON, "sdet:2")
    revive = undo.operations[1]
    assert dict(revive.changes) == {"suspended": (True, False)}
    assert revive.tenants == {UAI}
    assert field_changes(undo.operations[2])[:2] == [
        ("idnumber", None, f"{PREFIX}gone"),
        ("name", None, "Classe gone"),
    ]
    undone, _ = confirm(after, undo.operations, NIGHT + 1)
    assert state(undone) == state(start)
    # The same Moodle objects, but the cohort created again: Moodle gives it a new id.
    changed = {rid for rid, moodle_id in ids(undone).items() if ids(start)[rid] != moodle_id}
    assert changed == {(Kind.COHORT, f"{PREFIX}gone")}


def test_created_accounts_are_suspended_by_default_and_lose_the_run_s_links() -> None:
    people, start = before()
    after, lines = night(people, start)

    undo = invert(lines, after, run_id=NIGHT)

    assert ("person", "suspend", "sdet:7") in actions(undo)
    assert ("cohort_member", "remove", f"{PREFIX}a|sdet:7") in actions(undo)
    # Its membership of the new cohort goes with the cohort.
    assert ("cohort_member", "remove", f"{PREFIX}new|sdet:7") not in actions(undo)
    undone, _ = confirm(after, undo.operations, NIGHT + 1)
    kept = state(undone)
    values, tenants, suspended = kept.pop((Kind.PERSON, "sdet:7"))
    assert (values["suspended"], tenants, suspended) == (True, frozenset(), True)
    assert kept == state(start)


def test_the_undo_of_the_undo_gives_the_night_back() -> None:
    people, start = before()
    after, lines = night(people, start)
    undo = invert(lines, after, run_id=NIGHT, created=CreatedPolicy.DELETE)
    undone, undo_lines = confirm(after, undo.operations, NIGHT + 1)

    again = invert(undo_lines, undone, run_id=NIGHT + 1, created=CreatedPolicy.DELETE)

    assert again.left_alone == ()
    redone, _ = confirm(undone, again.operations, NIGHT + 2)
    assert state(redone) == state(after)


def test_a_record_changed_again_later_is_left_alone_unless_listed() -> None:
    people, start = before()
    after, lines = night(people, start)
    later = {(Kind.PERSON, "sdet:2"): [NIGHT + 3], (Kind.COHORT_MEMBER, f"{PREFIX}b|sdet:3"): [9]}

    undo = invert(lines, after, run_id=NIGHT, later=later)

    assert {(op.kind, op.key) for op in undo.operations}.isdisjoint(later)
    assert [str(item) for item in undo.left_alone] == [
        f"person sdet:2 (user2): changed again by run {NIGHT + 3}; "
        "--include sdet:2 undoes it anyway",
        f"cohort_member {PREFIX}b|sdet:3: changed again by run 9; "
        f"--include {PREFIX}b|sdet:3 undoes it anyway",
    ]
    assert undo.left_alone[0].later == (NIGHT + 3,)
    assert undo.notes()[1] == f"left alone: {undo.left_alone[0]}"

    listed = invert(lines, after, run_id=NIGHT, later=later, include={"sdet:2"})
    assert ("person", "update", "sdet:2") in actions(listed)
    assert [item.key for item in listed.left_alone] == [f"{PREFIX}b|sdet:3"]


def test_the_index_no_longer_holding_what_the_run_wrote_is_left_alone() -> None:
    people, start = before()
    after, lines = night(people, start)
    entry = after.get(Kind.PERSON, "sdet:2")
    assert entry is not None
    edited = replace(entry, values={**entry.values, "lastname": "AUTRE"})
    index = SiteIndex([*(e for e in after if e != entry), edited])

    undo = invert(lines, index, run_id=NIGHT)

    (left,) = undo.left_alone
    assert (left.key, left.includable) == ("sdet:2", True)
    assert "lastname is 'AUTRE', the run wrote 'RENOMMÉ'" in left.reason
    forced = invert(lines, index, run_id=NIGHT, include={"sdet:2"})
    (rename,) = [op for op in forced.operations if op.key == "sdet:2"]
    assert dict(rename.changes) == {"lastname": ("AUTRE", "Martin2")}


def test_a_created_cohort_holding_links_the_run_did_not_add_is_not_deleted() -> None:
    people, start = before()
    after, lines = night(people, start)
    # A later run added person 4 to the new cohort; it did not touch the cohort itself.
    link = IndexEntry(
        Kind.COHORT_MEMBER, f"{PREFIX}new|sdet:4", None, "d",
        {"cohort": f"{PREFIX}new", "person": "sdet:4"}, frozenset({UAI}),
    )  # fmt: skip
    index = SiteIndex([*after, link])

    undo = invert(lines, index, run_id=NIGHT)

    (left,) = undo.left_alone
    assert left.key == f"{PREFIX}new"
    assert left.reason.startswith(f"holds 1 link(s) run {NIGHT} did not add ({PREFIX}new|sdet:4)")
    # Not deleted, so the members the run added are removed one by one.
    assert ("cohort_member", "remove", f"{PREFIX}new|sdet:1") in actions(undo)


def test_a_revival_is_undone_by_a_suspension_and_its_other_changes_restored() -> None:
    people, start = before()
    after, _ = night(people, start)
    back = replace(people[5], firstname="Revenue")
    planned = plan(after, tenant(UAI, [*people[:5], back], cohorts=[cohort("a")]))
    revived, revive_lines = confirm(after, planned.operations, NIGHT + 1)
    assert ("person", "revive") in {(line.entity, line.action) for line in revive_lines}

    undo = invert(revive_lines, revived, run_id=NIGHT + 1)

    six = [op for op in undo.operations if op.key == "sdet:6"]
    assert [(op.action, dict(op.changes)) for op in six] == [
        (Action.UPDATE, {"firstname": ("Revenue", "Anne")}),
        (Action.SUSPEND, {"suspended": (False, True)}),
    ]
    undone, _ = confirm(revived, six, NIGHT + 2)
    assert state(undone)[(Kind.PERSON, "sdet:6")] == state(after)[(Kind.PERSON, "sdet:6")]


def lines_of(run: int, *items: tuple[Kind, str, str, Any, Any]) -> Sequence[JournalEntry]:
    at = datetime.now(UTC)
    return [
        JournalEntry(RunId(run), "lycee", n, kind.value, action, key, None, old, new, at, (UAI,))
        for n, (kind, action, key, old, new) in enumerate(items, 1)
    ]


def test_what_cannot_be_taken_back_is_said_and_needs_no_include() -> None:
    group = Group("C1", f"{PREFIX}g", "Groupe")
    account = person(8, tenants=(UAI,))
    index = SiteIndex(
        [
            IndexEntry(Kind.GROUP, group.key, 40, group.digest(), group.values(), frozenset({UAI})),
            IndexEntry(
                Kind.PERSON, account.key, 41, account.digest(), account.values(), frozenset({UAI})
            ),
        ]
    )
    lines = lines_of(
        NIGHT,
        (Kind.GROUP, "create", group.key, None, group.values()),
        (Kind.PERSON, "adopt", account.key, {"matched_by": "idnumber"}, account.values()),
        (Kind.COHORT, "adopt", f"{PREFIX}x", None, {"idnumber": f"{PREFIX}x"}),
    )

    undo = invert(lines, index, run_id=NIGHT)

    assert undo.operations == ()
    assert [(item.key, item.includable) for item in undo.left_alone] == [
        (group.key, False),
        (account.key, False),
        (f"{PREFIX}x", False),
    ]
    assert "cannot undo it" in undo.left_alone[0].reason
    assert undo.left_alone[1].reason.startswith("adopted as it was")


def test_an_adopted_account_gets_the_values_it_had_back() -> None:
    account = person(8, tenants=(UAI,))
    index = SiteIndex(
        [
            IndexEntry(
                Kind.PERSON, account.key, 41, account.digest(), account.values(), frozenset({UAI})
            )
        ]
    )
    found = {"firstname": "Anne-Marie", "email": "am@old.example", "matched_by": "idnumber"}
    lines = lines_of(NIGHT, (Kind.PERSON, "adopt", account.key, found, account.values()))

    (op,) = invert(lines, index, run_id=NIGHT).operations

    assert (op.action, op.category) == (Action.UPDATE, Category.UPDATE)
    assert dict(op.changes) == {
        "firstname": ("Anne", "Anne-Marie"),
        "email": ("user8@example.fr", "am@old.example"),
    }
    assert isinstance(op.record, Person)
    assert op.record.email == "am@old.example"


def test_a_link_a_forced_run_added_again_needs_nothing() -> None:
    _, start = before()
    key = f"{PREFIX}a|sdet:1"
    lines = lines_of(NIGHT, (Kind.COHORT_MEMBER, "add", key, None, {"cohort": "x", "person": "y"}))

    undo = invert(lines, start, run_id=NIGHT, existed={(Kind.COHORT_MEMBER, key)})

    assert undo.operations == ()
    assert undo.left_alone == (
        LeftAlone(
            Kind.COHORT_MEMBER, key, "there before the run, which added it again: nothing to undo"
        ),
    )


def test_the_undo_of_a_rentree_archive_renames_and_shows_last_years_cohort_again() -> None:
    people, start = before()
    planned = plan(
        start,
        tenant(UAI, people, cohorts=[cohort("a"), cohort("b")], members=[*members("a", 1, 2, 3)]),
        cohort_retirement=CohortRetirementPolicy.ARCHIVE,
    )
    after, lines = confirm(start, planned.operations, NIGHT)
    archived = after.get(Kind.COHORT, f"{PREFIX}gone")
    assert archived is not None
    assert archived.values["name"] == "Classe gone (archived)"

    undo = invert(lines, after, run_id=NIGHT)

    assert undo.left_alone == ()
    rename, reindex = [op for op in undo.operations if op.kind is Kind.COHORT]
    assert (rename.action, dict(rename.changes)) == (
        Action.UPDATE,
        {"name": ("Classe gone (archived)", "Classe gone")},
    )
    assert (reindex.action, reindex.tenants) == (Action.REINDEX, frozenset({UAI}))
    assert isinstance(rename.record, Cohort)
    assert rename.record.visible is True
    undone, _ = confirm(after, undo.operations, NIGHT + 1)
    assert state(undone) == state(start)
