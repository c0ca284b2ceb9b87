"""The event bus: jobs publish, the process's views and the registry listen.

:meth:`EventBus.publish` never blocks and never raises: it hands the event
to every in-process subscriber (a callback, or a bounded stream that drops
the oldest view update rather than slow a job down) and to a queue drained
by one worker thread, which appends events to the registry in batches. Other
processes (``farm watch``, the dashboard) follow them with
``Registry.events_since``; :func:`follow` does that polling.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import AsyncIterator, Callable

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from farm.engine.events import Event
from farm.registry import NewEvent, Registry, RegistryError, RunId, StoredEvent

log = structlog.get_logger("farm.bus")

Subscriber = Callable[[Event], None]

_STOP = object()


class EventBus:
    """Fan-out of events in-process, and batched recording in the registry.

    Use it as a context manager (or call :meth:`start` and :meth:`close`):
    closing flushes every event published so far to the registry.
    ``registry`` None keeps events in-process only.
    """

    def __init__(
        self,
        registry: Registry | None,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
    ) -> None:
        self._registry = registry
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._subscribers: list[Subscriber] = []
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._streams: list[MemoryObjectSendStream[Event]] = []
        self.recorded = 0
        self.dropped = 0

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every subscriber and to the recorder; never blocks."""
        for subscriber in tuple(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a broken view must not break a job
                log.warning("event subscriber failed", exc_info=True)
        if self._registry is not None:
            self._queue.put(event)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every event from now on; returns the unsubscribe function."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def stream(self, buffer: int = 1000) -> MemoryObjectReceiveStream[Event]:
        """A stream of events for an async view; a full buffer drops events, never waits.

        The stream ends when the bus closes.
        """
        send, receive = anyio.create_memory_object_stream[Event](buffer)

        def forward(event: Event) -> None:
            try:
                send.send_nowait(event)
            except anyio.WouldBlock:
                self.dropped += 1
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass

        self._subscribers.append(forward)
        self._streams.append(send)
        return receive

    def start(self) -> None:
        """Start the recorder thread (once)."""
        if self._registry is not None and self._thread is None:
            self._thread = threading.Thread(target=self._record, name="farm-events", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Record what is left and stop the recorder; blocks until done (call from a thread)."""
        for stream in self._streams:
            stream.close()
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.close)

    async def __aenter__(self) -> EventBus:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _record(self) -> None:
        assert self._registry is not None
        stopping = False
        while not stopping:
            batch: list[Event] = []
            try:
                item = self._queue.get(timeout=self._flush_interval)
            except queue.Empty:
                continue
            # The events of the next flush interval join this one's transaction: fifty
            # jobs publishing a few events each per second would otherwise cost a
            # transaction per event, more CPU than the whole recording.
            deadline = time.monotonic() + self._flush_interval
            while True:
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, Event)
                batch.append(item)
                if len(batch) >= self._batch_size:
                    break
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._append(batch)

    def _append(self, batch: list[Event]) -> None:
        assert self._registry is not None
        rows = [
            NewEvent(
                kind=event.kind.value,
                payload=event.to_json(),
                run_id=RunId(event.run_id),
                site=event.site,
                tenant=event.tenant,
            )
            for event in batch
        ]
        try:
            self._registry.append_events(rows)
            self.recorded += len(rows)
        except RegistryError as error:
            # Events are for watching; losing some must not stop the sync itself,
            # nor print a traceback: the run's own line names the registry failure.
            self.dropped += len(rows)
            log.warning("events not recorded", count=len(rows), error=str(error))


async def follow(
    registry: Registry,
    *,
    after: int = 0,
    run_id: int | None = None,
    interval: float = 0.5,
    until: Callable[[Event], bool] | None = None,
) -> AsyncIterator[tuple[int, Event]]:
    """Events recorded in the registry after id ``after``, polling for new ones, with their ids.

    Stops after an event for which ``until`` is true; otherwise runs until cancelled.
    """
    last = after
    while True:
        rows = await anyio.to_thread.run_sync(_events_since, registry, last, run_id)
        for row in rows:
            last = row.id
            try:
                event = Event.from_json(row.payload)
            except (KeyError, ValueError):
                continue  # an event of another shape (a newer farm): not ours to show
            yield row.id, event
            if until is not None and until(event):
                return
        if len(rows) < 1000:
            await anyio.sleep(interval)


def _events_since(registry: Registry, last: int, run_id: int | None) -> list[StoredEvent]:
    return registry.events_since(last, run_id=None if run_id is None else RunId(run_id), limit=1000)
