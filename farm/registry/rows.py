"""The plain values that registry operations take and return.

Callers never see SQLModel rows: they get these frozen dataclasses, which are
safe to hand to another thread or to the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NewType

RunId = NewType("RunId", int)


class RunStatus(StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    PARTIAL = "partial"


class RunTrigger(StrEnum):
    """What started a run."""

    BATCH = "batch"
    TARGETED = "targeted"
    SCHEDULE = "schedule"


class TenantStatus(StrEnum):
    """How one tenant fared in a run."""

    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run, with how many of its tenants succeeded and failed."""

    id: RunId
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    trigger: RunTrigger
    selection: Mapping[str, Any]
    options: Mapping[str, Any]
    simulated: bool
    host: str
    pid: int
    reason: str | None
    tenants_ok: int
    tenants_failed: int
    tenants_total: int

    @property
    def duration(self) -> timedelta | None:
        """How long the run took, or None while it runs."""
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class RefusedRecord:
    """The line a tenant report keeps of a record Moodle refused, with Moodle's reason.

    Moodle's refusal itself, as the client raises it, is ``farm.moodle.RecordError``.
    """

    key: str
    reason: str
    entity: str | None = None


@dataclass(frozen=True, slots=True)
class ReportWarning:
    """Something an operator should look at; ``key`` names the record when there is one."""

    message: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class TenantReport:
    """What one run did for one tenant.

    ``counts`` maps an entity to its actions and how many were done, such as
    ``{"users": {"create": 12, "update": 3}}``; ``durations`` maps a phase
    (``read``, ``plan``, ``apply``...) to seconds. ``operations`` has one line
    per operation when the run was verbose, and is empty otherwise.
    """

    tenant: str
    site: str
    status: TenantStatus
    reason: str | None = None
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    errors: tuple[RefusedRecord, ...] = ()
    warnings: tuple[ReportWarning, ...] = ()
    durations: Mapping[str, float] = field(default_factory=dict)
    simulated: bool = False
    operations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunReport:
    """A run and the reports of its tenants, ordered by tenant id."""

    run: RunSummary
    tenants: tuple[TenantReport, ...]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An index entry as stored: what the farm last wrote to a site for one record, and when.

    ``suspended`` says the farm suspended the account because every tenant
    dropped the person.
    """

    site: str
    entity: str
    key: str
    moodle_id: int | None
    digest: str
    values: Mapping[str, Any]
    tenants: tuple[str, ...]
    updated_at: datetime
    run_id: RunId | None
    suspended: bool = False


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A journal line as read back, numbered within its run and site.

    ``tenants`` are the tenants the change concerns (none for lines recorded
    before the registry's revision 0007); ``person`` is the source key of
    the person it changed, the account's or a link's member (None for a
    cohort or a group). See :mod:`farm.registry.journal`.
    """

    run_id: RunId
    site: str
    seq: int
    entity: str
    action: str
    key: str
    moodle_id: int | None
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    at: datetime
    tenants: tuple[str, ...] = ()
    person: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease this holder has, valid until ``expires_at`` unless renewed."""

    key: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LeaseHeld:
    """Someone else holds the lease: who, since when, and until when unless renewed."""

    key: str
    holder: str
    since: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; the registry gives it an id and a time."""

    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    run_id: RunId | None = None
    site: str | None = None
    tenant: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored; ids grow, so ``events_since(last.id)`` follows the stream."""

    id: int
    at: datetime
    kind: str
    payload: Mapping[str, Any]
    run_id: RunId | None
    site: str | None
    tenant: str | None
