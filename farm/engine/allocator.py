"""The C allocator's arenas, limited for a process whose threads share one job's data.

glibc's ``malloc`` gives a thread that finds the main arena busy an arena of
its own, up to eight per core, and memory freed in one arena serves only
that arena's later requests. A job's registry reads and writes, its
planning and its source reads run in anyio's worker threads (up to 40), and
every allocation larger than Python's small-object allocator takes (512
bytes: list and dict tables, answers, statements) lands in whichever arena
its thread holds: each arena grows to its own high-water mark. Python holds
the GIL for nearly all of that work, so more arenas buy no parallelism.

:func:`limit_arenas` asks glibc for two (``mallopt(M_ARENA_MAX, 2)``). The
``farm`` command calls it before anything else, since a thread that has an
arena keeps it, and every job calls it too (:func:`farm.engine.job.run_job`,
for a program that runs jobs without the command); it acts once per
process, and not at all where the C library is not glibc or where
``MALLOC_ARENA_MAX`` is set (the operator's choice wins). Measured on a
first sync and rerun of 100,000 people on 50 sites (``docs/decisions.md``,
"Engine memory per person"): peak resident memory 348-350 and 361-366 MB
with two arenas, 363 and 397 MB with sixteen (glibc's default on two
cores), and no change in CPU beyond the runs' noise.
"""

from __future__ import annotations

import ctypes
import os
import threading

__all__ = ["ARENAS", "limit_arenas"]

#: The arenas a job's process keeps.
ARENAS = 2
# mallopt's parameter number for the arena count (glibc's malloc.h).
_M_ARENA_MAX = -8

_lock = threading.Lock()
_done: list[bool] = []


def limit_arenas(count: int = ARENAS) -> bool:
    """Limit glibc's malloc arenas to ``count`` from now on, once per process.

    Returns whether the limit is in force: False where the C library is
    not glibc, where ``MALLOC_ARENA_MAX`` names the operator's own limit,
    or where ``mallopt`` refused.
    """
    with _lock:
        if not _done:
            _done.append(_limit(count))
        return _done[0]


def _glibc() -> bool:
    # Asked of the C library itself: platform.libc_ver() reads the interpreter's binary.
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):
        return False


def _limit(count: int) -> bool:
    if os.environ.get("MALLOC_ARENA_MAX") or not _glibc():
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, count))
