"""How a job ended, tenant by tenant: what the executors and the coordinator read of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from farm.applied import Confirmation
from farm.engine.events import Phase
from farm.registry import TenantReport


@dataclass(frozen=True)
class TenantOutcome:
    """How one tenant fared: a final phase, the reason when not plainly done, the counts."""

    tenant: str
    phase: Phase
    reason: str
    counts: Mapping[str, int]


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended; with what the registry failed to take, when it failed.

    ``registry_error`` is the registry's failure that ended the job's apply
    or its reports, ``unrecorded`` says in words what Moodle confirmed that
    the index does not hold, ``unrecorded_reports`` the tenant reports the
    registry refused, by tenant.
    """

    site: str
    tenants: Mapping[str, TenantOutcome]
    registry_error: str | None = None
    unrecorded: tuple[str, ...] = ()
    unrecorded_reports: Mapping[str, TenantReport] = field(default_factory=dict)


def unrecorded_words(site: str, unrecorded: Sequence[Confirmation]) -> str:
    """What Moodle confirmed that the registry did not take, as reports say it."""
    if not unrecorded:
        return "nothing Moodle confirmed"
    counts: dict[str, int] = {}
    for confirmation in unrecorded:
        for item in confirmation.applied:
            name = f"{item.operation.kind}.{item.operation.action}"
            counts[name] = counts.get(name, 0) + 1
    what = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    n = len(unrecorded)
    batches = "the last batch" if n == 1 else f"the last {n} batches"
    return f"{batches} Moodle confirmed on site {site} ({what}), which the next run adopts"
