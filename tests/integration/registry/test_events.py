"""Events appended by one process are followed by another; bookmarks persist."""

from __future__ import annotations

from farm.registry import NewEvent, Registry, RunTrigger


def test_events_are_read_since_an_id_from_another_connection(
    registry: Registry, registry_url: str
) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    ids = registry.append_events(
        [
            NewEvent("run.started", {"tenants": 2}, run_id=run),
            NewEvent("tenant.read", {"records": 1200}, run_id=run, site="lyc-a", tenant="0750001A"),
        ]
    )
    assert ids == sorted(ids)
    assert len(ids) == 2

    with Registry.open(registry_url) as watcher:
        seen = watcher.events_since(0)
        assert [(e.kind, dict(e.payload)) for e in seen] == [
            ("run.started", {"tenants": 2}),
            ("tenant.read", {"records": 1200}),
        ]
        assert (seen[1].site, seen[1].tenant, seen[1].run_id) == ("lyc-a", "0750001A", run)

        later = registry.append_events([NewEvent("run.finished", {"status": "succeeded"})])
        following = watcher.events_since(seen[-1].id)
        assert [e.id for e in following] == later
        assert watcher.events_since(later[-1]) == []


def test_events_can_be_followed_per_run_and_by_pages(registry: Registry) -> None:
    first = registry.start_run(trigger=RunTrigger.BATCH)
    second = registry.start_run(trigger=RunTrigger.BATCH)
    registry.append_events([NewEvent(f"e{n}", run_id=first if n % 2 else second) for n in range(6)])
    assert [e.kind for e in registry.events_since(0, run_id=first)] == ["e1", "e3", "e5"]
    page = registry.events_since(0, limit=4)
    assert [e.kind for e in page] == ["e0", "e1", "e2", "e3"]
    assert [e.kind for e in registry.events_since(page[-1].id)] == ["e4", "e5"]


def test_bookmarks_are_kept_per_source_and_tenant(registry: Registry) -> None:
    assert registry.get_bookmark("ent", "0750001A") is None
    registry.set_bookmark("ent", "0750001A", "20250901120000Z")
    registry.set_bookmark("ent", "0750001A", "20250902120000Z")
    registry.set_bookmark("ent", "0750002B", "20250101000000Z")
    assert registry.get_bookmark("ent", "0750001A") == "20250902120000Z"
    assert registry.get_bookmark("ent", "0750002B") == "20250101000000Z"
    assert registry.get_bookmark("other", "0750001A") is None
