"""The per-site index changes one confirmed batch at a time, with its journal."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sa_text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from farm.applied import Applied, Confirmation
from farm.index import SiteIndex, index_writes
from farm.index_values import JsonValues
from farm.model import Cohort, Kind
from farm.operation import Action, Category, Operation
from farm.registry import Registry, RunId, RunTrigger
from tests.confirmations import created, deleted, person, renamed
from tests.integration.registry.farms import build_farm


@pytest.fixture
def site(registry: Registry, tmp_path: Path) -> str:
    registry.load_farm(build_farm(tmp_path, {"lyc-a": {"0750001A": "Lycée A"}, "clg": {}}))
    return "lyc-a"


def test_a_batch_upserts_and_deletes_entries_and_journals_them(
    registry: Registry, site: str
) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    ada, alan = person("sdet:1", "Ada"), person("sdet:2", "Alan")
    cohort = Cohort("farm:2nde1", "2nde 1")
    registry.record_confirmation(site, created(SiteIndex(), [ada, alan, cohort]), run_id=run)
    index = registry.site_index(site)
    registry.record_confirmation(site, renamed(index, "sdet:1", "Ada L."), run_id=run)
    registry.record_confirmation(site, deleted(registry.site_index(site), ["sdet:2"]), run_id=run)

    users = registry.index_entries(site, "person")
    assert [(e.key, e.moodle_id, e.values["firstname"]) for e in users] == [
        ("sdet:1", 101, "Ada L.")
    ]
    assert users[0].tenants == ("0750001A",)
    assert users[0].run_id == run
    assert [e.key for e in registry.index_entries(site)] == ["farm:2nde1", "sdet:1"]
    assert registry.index_entries("clg") == []
    # What the planner reads back is what was recorded, in the core's own types.
    entry = registry.site_index(site).get(Kind.PERSON, "sdet:1")
    assert entry is not None
    assert (entry.moodle_id, entry.tenants) == (101, frozenset({"0750001A"}))
    assert entry.digest == person("sdet:1", "Ada L.").digest()
    lines = registry.journal(run, site)
    assert [(j.seq, j.entity, j.action, j.key) for j in lines] == [
        (1, "person", "create", "sdet:1"),
        (2, "person", "create", "sdet:2"),
        (3, "cohort", "create", "farm:2nde1"),
        (4, "person", "update", "sdet:1"),
        (5, "person", "delete", "sdet:2"),
    ]
    assert (lines[3].old, lines[3].new) == ({"firstname": "Ada"}, {"firstname": "Ada L."})
    assert lines[4].old is not None
    assert lines[4].old["firstname"] == "Alan"


def test_a_batch_that_fails_leaves_the_index_as_it_was(registry: Registry, site: str) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    registry.record_confirmation(site, created(SiteIndex(), [person("sdet:1")]), run_id=run)
    index = registry.site_index(site)
    batch = renamed(index, "sdet:1", "CHANGED")
    batch = Confirmation(
        batch.applied + created(index, [person("sdet:3")], 103).applied,
        batch.writes + created(index, [person("sdet:3")], 103).writes,
    )

    with pytest.raises(IntegrityError):
        # No such run: the journal lines are refused, and the index writes with them.
        registry.record_confirmation(site, batch, run_id=RunId(run + 1000))

    assert [(e.key, e.values["firstname"]) for e in registry.index_entries(site)] == [
        ("sdet:1", "Ada")
    ]
    assert len(registry.journal(run)) == 1


def test_a_large_batch_is_recorded_whole(registry: Registry, site: str) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    people = [person(f"sdet:{n:05d}") for n in range(1200)]
    registry.record_confirmation(site, created(SiteIndex(), people, 0), run_id=run)
    gone = [p.key for p in people[:1100]]
    registry.record_confirmation(site, deleted(registry.site_index(site), gone), run_id=run)
    assert [e.moodle_id for e in registry.index_entries(site)] == list(range(1100, 1200))
    assert len(registry.journal(run, site)) == 2300


def test_a_suspension_and_a_reindex_read_back_as_recorded(registry: Registry, site: str) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    registry.record_confirmation(
        site, created(SiteIndex(), [person("sdet:1"), person("sdet:2")]), run_id=run
    )
    index = registry.site_index(site)
    entry = index.get(Kind.PERSON, "sdet:2")
    assert entry is not None
    suspend = Operation(
        Kind.PERSON, Action.SUSPEND, "sdet:2", Category.REMOVE, None, entry,
        {"suspended": (False, True)}, frozenset(),
    )  # fmt: skip
    registry.record_confirmation(
        site, Confirmation((Applied(suspend),), index_writes(index, suspend)), run_id=run
    )
    index = registry.site_index(site)
    kept = index.get(Kind.PERSON, "sdet:1")
    assert kept is not None
    # The person joins a second establishment: only the tenants of the entry read back change.
    both = frozenset({"0750001A", "0750002B"})
    reindex = Operation(
        Kind.PERSON, Action.REINDEX, "sdet:1", Category.UPDATE, None, kept, {}, both
    )
    registry.record_confirmation(
        site, Confirmation((Applied(reindex),), index_writes(index, reindex)), run_id=run
    )

    read = registry.site_index(site)
    gone, moved = read.get(Kind.PERSON, "sdet:2"), read.get(Kind.PERSON, "sdet:1")
    assert gone is not None
    assert moved is not None
    assert (gone.suspended, gone.tenants, gone.values["suspended"]) == (True, frozenset(), True)
    assert (moved.suspended, moved.tenants) == (False, both)
    assert moved.values == person("sdet:1").values()
    assert [(e.key, e.suspended, e.tenants) for e in registry.index_entries(site)] == [
        ("sdet:1", False, ("0750001A", "0750002B")),
        ("sdet:2", True, ()),
    ]


def stored_texts(registry_url: str) -> tuple[str, str]:
    """The one index row's values and the one journal line's new values, as SQLite holds them."""
    engine = create_engine(registry_url)
    with engine.connect() as connection:
        stored = connection.execute(sa_text('SELECT "values" FROM index_entry')).scalar_one()
        line = connection.execute(sa_text("SELECT new FROM journal")).scalar_one()
    engine.dispose()
    return stored, line


def test_a_confirmed_record_is_stored_as_one_text_in_its_index_row_and_journal_line(
    registry: Registry, registry_url: str, site: str
) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    ada = person("sdet:1", "Adélaïde")
    batch = created(SiteIndex(), [ada])
    kept = batch.writes[0].entry.values if batch.writes[0].entry is not None else None
    assert isinstance(kept, JsonValues)
    assert kept == ada.values()

    registry.record_confirmation(site, batch, run_id=run)

    assert registry.site_index(site).get(Kind.PERSON, "sdet:1") == batch.writes[0].entry
    assert registry.journal(run, site)[0].new == ada.values()
    if registry_url.startswith("sqlite"):
        stored, line = stored_texts(registry_url)
        assert (stored, line) == (kept.text, kept.text)
        assert json.loads(stored)["firstname"] == "Adélaïde"


def test_values_that_come_with_their_json_text_are_stored_as_that_text(
    registry: Registry, registry_url: str, site: str
) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    ada = person("sdet:1")
    # Values read from an index come with their text (spaced, unlike the registry's encoder).
    text = json.dumps(ada.values())
    batch = created(SiteIndex(), [ada])
    write = batch.writes[0]
    assert write.entry is not None
    entry = replace(write.entry, values=JsonValues(text))
    registry.record_confirmation(
        site, Confirmation(batch.applied, (replace(write, entry=entry),)), run_id=run
    )

    assert registry.site_index(site).get(Kind.PERSON, "sdet:1") == entry
    assert registry.journal(run, site)[0].new == ada.values()
    if registry_url.startswith("sqlite"):
        # Stored as given, the index row and the creation's journal line alike.
        assert stored_texts(registry_url) == (text, text)


def test_batches_of_several_sites_recorded_at_once_share_a_transaction_and_fail_alone(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sites = {"lyc-a": {"0750001A": "A"}, "lyc-b": {"0750002B": "B"}, "clg": {"0750003C": "C"}}
    registry.load_farm(build_farm(tmp_path, sites))
    run = registry.start_run(trigger=RunTrigger.BATCH)
    # The first transaction waits until the other batches are queued behind it.
    queued = threading.Event()
    transactions: list[int] = []
    real = registry.transaction

    @contextmanager
    def held() -> Iterator[Connection]:
        transactions.append(len(transactions))
        if len(transactions) == 1:
            assert queued.wait(30)
        with real() as connection:
            yield connection

    monkeypatch.setattr(registry, "transaction", held)
    outcomes: dict[str, Exception | None] = {}

    def record(name: str, site: str, batch: Confirmation, run_id: RunId) -> threading.Thread:
        def one() -> None:
            try:
                registry.record_confirmation(site, batch, run_id=run_id)
                outcomes[name] = None
            except Exception as error:
                outcomes[name] = error

        thread = threading.Thread(target=one)
        thread.start()
        return thread

    threads = [record("first", "lyc-a", created(SiteIndex(), [person("sdet:1")], 1), run)]
    while not transactions:
        time.sleep(0.01)
    for name, site, key, run_id in [
        ("b", "lyc-b", "sdet:2", run),
        ("bad", "clg", "sdet:3", RunId(run + 1000)),  # no such run: its journal is refused
        ("a", "lyc-a", "sdet:4", run),
    ]:
        threads.append(record(name, site, created(SiteIndex(), [person(key)], 2), run_id))
        while len(registry._confirmations._waiting) < len(threads) - 1:
            time.sleep(0.01)
    queued.set()
    for thread in threads:
        thread.join(30)

    assert [name for name, error in outcomes.items() if error is not None] == ["bad"]
    assert isinstance(outcomes["bad"], IntegrityError)
    assert [e.key for e in registry.index_entries("lyc-a")] == ["sdet:1", "sdet:4"]
    assert [e.key for e in registry.index_entries("lyc-b")] == ["sdet:2"]
    assert registry.index_entries("clg") == []
    assert [(j.seq, j.key) for j in registry.journal(run, "lyc-a")] == [
        (1, "sdet:1"),
        (2, "sdet:4"),
    ]
    # The first batch alone, the three others together (refused for the bad one), then
    # each of them alone.
    assert len(transactions) == 5


def test_an_index_fetched_then_built_is_the_site_index_and_is_built_once(
    registry: Registry, site: str
) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    people = [person("sdet:1"), person("sdet:2", "Alan")]
    registry.record_confirmation(site, created(SiteIndex(), people), run_id=run)
    fetched = registry.fetch_site_index(site)
    # Recorded after the fetch: not in what was fetched.
    registry.record_confirmation(site, created(SiteIndex(), [person("sdet:3")], 103), run_id=run)

    index = fetched.index()
    assert sorted(e.key for e in index.of(Kind.PERSON).values()) == ["sdet:1", "sdet:2"]
    entry = index.get(Kind.PERSON, "sdet:2")
    assert entry is not None
    assert (entry.moodle_id, entry.values["firstname"]) == (102, "Alan")
    with pytest.raises(RuntimeError, match="built from these rows already"):
        fetched.index()
