"""What Moodle confirmed or refused of a plan, as the core's own values.

The applier (:mod:`farm.moodle`) produces them, the registry records them
(:meth:`farm.registry.Registry.record_confirmation` builds its index rows and
journal lines from them) and the report builder (:mod:`farm.engine.report`)
counts them. They sit here, below all three, so that each of those layers
depends on the core and none on another's modules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from farm.index import IndexWrite
from farm.operation import Operation

__all__ = ["Applied", "Confirmation", "Recorder", "Refused", "Skipped"]


@dataclass(frozen=True, slots=True)
class Applied:
    """An operation Moodle confirmed.

    ``moodle_id`` is the id Moodle answered for a creation, or the account,
    cohort or group adopted; ``adopted`` says the object already existed,
    and ``found`` holds its values before the farm updated it.
    """

    operation: Operation
    moodle_id: int | None = None
    adopted: bool = False
    found: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """An operation that was not applied, with the reason (Moodle's, or the farm's)."""

    operation: Operation
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An operation left for a later run: what it needs is not on the site (a course).

    ``missing`` names that thing (``course 0999901Z-2NDE1-061300``); the
    report counts the skipped operations per missing thing, as a warning,
    and the next run plans them again.
    """

    operation: Operation
    missing: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What to record in one registry transaction: confirmed operations and their index writes.

    ``writes`` are :func:`farm.index.index_writes` of ``applied``, in order;
    a key written twice keeps its last write.
    """

    applied: tuple[Applied, ...]
    writes: tuple[IndexWrite, ...]


Recorder = Callable[[Confirmation], Awaitable[None]]
"""Writes a :class:`Confirmation` durably before returning (the registry, in a worker thread)."""
