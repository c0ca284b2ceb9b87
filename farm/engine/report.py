"""Per-tenant reports of one job: counts, errors, warnings and durations. Pure.

A job applies one plan for a whole site. An operation is counted once, for
the first (by id) of the job's tenants that held the record before or hold
it after: a teacher of both schools of a cité scolaire is one account, one
creation, counted in the first school's report, so that the reports of a
site add up to what Moodle did. Verbose lines and errors are shown in the
report of every tenant concerned, so each establishment sees its own
people's problems.
Counts are ``{kind: {action: n}}`` with the record kinds as the index names
them (``person``, ``cohort_member``...); an account or cohort the farm took
over instead of creating counts as ``adopt``. Errors name the record key and
Moodle's reason (or the farm's, for a link whose end is missing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from farm.applied import Applied, Refused, Skipped
from farm.model import SourceWarning
from farm.operation import Action, Operation
from farm.registry.rows import RefusedRecord, ReportWarning, TenantReport, TenantStatus
from farm.site_rules import Refusal

#: At most this many warnings are kept per tenant report; a last line says how many more.
MAX_WARNINGS = 500
#: At most this many operation lines are kept per verbose tenant report, likewise.
MAX_OPERATIONS = 50_000


def owners(op: Operation, tenants: frozenset[str]) -> frozenset[str]:
    """The job's tenants an operation counts for."""
    held = op.tenants | (op.previous.tenants if op.previous is not None else frozenset())
    mine = held & tenants
    # A record no job tenant holds cannot be planned; count it everywhere rather than lose it.
    return mine or tenants


def counter(op: Operation, tenants: frozenset[str]) -> str:
    """The one tenant whose counts an operation adds to: the first of its owners."""
    return min(owners(op, tenants))


def label(applied: Applied) -> str:
    op = applied.operation
    if applied.adopted and op.action is Action.CREATE:
        return "adopt"
    return op.action.value


@dataclass
class TenantTally:
    """What one tenant's report accumulates."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[RefusedRecord] = field(default_factory=list)
    warnings: list[ReportWarning] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)

    def count(self, kind: str, action: str) -> None:
        actions = self.counts.setdefault(kind, {})
        actions[action] = actions.get(action, 0) + 1

    def flat(self) -> dict[str, int]:
        """``{"person.create": 12, ..., "errors": 1}``: the counts events and outcomes carry."""
        out = {
            f"{kind}.{action}": n
            for kind, actions in sorted(self.counts.items())
            for action, n in sorted(actions.items())
        }
        if self.errors:
            out["errors"] = len(self.errors)
        return out


def tally(
    tenants: Iterable[str],
    *,
    applied: Sequence[Applied] = (),
    planned: Sequence[Operation] = (),
    refused: Sequence[Refused] = (),
    skipped: Sequence[Skipped] = (),
    rejections: Sequence[Refusal] = (),
    source_warnings: Sequence[SourceWarning] = (),
    notes: Sequence[str] = (),
    verbose: bool = False,
) -> dict[str, TenantTally]:
    """Spread a job's work over its tenants (``planned`` for a simulation).

    ``refused`` are Moodle's refusals; ``rejections`` the site rules' refusals
    of the plan, reported the same way in a simulation and in a real run.
    ``skipped`` are the operations left for a later run because what they
    need is not on the site: one warning per missing course (or category)
    and tenant, counting them by kind.

    With ``verbose``, each tenant also gets one line per operation it counts.
    """
    mine = frozenset(tenants)
    out = {tenant: TenantTally() for tenant in sorted(mine)}
    for item in applied:
        out[counter(item.operation, mine)].count(item.operation.kind.value, label(item))
        if verbose:
            for tenant in owners(item.operation, mine):
                out[tenant].operations.append(_line(item.operation, label(item)))
    for op in planned:
        out[counter(op, mine)].count(op.kind.value, op.action.value)
        if verbose:
            for tenant in owners(op, mine):
                out[tenant].operations.append(_line(op, op.action.value))
    for refusal in refused:
        op = refusal.operation
        for tenant in owners(op, mine):
            out[tenant].errors.append(RefusedRecord(op.key, refusal.reason, op.kind.value))
    missing: dict[tuple[str, str], dict[str, int]] = {}
    for skip in skipped:
        for tenant in owners(skip.operation, mine):
            kinds = missing.setdefault((tenant, skip.missing), {})
            kinds[skip.operation.kind.value] = kinds.get(skip.operation.kind.value, 0) + 1
    for (tenant, what), kinds in sorted(missing.items()):
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        out[tenant].warnings.append(
            ReportWarning(
                f"{what} is not on the site: skipped {counts} (planned again next run)", what
            )
        )
    for rejected in rejections:
        where = f" [{rejected.field}]" if rejected.field else ""
        for tenant in (rejected.tenants & mine) or mine:
            out[tenant].errors.append(
                RefusedRecord(rejected.key, f"{rejected.reason}{where}", rejected.kind.value)
            )
    for warning in source_warnings:
        if warning.tenant in out:
            where = f" [{warning.attribute}]" if warning.attribute else ""
            out[warning.tenant].warnings.append(
                ReportWarning(f"{warning.message}{where}", warning.entry)
            )
    for note in notes:
        for kept in out.values():
            kept.warnings.append(ReportWarning(note))
    for kept in out.values():
        if len(kept.warnings) > MAX_WARNINGS:
            extra = len(kept.warnings) - MAX_WARNINGS
            kept.warnings[MAX_WARNINGS:] = [ReportWarning(f"... and {extra} more warnings")]
        if len(kept.operations) > MAX_OPERATIONS:
            extra = len(kept.operations) - MAX_OPERATIONS
            kept.operations[MAX_OPERATIONS:] = [f"... and {extra} more operations"]
    return out


def _line(op: Operation, action: str) -> str:
    """``create person sdet:F17 (jdupont)``; an adoption says ``adopt`` instead of create."""
    line = op.describe()
    return line if action == op.action.value else f"{action}{line[len(op.action.value) :]}"


def tenant_report(
    tenant: str,
    site: str,
    status: TenantStatus,
    reason: str | None,
    tally_: TenantTally | None,
    durations: Mapping[str, float],
    *,
    simulated: bool,
) -> TenantReport:
    item = tally_ or TenantTally()
    return TenantReport(
        tenant=tenant,
        site=site,
        status=status,
        reason=reason,
        counts={kind: dict(actions) for kind, actions in item.counts.items()},
        errors=tuple(item.errors),
        warnings=tuple(item.warnings),
        durations={phase: round(seconds, 3) for phase, seconds in durations.items()},
        simulated=simulated,
        operations=tuple(item.operations),
    )
