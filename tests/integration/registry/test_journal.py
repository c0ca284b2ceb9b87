"""Reading the journal by tenant, site, person, run, action, entity and time; pruning it.

Three runs on a cité scolaire's site (``lyc``: tenants A and B) and a
second site (``clg``: tenant C) write what a sync would, through
:meth:`Registry.record_confirmation`: creations, a membership, a rename of
Ada's login, her suspension and the deletion of Alan, who leaves the index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy import update as sql_update
from sqlmodel import col

from farm.applied import Applied, Confirmation
from farm.index import IndexWrite, index_writes
from farm.model import Cohort, CohortMembership, IndexEntry, Kind, Person, Record
from farm.operation import Action, Category, Operation
from farm.registry import JournalEntry, Registry, RunId, RunStatus, RunTrigger
from farm.registry.schema import alembic_config
from farm.registry.tables import JournalRow
from tests.integration.registry.farms import build_farm

A, B, C = "0750001A", "0750002B", "0750003C"
LYC, CLG = "lyc", "clg"


def ada(username: str = "ada.l", lastname: str = "LOVELACE") -> Person:
    return Person(
        "sdet:F17", username, "F17", "Ada", lastname, "ada@example.org",
        establishments=frozenset({A}),
    )  # fmt: skip


def alan() -> Person:
    return Person(
        "sdet:G20", "alan.t", "G20", "Alan", "TURING", "alan@example.org",
        establishments=frozenset({B}),
    )  # fmt: skip


def grace() -> Person:
    return Person(
        "sdet:H30", "grace.h", "H30", "Grace", "HOPPER", "grace@example.org",
        establishments=frozenset({C}),
    )  # fmt: skip


COHORT = Cohort("farm:0750001A:2nde1", "2nde 1", establishment=A)


def record(registry: Registry, site: str, run: RunId, *operations: Operation) -> None:
    """Record ``operations`` as one batch Moodle confirmed, ids counted from 100."""
    index = registry.site_index(site)
    applied: list[Applied] = []
    writes: list[IndexWrite] = []
    for n, op in enumerate(operations, 100):
        moodle_id = n if op.action is Action.CREATE else None
        applied.append(Applied(op, moodle_id))
        writes.extend(index_writes(index, op, moodle_id))
    registry.record_confirmation(site, Confirmation(tuple(applied), tuple(writes)), run_id=run)


def creation(rec: Record, tenants: Iterable[str]) -> Operation:
    adding = Action.ADD if rec.KIND is Kind.COHORT_MEMBER else Action.CREATE
    return Operation(rec.KIND, adding, rec.key, Category.CREATE, rec, None, {}, frozenset(tenants))


def entry(registry: Registry, site: str, key: str) -> IndexEntry:
    found = registry.site_index(site).get(Kind.PERSON, key)
    assert found is not None, f"{key} is not in {site}'s index"
    return found


def update(before: IndexEntry, after: Person, **extra: tuple[Any, Any]) -> Operation:
    values = after.values()
    changes: dict[str, tuple[Any, Any]] = {
        name: (before.values.get(name), value)
        for name, value in values.items()
        if before.values.get(name) != value
    }
    changes.update(extra)
    return Operation(
        Kind.PERSON, Action.UPDATE, after.key, Category.UPDATE, after, before, changes,
        before.tenants,
    )  # fmt: skip


def removal(before: IndexEntry, action: Action) -> Operation:
    changes = {"suspended": (False, True)} if action is Action.SUSPEND else {}
    return Operation(Kind.PERSON, action, before.key, Category.REMOVE, None, before, changes)


@dataclass
class History:
    registry: Registry
    url: str
    runs: tuple[RunId, RunId, RunId]

    def backdate(self, run: RunId, days: int, *, seqs: Iterable[int] | None = None) -> None:
        """Move lines of ``run`` (all, or these ``seqs``) ``days`` into the past."""
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                moved = sql_update(JournalRow).where(col(JournalRow.run_id) == run)
                if seqs is not None:
                    moved = moved.where(col(JournalRow.seq).in_(list(seqs)))
                connection.execute(moved.values(at=datetime.now(UTC) - timedelta(days=days)))
        finally:
            engine.dispose()


@pytest.fixture
def history(registry: Registry, registry_url: str, tmp_path: Path) -> History:
    registry.load_farm(build_farm(tmp_path, {LYC: {A: "Lycée A", B: "Collège B"}, CLG: {C: "C"}}))
    first, second, third = (registry.start_run(trigger=RunTrigger.BATCH) for _ in range(3))
    record(
        registry,
        LYC,
        first,
        creation(ada(), {A}),
        creation(alan(), {B}),
        creation(COHORT, {A}),
    )
    record(registry, LYC, first, creation(CohortMembership(COHORT.key, "sdet:F17"), {A}))
    record(registry, CLG, first, creation(grace(), {C}))
    renamed = ada("ada.lovelace", "LOVELACE-BYRON")
    record(registry, LYC, second, update(entry(registry, LYC, "sdet:F17"), renamed))
    record(
        registry,
        LYC,
        third,
        removal(entry(registry, LYC, "sdet:F17"), Action.SUSPEND),
        removal(entry(registry, LYC, "sdet:G20"), Action.DELETE),
    )
    for run in (first, second, third):
        registry.finish_run(run, RunStatus.SUCCEEDED)
    return History(registry, registry_url, (first, second, third))


def lines(found: list[JournalEntry]) -> list[tuple[int, str, str]]:
    return [(e.run_id, e.action, e.key) for e in found]


def test_each_line_names_its_tenants_and_its_person(history: History) -> None:
    first, _, third = history.runs
    created = {e.key: e for e in history.registry.journal(first)}
    assert created["sdet:F17"].tenants == (A,)
    assert created["sdet:F17"].person == "sdet:F17"
    assert created[f"{COHORT.key}|sdet:F17"].person == "sdet:F17"
    assert created[COHORT.key].person is None
    assert created[COHORT.key].tenants == (A,)
    # A removal has no tenants left: the line keeps the ones the index held.
    removed = {e.key: e for e in history.registry.journal(third)}
    assert (removed["sdet:F17"].action, removed["sdet:F17"].tenants) == ("suspend", (A,))
    assert (removed["sdet:G20"].action, removed["sdet:G20"].tenants) == ("delete", (B,))


@pytest.mark.parametrize(
    "who", ["sdet:F17", "ada.lovelace", "ADA.LOVELACE", "ada.l", "F17", "f17", " F17 "]
)
def test_a_person_is_found_by_source_key_login_old_login_idnumber_or_uid(
    history: History, who: str
) -> None:
    first, second, third = history.runs
    found = history.registry.journal_entries(person=who)
    # The account's changes and its membership, newest first, on every run.
    assert lines(found) == [
        (third, "suspend", "sdet:F17"),
        (second, "update", "sdet:F17"),
        (first, "add", f"{COHORT.key}|sdet:F17"),
        (first, "create", "sdet:F17"),
    ]
    assert history.registry.person_keys(who) == ("sdet:F17",)
    rename = found[1]
    assert rename.old == {"username": "ada.l", "lastname": "LOVELACE"}
    assert rename.new == {"username": "ada.lovelace", "lastname": "LOVELACE-BYRON"}


def test_an_account_gone_from_the_index_is_found_by_the_journal_alone(history: History) -> None:
    assert [e.key for e in history.registry.index_entries(LYC, "person")] == ["sdet:F17"]
    _, _, third = history.runs
    found = history.registry.journal_entries(person="alan.t", oldest_first=True)
    assert lines(found) == [(history.runs[0], "create", "sdet:G20"), (third, "delete", "sdet:G20")]
    assert found[1].old is not None
    assert found[1].old["lastname"] == "TURING"
    assert history.registry.journal_entries(person="nobody") == []
    # A pattern character is a character, not a wildcard.
    assert history.registry.journal_entries(person="%") == []
    assert history.registry.journal_entries(person="") == []


def test_tenant_site_run_action_and_entity_each_narrow_the_journal(history: History) -> None:
    first, second, third = history.runs
    journal = history.registry.journal_entries
    everything = journal()
    assert len(everything) == 8
    assert lines(journal(tenant=B)) == [
        (third, "delete", "sdet:G20"),
        (first, "create", "sdet:G20"),
    ]
    assert {e.key for e in journal(tenant=A)} == {
        "sdet:F17",
        COHORT.key,
        f"{COHORT.key}|sdet:F17",
    }
    assert lines(journal(site=CLG)) == [(first, "create", "sdet:H30")]
    assert journal(tenant=C) == journal(site=CLG)
    assert lines(journal(run_id=second)) == [(second, "update", "sdet:F17")]
    assert {e.action for e in journal(actions=["suspend", "delete"])} == {"suspend", "delete"}
    assert lines(journal(entities=["cohort_member"])) == [(first, "add", f"{COHORT.key}|sdet:F17")]
    assert lines(journal(person="ada.l", actions=["create"], tenant=A)) == [
        (first, "create", "sdet:F17")
    ]
    assert journal(person="ada.l", tenant=B) == []
    assert journal(run_id=RunId(third + 100)) == []


def test_order_limit_and_time_range(history: History) -> None:
    first, second, third = history.runs
    history.backdate(first, 10)
    history.backdate(second, 5)
    journal = history.registry.journal_entries
    newest = journal()
    assert newest == list(reversed(journal(oldest_first=True)))
    assert [e.run_id for e in newest] == [third] * 2 + [second] + [first] * 5
    # Within one time, lines keep their write order.
    assert [e.seq for e in journal(run_id=first, site=LYC, oldest_first=True)] == [1, 2, 3, 4]
    assert lines(journal(limit=2)) == [
        (third, "delete", "sdet:G20"),
        (third, "suspend", "sdet:F17"),
    ]
    now = datetime.now(UTC)
    assert {e.run_id for e in journal(since=now - timedelta(days=7))} == {second, third}
    assert {e.run_id for e in journal(until=now - timedelta(days=7))} == {first}
    week = journal(since=now - timedelta(days=7), until=now - timedelta(days=1))
    assert lines(week) == [(second, "update", "sdet:F17")]
    with pytest.raises(ValueError, match="timezone-aware"):
        journal(since=datetime(2026, 1, 1))


def test_a_secret_in_a_record_s_values_is_masked(history: History) -> None:
    registry = history.registry
    run = registry.start_run(trigger=RunTrigger.BATCH)
    op = update(
        entry(registry, CLG, "sdet:H30"),
        grace(),
        password=("old-s3cret", "new-s3cret"),
        profile_fields=({}, {"uai": C, "ent_password": "field-s3cret"}),
    )
    record(registry, CLG, run, op)

    (line,) = registry.journal_entries(run_id=run)
    assert line.old == {"password": "***", "profile_fields": {}}
    assert line.new == {"password": "***", "profile_fields": {"uai": C, "ent_password": "***"}}
    assert "s3cret" not in repr(registry.journal_entries(person="grace.h"))


def test_prune_deletes_whole_finished_runs_older_than_the_cut_and_says_which(
    history: History,
) -> None:
    first, second, third = history.runs
    registry = history.registry
    history.backdate(first, 400)
    # Half of a run older than the cut: the run stays whole.
    history.backdate(third, 400, seqs=[1])
    running = registry.start_run(trigger=RunTrigger.BATCH)
    record(registry, CLG, running, update(entry(registry, CLG, "sdet:H30"), grace()))
    history.backdate(running, 400)
    cut = datetime.now(UTC) - timedelta(days=365)

    preview = registry.journal_runs_before(cut)
    assert [(r.run_id, r.lines) for r in preview] == [(first, 5)]
    assert preview[0].oldest <= preview[0].newest < cut
    assert len(registry.journal_entries()) == 9  # the preview deleted nothing

    deleted = registry.prune_journal(cut)

    assert deleted == preview
    remaining = registry.journal_entries()
    assert {e.run_id for e in remaining} == {second, third, running}
    assert len(remaining) == 9 - 5
    assert registry.journal(first) == []
    assert registry.prune_journal(cut) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        registry.journal_runs_before(datetime(2026, 1, 1))


def test_revision_0007_gives_earlier_lines_their_person_and_no_tenants(
    registry_url: str, tmp_path: Path
) -> None:
    engine = create_engine(registry_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0006")
    engine.dispose()
    with Registry.open(registry_url, check=False) as older:
        older.load_farm(build_farm(tmp_path, {LYC: {A: "Lycée A"}}))
        run = older.start_run(trigger=RunTrigger.BATCH)
    engine = create_engine(registry_url)
    postgres = engine.dialect.name == "postgresql"
    json = "CAST({} AS jsonb)" if postgres else "{}"
    insert = text(
        'INSERT INTO journal (run_id, site, seq, entity, action, "key", old, new, at) '  # noqa: S608
        f"VALUES (:run, 'lyc', :seq, :entity, :action, :key, {json.format(':old')}, "
        f"{json.format(':new')}, :at)"
    )
    now = datetime.now(UTC)
    # SQLite keeps naive UTC text (farm.registry.database.UTCDateTime).
    at: object = now if postgres else now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    earlier = [
        ("person", "create", "sdet:F17", "null", '{"username": "ada.l"}'),
        ("cohort_member", "add", "c|sdet:F17", "null", '{"person": "sdet:F17"}'),
        ("cohort_member", "remove", "c|sdet:G20", '{"person": "sdet:G20"}', "null"),
        ("cohort", "create", "c", "null", '{"name": "c"}'),
    ]
    with engine.begin() as connection:
        for seq, (entity, action, key, old, new) in enumerate(earlier, 1):
            connection.execute(
                insert,
                {"run": run, "seq": seq, "entity": entity, "action": action, "key": key,
                 "old": old, "new": new, "at": at},
            )  # fmt: skip
    engine.dispose()

    with Registry.open(registry_url, check=False) as registry:
        registry.upgrade()
        found = registry.journal(run)
        assert [(e.key, e.person, e.tenants) for e in found] == [
            ("sdet:F17", "sdet:F17", ()),
            ("c|sdet:F17", "sdet:F17", ()),
            ("c|sdet:G20", "sdet:G20", ()),
            ("c", None, ()),
        ]
        assert lines(registry.journal_entries(person="ada.l")) == [
            (run, "add", "c|sdet:F17"),
            (run, "create", "sdet:F17"),
        ]
    # And back: the revision's downgrade leaves the lines as 0006 had them.
    engine = create_engine(registry_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0006")
        count = connection.execute(text("SELECT count(*) FROM journal")).scalar_one()
        columns = connection.execute(text("SELECT * FROM journal")).keys()
    engine.dispose()
    assert count == 4
    assert "tenants" not in columns
    assert "person" not in columns
