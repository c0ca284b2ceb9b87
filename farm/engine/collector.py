"""The cyclic garbage collector, tuned for the long-lived data of running jobs.

A job holds hundreds of thousands of objects that live as long as it does:
the source's records, the site's index, the plan. Python's collector is
tuned for short-lived objects instead: with its default young-generation
threshold (700 allocations) it runs constantly during an apply and, each
time the heap grew by a quarter, rescans every long-lived object in a full
collection. Measured with ``tools/bench_farm.py`` (100,000 people, 50
sites), that was about a third of the engine's CPU.

:data:`COLLECTOR` is the one place every job goes through
(:func:`farm.engine.job.run_job`, whichever executor runs it: ``farm sync``,
``farm worker``, the dashboard's and the scheduler's runs). While at least
one job holds it, the young generation is collected every
:attr:`Collector.threshold` allocations instead of 700, and each job calls
:meth:`Collector.settle` once its source, index and plan are built: those
objects move to the permanent generation (``gc.freeze()``, which costs
nothing per object), where no collection scans them again. When the last
job ends, the frozen objects go back to the collector (``gc.unfreeze()``)
and the thresholds the process had are restored, so that a long-lived
``farm worker`` or dashboard collects everything between runs.

Cycles that become garbage after being frozen are collected only once the
last job ended; the objects a job freezes are its own long-lived data, so
what is held back is little (20,000 people on 50 sites: peak memory 216 MB
with Python's defaults, 217 MB frozen). A ``farm worker`` whose jobs
overlap without a pause keeps what they froze until a moment with no job
running; a farm's nightly runs end, and the worker then collects it all.
``docs/decisions.md`` has the options measured.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["COLLECTOR", "Collector"]


class Collector:
    """Process-wide collector tuning, held by the running jobs; see the module docstring.

    Thread-safe: jobs run on the event loop, registry calls in worker
    threads, and a worker process may run jobs from several threads.
    """

    def __init__(self, threshold: int = 50_000, older: tuple[int, int] = (20, 20)) -> None:
        self.threshold = threshold
        self.older = older
        self._lock = threading.Lock()
        self._holders = 0
        self._saved: tuple[int, int, int] | None = None

    @property
    def holders(self) -> int:
        """How many jobs hold the tuning now."""
        return self._holders

    @contextmanager
    def held(self) -> Iterator[None]:
        """Tune the collector while the block runs; the last holder to leave restores it."""
        with self._lock:
            if self._holders == 0:
                self._saved = gc.get_threshold()
                gc.set_threshold(self.threshold, *self.older)
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    gc.unfreeze()
                    if self._saved is not None:
                        gc.set_threshold(*self._saved)
                    self._saved = None

    def settle(self) -> None:
        """Everything tracked now is long-lived: no collection scans it until the last job ends.

        Called by a job once its source, index and plan are built. Outside
        :meth:`held` it does nothing, so that nothing stays frozen for good.
        """
        with self._lock:
            if self._holders:
                gc.freeze()


#: The collector tuning every job holds (see :func:`farm.engine.job.run_job`).
COLLECTOR = Collector()
