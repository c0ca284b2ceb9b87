"""The end of a run: its reports and status recorded, patiently when the registry fails.

:func:`end_run` records what the jobs could not (the reports the registry
refused them), then the run's status, then gives back the leases this
process owes. When the registry refuses, it tries again, with growing
pauses, for at most ``retry`` seconds: a registry that was restarted, or a
connection that was cut, answers again within them and the run ends as if
nothing had happened, but for the jobs the failure hit.

When the registry still fails after that, the run is left ``running`` with a
note in the farm folder (:mod:`farm.engine.unfinished`) for the next run to
settle, and its status becomes ``failed`` (``interrupted`` if the operator
stopped it): the status the next run gives it. :class:`RunEnd` says in words
what was left unrecorded, for the operator's one line.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
import structlog

from farm.engine.leases import owed_leases, release_owed
from farm.engine.outcome import JobOutcome
from farm.engine.unfinished import UnfinishedRun, write_note
from farm.registry import Registry, RegistryError, RunId, RunStatus, TenantReport

log = structlog.get_logger("farm.coordinator")

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 5.0


@dataclass
class RunEnd:
    """How a run ended: its status and reason, the registry's failure and what it left."""

    status: RunStatus = RunStatus.INTERRUPTED
    reason: str | None = "cancelled"
    registry_error: str | None = None
    unrecorded: tuple[str, ...] = ()


async def end_run(
    registry: Registry,
    farm_root: Path,
    run_id: RunId,
    status: RunStatus,
    reason: str | None,
    outcomes: Sequence[JobOutcome],
    *,
    retry: float,
) -> RunEnd:
    """Record the end of ``run_id``; see the module docstring. Never raises for the registry."""
    errors = [o.registry_error for o in outcomes if o.registry_error]
    if errors:
        reason = "; ".join(part for part in (f"registry: {errors[0]}", reason) if part)
    end = RunEnd(status, reason, errors[0] if errors else None)
    reports = {t: r for o in outcomes for t, r in o.unrecorded_reports.items()}
    finished = False
    deadline = anyio.current_time() + retry
    pause = FIRST_PAUSE
    while True:
        try:
            if not finished:
                await anyio.to_thread.run_sync(_record, registry, run_id, status, reason, reports)
                finished = True
            owed = await anyio.to_thread.run_sync(release_owed, registry)
        except RegistryError as error:
            end.registry_error = end.registry_error or str(error)
            owed = -1
        left = deadline - anyio.current_time()
        if owed == 0 or left <= 0:
            break
        if pause == FIRST_PAUSE:
            log.warning(
                "the registry fails: retrying the end of the run",
                seconds=retry,
                error=end.registry_error,
            )
        await anyio.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE)
    end.unrecorded = tuple(words for outcome in outcomes for words in outcome.unrecorded)
    if not finished:
        _leave_note(registry, farm_root, run_id, end, reports)
    leases = owed_leases(registry)
    if leases:
        end.unrecorded += (
            f"the release of {len(leases)} lease(s) ({', '.join(k for k, _ in leases)}), "
            "given back once the registry answers, or taken over at once by the next "
            "run on this host when this process has ended",
        )
    return end


def _record(
    registry: Registry,
    run_id: RunId,
    status: RunStatus,
    reason: str | None,
    reports: dict[str, TenantReport],
) -> None:
    # Reports first: a run marked finished shows every tenant's report.
    for tenant, report in list(reports.items()):
        registry.record_tenant_report(run_id, report)
        del reports[tenant]
    registry.finish_run(run_id, status, reason=reason)


def _leave_note(
    registry: Registry,
    farm_root: Path,
    run_id: RunId,
    end: RunEnd,
    reports: Mapping[str, TenantReport],
) -> None:
    """The registry still fails: the run stays ``running``; the next run settles the note."""
    if end.status is not RunStatus.INTERRUPTED:
        end.status = RunStatus.FAILED
    note = UnfinishedRun(
        registry=registry.url,
        run_id=run_id,
        status=end.status,
        reason=end.registry_error or "the registry failed",
        reports=tuple(reports.values()),
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    noted = write_note(farm_root, note) is not None
    unrecorded = []
    if reports:
        names = sorted(reports)
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        unrecorded.append(f"the reports of {', '.join(names[:5])}{more}")
    settles = (
        f"which the next run marks {end.status.value}"
        if noted
        else "which the next run on this host marks interrupted once this process has ended"
    )
    unrecorded.append(f"the end of run {run_id}, {settles}")
    end.unrecorded += tuple(unrecorded)
