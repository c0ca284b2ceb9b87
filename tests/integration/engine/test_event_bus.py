"""The event bus records what jobs publish in the registry: everything, in order, in few writes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import anyio

from farm.engine.bus import EventBus
from farm.engine.events import Event, EventKind
from farm.registry import NewEvent, Registry


class CountingRegistry(Registry):
    """A real registry that also counts the transactions events were appended in."""

    appends: list[int]

    def append_events(self, events: Sequence[NewEvent]) -> list[int]:
        self.appends.append(len(events))
        return super().append_events(events)


def counting_registry(tmp_path: Path) -> CountingRegistry:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = CountingRegistry.open(url, create=True, check=False)
    registry.upgrade()
    registry.appends = []
    return registry


def progress(done: int) -> Event:
    return Event(1, EventKind.PROGRESS, site="lycee-a", tenant="0330001K", done=done, total=300)


async def test_a_burst_of_events_is_recorded_whole_and_in_order_in_a_few_transactions(
    tmp_path: Path,
) -> None:
    registry = counting_registry(tmp_path)
    async with EventBus(registry, flush_interval=0.2) as bus:
        # 300 events over about 0.3 s, as fifty busy jobs publish them.
        for done in range(300):
            bus.publish(progress(done))
            if done % 10 == 9:
                await anyio.sleep(0.01)

    stored = registry.events_since(0)
    assert [Event.from_json(row.payload).done for row in stored] == list(range(300))
    assert sum(registry.appends) == 300
    # One transaction per flush interval, not one per event (or per burst of ten).
    assert len(registry.appends) <= 4, registry.appends
    registry.close()


async def test_an_event_reaches_the_registry_within_the_flush_interval_without_closing(
    tmp_path: Path,
) -> None:
    registry = counting_registry(tmp_path)
    async with EventBus(registry, flush_interval=0.2) as bus:
        bus.publish(progress(7))
        published = time.monotonic()
        with anyio.fail_after(5):
            while not registry.events_since(0):  # noqa: ASYNC110  (polling, as farm watch does)
                await anyio.sleep(0.02)
        seen_after = time.monotonic() - published
        # A watcher sees it at once, not when the bus closes (generous: shared machines).
        assert seen_after < 2.0
    (row,) = registry.events_since(0)
    assert Event.from_json(row.payload).done == 7
    registry.close()
