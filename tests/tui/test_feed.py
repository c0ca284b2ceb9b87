"""Where the dashboard starts following the registry's events."""

from __future__ import annotations

from farm.engine.bus import EventBus
from farm.engine.events import Event, EventKind, Phase
from farm.registry import RunStatus, RunTrigger
from farm.tui.feed import RegistryFeed
from tests.tui.conftest import DashFarm

TENANT, SITE = "0310024H", "lycee-bellevue"


def record(dash_farm: DashFarm, run: int, *phases: Phase) -> None:
    bus = EventBus(dash_farm.registry)
    bus.start()
    for phase in phases:
        bus.publish(Event(run, EventKind.PHASE, site=SITE, tenant=TENANT, phase=phase))
    bus.close()  # flushes every event to the registry


def test_with_no_run_going_it_shows_only_what_happens_from_now(dash_farm: DashFarm) -> None:
    registry = dash_farm.registry
    done = registry.start_run(trigger=RunTrigger.TARGETED)
    record(dash_farm, done, Phase.QUEUED, Phase.READING, Phase.SUCCEEDED)
    registry.finish_run(done, RunStatus.SUCCEEDED)

    feed = RegistryFeed(registry, dash_farm.farm)
    feed.start()
    assert feed.poll() == []

    later = registry.start_run(trigger=RunTrigger.TARGETED)
    record(dash_farm, later, Phase.QUEUED)
    assert [(e.run_id, e.phase) for e in feed.poll()] == [(later, Phase.QUEUED)]


def test_a_run_still_going_is_replayed_from_its_first_event(dash_farm: DashFarm) -> None:
    registry = dash_farm.registry
    done = registry.start_run(trigger=RunTrigger.TARGETED)
    record(dash_farm, done, Phase.QUEUED, Phase.SUCCEEDED)
    registry.finish_run(done, RunStatus.SUCCEEDED)
    going = registry.start_run(trigger=RunTrigger.TARGETED)
    record(dash_farm, going, Phase.QUEUED, Phase.READING)

    feed = RegistryFeed(registry, dash_farm.farm)
    feed.start()
    assert [(e.run_id, e.phase) for e in feed.poll()] == [
        (going, Phase.QUEUED),
        (going, Phase.READING),
    ]
