"""How ``farm sync`` reports a run at its end: the summary lines, ``--json``, the exit status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

from farm.cli.context import EXIT_FAILED, EXIT_INTERRUPTED
from farm.config import TenantConfig
from farm.engine.coordinator import RunResult
from farm.engine.health import SEVERITY, State, counts_text, outcome_state, state_counts
from farm.engine.outcome import TenantOutcome
from farm.registry import RunStatus


def registry_failure_line(result: RunResult) -> str:
    """The one line ``farm sync`` prints when the registry failed during the run."""
    left = "; ".join(result.unrecorded) if result.unrecorded else "nothing"
    return (
        f"farm sync: the registry failed during run {result.run_id}: {result.registry_error}. "
        f"Left unrecorded: {left}."
    )


def exit_code(result: RunResult) -> int:
    if result.status is RunStatus.SUCCEEDED:
        return 0
    if result.status is RunStatus.INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def result_json(result: RunResult, *, simulated: bool = False) -> dict[str, Any]:
    """The run as ``farm sync --json`` prints it.

    ``writes`` counts the operations Moodle confirmed, per tenant and summed
    over tenants (an account shared by two tenants of a cité scolaire counts
    once, for the first); a simulated run writes nothing and its counts are
    what it would have done. ``state`` is the tenant's state as every view
    names it (``partial`` when records were not written); ``phase`` is the
    job's final phase.
    """
    tenants = {
        tenant: {
            "state": _state(o),
            "phase": o.phase.value,
            "reason": o.reason or None,
            "counts": dict(o.counts),
            "writes": 0 if simulated else _writes(o.counts),
        }
        for tenant, o in sorted(result.tenants.items())
    }
    summary: dict[str, Any] = {
        "run": result.run_id,
        "status": result.status.value,
        "reason": result.reason,
        "simulated": simulated,
        "writes": sum(t["writes"] for t in tenants.values()),
        "tenants": tenants,
    }
    if result.registry_error is not None:
        summary["registry"] = {
            "error": result.registry_error,
            "unrecorded": list(result.unrecorded),
        }
    if result.notes:
        summary["notes"] = list(result.notes)
    return summary


def _state(outcome: TenantOutcome) -> str:
    """The tenant's state in the farm's one vocabulary (:mod:`farm.engine.status`)."""
    state = outcome_state(outcome.phase, outcome.counts)
    return state.value if state is not None else outcome.phase.value


def _writes(counts: Mapping[str, int]) -> int:
    return sum(n for name, n in counts.items() if name != "errors")


#: Up to this many tenants, every one gets its line at the end of ``farm sync``.
EVERY_LINE_UP_TO = 20
#: At most this many tenants that did not succeed are named; ``farm report --failed`` has all.
NAMED_PROBLEMS = 30


def print_summary(result: RunResult, chosen: tuple[TenantConfig, ...]) -> None:
    """The end of ``farm sync``: the tenants that did not succeed first, then the rest.

    Up to :data:`EVERY_LINE_UP_TO` tenants each get a line; past that, the
    succeeded ones fold into one counting line, so a night of 163 tenants
    ends on its problems, not on 163 lines. The last line names the run and,
    when some tenant did not succeed, the command that shows why.
    """
    for note in result.notes:
        click.echo(note)
    outcomes = [(t, result.tenants[t.id]) for t in chosen if t.id in result.tenants]
    states = {t.id: outcome_state(o.phase, o.counts) for t, o in outcomes}
    problems = [(t, o) for t, o in outcomes if states[t.id] is not State.SUCCEEDED]
    problems.sort(key=lambda pair: SEVERITY.get(states[pair[0].id] or State.FAILED, 0))
    fine = [(t, o) for t, o in outcomes if states[t.id] is State.SUCCEEDED]
    every = len(outcomes) <= EVERY_LINE_UP_TO
    for tenant, outcome in problems if every else problems[:NAMED_PROBLEMS]:
        click.echo(_tenant_line(tenant, outcome))
    if not every and len(problems) > NAMED_PROBLEMS:
        click.echo(f"... and {len(problems) - NAMED_PROBLEMS} more that did not succeed")
    if every:
        for tenant, outcome in fine:
            click.echo(_tenant_line(tenant, outcome))
    elif fine:
        click.echo(f"{len(fine)} tenants succeeded: {_sums(o for _, o in fine) or 'no change'}")
    by_state = state_counts(_state(o) for _, o in outcomes)
    tail = f" ({result.reason})" if result.reason else ""
    click.echo(
        f"run {result.run_id}: {result.status.value}{tail}; tenants: {counts_text(by_state)}"
    )
    if problems:
        click.echo(f"why: farm report {result.run_id} --failed")


def _tenant_line(tenant: TenantConfig, outcome: TenantOutcome) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()) if v)
    detail = "; ".join(part for part in (counts, outcome.reason) if part)
    return f"{tenant.id:<22} {tenant.site:<30} {_state(outcome):<11} {detail}".rstrip()


def _sums(outcomes: Iterable[TenantOutcome]) -> str:
    """``person.create 3053, cohort.create 240``: the counts summed over tenants."""
    total: dict[str, int] = {}
    for outcome in outcomes:
        for name, n in outcome.counts.items():
            total[name] = total.get(name, 0) + n
    return ", ".join(f"{k} {v}" for k, v in sorted(total.items()) if v)
