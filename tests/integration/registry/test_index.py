"""The per-site index changes one confirmed batch at a time, with its journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from farm.registry import IndexKey, IndexWrite, JournalWrite, Registry, RunId, RunTrigger
from tests.integration.registry.farms import build_farm


@pytest.fixture
def site(registry: Registry, tmp_path: Path) -> str:
    registry.load_farm(build_farm(tmp_path, {"lyc-a": {"0750001A": "Lycée A"}, "clg": {}}))
    return "lyc-a"


def test_a_batch_upserts_and_deletes_entries_and_journals_them(
    registry: Registry, site: str
) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    registry.apply_index_changes(
        site,
        [
            IndexWrite("users", "person:1", "d1", 101, {"firstname": "Ada"}, ("0750001A",)),
            IndexWrite("users", "person:2", "d2", 102, {"firstname": "Alan"}, ("0750001A",)),
            IndexWrite("cohorts", "cohort:2nde1", "c1", 7),
        ],
        run_id=run,
        journal=[
            JournalWrite("users", "create", "person:1", 101, None, {"firstname": "Ada"}),
            JournalWrite("users", "create", "person:2", 102, None, {"firstname": "Alan"}),
        ],
    )
    registry.apply_index_changes(
        site,
        [IndexWrite("users", "person:1", "d1b", 101, {"firstname": "Ada L."}, ("0750001A",))],
        [IndexKey("users", "person:2")],
        run_id=run,
        journal=[JournalWrite("users", "update", "person:1", 101, {"firstname": "Ada"}, None)],
    )

    users = registry.index_entries(site, "users")
    assert [(e.key, e.moodle_id, e.digest, dict(e.values)) for e in users] == [
        ("person:1", 101, "d1b", {"firstname": "Ada L."})
    ]
    assert users[0].tenants == ("0750001A",)
    assert users[0].run_id == run
    assert [e.key for e in registry.index_entries(site)] == ["cohort:2nde1", "person:1"]
    assert registry.index_entries("clg") == []
    assert [(j.seq, j.action, j.key) for j in registry.journal(run, site)] == [
        (1, "create", "person:1"),
        (2, "create", "person:2"),
        (3, "update", "person:1"),
    ]


def test_a_batch_that_fails_leaves_the_index_as_it_was(registry: Registry, site: str) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    registry.apply_index_changes(site, [IndexWrite("users", "person:1", "d1", 101)], run_id=run)

    with pytest.raises(IntegrityError):
        registry.apply_index_changes(
            site,
            [IndexWrite("users", "person:1", "CHANGED", 101), IndexWrite("users", "p:3", "d3")],
            [IndexKey("users", "person:1")],
            run_id=RunId(run + 1000),  # no such run: the journal line is refused
            journal=[JournalWrite("users", "create", "p:3", 103)],
        )

    assert [(e.key, e.digest) for e in registry.index_entries(site)] == [("person:1", "d1")]
    assert registry.journal(run) == []


def test_a_large_batch_is_recorded_whole(registry: Registry, site: str) -> None:
    writes = [IndexWrite("users", f"person:{n:05d}", f"d{n}", n) for n in range(1200)]
    registry.apply_index_changes(site, writes)
    registry.apply_index_changes(site, deletes=[IndexKey("users", w.key) for w in writes[:1100]])
    assert [e.moodle_id for e in registry.index_entries(site)] == list(range(1100, 1200))
