"""How a job ended, tenant by tenant: what the executors and the coordinator read of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from farm.applied import Confirmation
from farm.engine.events import Phase
from farm.engine.report import TenantTally, tenant_report
from farm.registry import TenantReport, TenantStatus

_STATUS = {
    Phase.SUCCEEDED: TenantStatus.SUCCEEDED,
    Phase.FAILED: TenantStatus.FAILED,
    Phase.INTERRUPTED: TenantStatus.INTERRUPTED,
    Phase.SKIPPED: TenantStatus.SKIPPED,
}


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


def final_report(
    tenant: str,
    site: str,
    phase: Phase,
    reason: str,
    item: TenantTally,
    durations: Mapping[str, float],
    *,
    simulated: bool,
) -> tuple[TenantReport, str]:
    """A tenant's report at the end of its job, and its reason.

    A tenant that succeeded but whose records were partly refused is
    ``partial``, its reason saying how many were not written.
    """
    status = _STATUS[phase]
    if phase is Phase.SUCCEEDED and item.errors:
        status = TenantStatus.PARTIAL
        reason = f"{len(item.errors)} record(s) not written; see the errors"
    report = tenant_report(
        tenant, site, status, reason or None, item, durations, simulated=simulated
    )
    return report, reason
