"""What jobs tell the world while they run.

A job publishes :class:`Event` values to an :class:`EventSink`; the
coordinator fans them out in-process (to the command line's progress display
or the dashboard) and records them in the registry, so another process can
follow a batch started elsewhere. Events are plain values with a JSON form;
they never carry secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class Phase(StrEnum):
    """Where one tenant's job stands. The last four are final."""

    QUEUED = "queued"
    WAITING = "waiting"  # for a lease held by another job
    READING = "reading"
    PLANNING = "planning"
    APPLYING = "applying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.INTERRUPTED, Phase.SKIPPED})


class EventKind(StrEnum):
    RUN_STARTED = "run-started"
    PHASE = "phase"  # a tenant entered a phase
    PROGRESS = "progress"  # applying: ``done`` of ``total`` operations
    WARNING = "warning"
    RUN_FINISHED = "run-finished"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a run.

    ``tenant`` is None for site-wide or run-wide events. ``counts`` holds
    figures such as ``{"created": 12, "updated": 3}``; ``message`` is the
    operator-readable reason of a failure or warning.
    """

    run_id: int
    kind: EventKind
    site: str | None = None
    tenant: str | None = None
    phase: Phase | None = None
    done: int | None = None
    total: int | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    message: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind.value,
            "site": self.site,
            "tenant": self.tenant,
            "phase": self.phase.value if self.phase else None,
            "done": self.done,
            "total": self.total,
            "counts": dict(self.counts),
            "message": self.message,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            run_id=int(data["run_id"]),
            kind=EventKind(data["kind"]),
            site=data.get("site"),
            tenant=data.get("tenant"),
            phase=Phase(data["phase"]) if data.get("phase") else None,
            done=data.get("done"),
            total=data.get("total"),
            counts=dict(data.get("counts") or {}),
            message=str(data.get("message") or ""),
            at=datetime.fromisoformat(data["at"]),
        )


class EventSink(Protocol):
    """Where a job publishes. ``publish`` never blocks and never raises."""

    def publish(self, event: Event) -> None: ...
