"""The threads a process lets compute at once: reading an index, merging and planning.

Each job reads its site's index and plans in a worker thread, so that the
event loop keeps serving the calls of the jobs already applying. That work
is Python holding the GIL, so a second thread never makes it faster, and
fifty jobs planning at once (a farm's night starts with every site at the
same step) made fifty threads take the GIL from each other every few
milliseconds: a no-change rerun of 50,000 people on 50 sites took 127-165
CPU µs per person with every job's thread at work, 88 µs with two jobs at
a time, for a shorter wall time too. :func:`compute` runs such work in a
worker thread under one limiter per event loop, :data:`COMPUTING` threads
at a time; registry writes and reads that mostly wait on the database do
not go through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

__all__ = ["COMPUTING", "compute"]

#: Threads of one process computing at once: one beside the event loop's own.
COMPUTING = 1

_T = TypeVar("_T")
_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("farm_computing")


def _limiter() -> anyio.CapacityLimiter:
    # One per event loop: a limiter belongs to the loop that made it.
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(COMPUTING)
        _LIMITER.set(limiter)
        return limiter


async def compute(fn: Callable[[], _T]) -> _T:
    """``fn()`` in a worker thread, once fewer than :data:`COMPUTING` others compute."""
    return await anyio.to_thread.run_sync(fn, limiter=_limiter())
