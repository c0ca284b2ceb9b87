"""One row per tenant: what the dashboard's tenants table holds, and how its cells read.

:class:`TenantInfo`, :class:`LastReport` and :class:`TenantHealth` are what
the feed (:mod:`farm.tui.feed`) hands over from the registry;
:class:`DashboardRow` is one line of the table, which the view-model
(:mod:`farm.tui.view`) keeps current. Nothing here imports Textual or
touches the registry: it is unit-tested with plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class RowState(StrEnum):
    """What the state column of a :class:`DashboardRow` says about a tenant.

    The final states are :class:`farm.engine.health.State`'s, with the same
    values and meaning; queued, waiting and running are what a run is doing.
    """

    NEVER = "never"  # never synced
    QUEUED = "queued"
    WAITING = "waiting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    @property
    def active(self) -> bool:
        return self in (RowState.QUEUED, RowState.WAITING, RowState.RUNNING)


# Which counts of a report make the created / updated / suspended columns:
# the people of the site, since accounts are what operators watch.
_CREATED = ("person.create", "person.adopt")
_UPDATED = ("person.update", "person.revive")
_SUSPENDED = ("person.suspend", "person.delete")


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """A tenant as the registry knows it."""

    id: str
    name: str
    site: str
    kind: str = "establishment"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TenantHealth:
    """A tenant's state and level as :mod:`farm.engine.status` decides them, and why."""

    tenant: str
    state: str
    level: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class LastReport:
    """A tenant's last report, reduced to what the table shows."""

    tenant: str
    run_id: int
    status: str
    at: datetime
    counts: Mapping[str, int] = field(default_factory=dict)
    reason: str | None = None
    simulated: bool = False


def flat_counts(counts: Mapping[str, Mapping[str, int]], errors: int = 0) -> dict[str, int]:
    """A report's ``{kind: {action: n}}`` as the ``{"kind.action": n}`` events carry."""
    out = {
        f"{kind}.{action}": n for kind, actions in counts.items() for action, n in actions.items()
    }
    if errors:
        out["errors"] = errors
    return out


@dataclass
class DashboardRow:
    """One line of the dashboard's tenants table."""

    id: str
    name: str
    site: str
    kind: str = "establishment"
    tags: tuple[str, ...] = ()
    state: RowState = RowState.NEVER
    phase: str = ""
    done: int = 0
    total: int = 0
    last_run_at: datetime | None = None
    run_id: int | None = None
    created: int = 0
    updated: int = 0
    suspended: int = 0
    errors: int = 0
    message: str = ""
    simulated: bool = False
    # The worst open problem the registry knows (farm.engine.status): a success of this
    # run may not cover its ground, so only the registry's next answer clears it.
    problem: RowState | None = None
    level: str = ""
    why: str = ""

    @property
    def progress(self) -> float | None:
        """Share of the current run's operations done, None when unknown."""
        if self.state is RowState.SUCCEEDED or self.state is RowState.PARTIAL:
            return 1.0
        if self.state is RowState.RUNNING and self.total:
            return min(1.0, self.done / self.total)
        return None

    def take_counts(self, counts: Mapping[str, int]) -> None:
        self.created = sum(counts.get(k, 0) for k in _CREATED)
        self.updated = sum(counts.get(k, 0) for k in _UPDATED)
        self.suspended = sum(counts.get(k, 0) for k in _SUSPENDED)
        self.errors = counts.get("errors", 0)


def age_text(moment: datetime | None, now: datetime) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``: how long ago, for the age column."""
    if moment is None:
        return "—"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def progress_text(row: DashboardRow, width: int = 10) -> str:
    """A small bar with the percentage, or the operations count while they are unknown."""
    share = row.progress
    if share is None:
        return ""
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled) + f" {share:4.0%}"


def duration_text(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds))) if seconds >= 60 else f"{seconds:.1f}s"


def reason_text(row: DashboardRow) -> str:
    """Why the tenant is where it is, in one line: what it waits for, or what went wrong.

    A run going says what it waits for; otherwise the last run's own reason
    (``source ent: directory unreachable``), else the registry's first
    reason (:mod:`farm.engine.status`: an older run's problem still open,
    ``never synced successfully``, a success too old).
    """
    if row.state.active or row.message:
        return row.message
    first = row.why.split("; ")[0] if row.why else ""
    return "" if first.startswith("look closer:") else first
