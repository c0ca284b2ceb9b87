"""Many jobs of one process writing to one registry at once, as a farm-wide sync does."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from farm.index import SiteIndex
from farm.registry import NewEvent, Registry, RunId, RunTrigger, database
from tests.confirmations import created, person
from tests.integration.registry.farms import build_farm

WRITERS = 20
BATCHES = 6
ROWS = 40


def test_concurrent_writers_all_succeed_and_lose_nothing(
    registry: Registry, registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sites = [f"site-{n:02d}" for n in range(WRITERS)]
    registry.load_farm(
        build_farm(tmp_path, {site: {f"{750000 + n:07d}A": site} for n, site in enumerate(sites)})
    )
    run = registry.start_run(trigger=RunTrigger.BATCH)
    # A short busy timeout: in-process writers must queue, not poll SQLite until it expires.
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 1000)
    shared = Registry.open(registry_url)
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS + 1)

    def write(site: str) -> None:
        try:
            start.wait()
            for batch in range(BATCHES):
                people = [person(f"sdet:{batch}-{i}") for i in range(ROWS)]
                shared.record_confirmation(site, created(SiteIndex(), people), run_id=RunId(run))
                shared.append_events(
                    [NewEvent("progress", {"done": i}, RunId(run), site) for i in range(5)]
                )
                shared.index_entries(site)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(site,)) for site in sites]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join()
    shared.close()

    assert errors == []
    for site in sites:
        assert len(registry.index_entries(site, "person")) == BATCHES * ROWS
        seqs = [line.seq for line in registry.journal(RunId(run), site)]
        assert seqs == list(range(1, BATCHES * ROWS + 1))
    events = registry.events_since(0, run_id=RunId(run), limit=100_000)
    assert len(events) == WRITERS * BATCHES * 5
    ids = [e.id for e in events]
    assert ids == sorted(ids)
    # Each writer's events keep the order it gave them.
    for site in sites:
        done = [e.payload["done"] for e in events if e.site == site]
        assert done == [0, 1, 2, 3, 4] * BATCHES
