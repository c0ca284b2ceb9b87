"""How ``farm sync`` reports a run at its end: the summary lines, ``--json``, the exit status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from farm.cli.context import EXIT_FAILED, EXIT_INTERRUPTED
from farm.config import TenantConfig
from farm.engine.coordinator import RunResult
from farm.engine.health import outcome_state
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


def print_summary(result: RunResult, chosen: tuple[TenantConfig, ...]) -> None:
    for note in result.notes:
        click.echo(note)
    for tenant in chosen:
        outcome = result.tenants.get(tenant.id)
        if outcome is None:
            continue
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()) if v)
        detail = "; ".join(part for part in (counts, outcome.reason) if part)
        click.echo(f"{tenant.id:<22} {tenant.site:<30} {_state(outcome):<11} {detail}")
    tail = f" ({result.reason})" if result.reason else ""
    click.echo(f"run {result.run_id}: {result.status.value}{tail}")
