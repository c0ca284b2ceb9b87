"""What the demo tells a newcomer: why a tenant ends partial, how the demo ended, what next.

The demo's generated people include homonyms, as real directories do: on
the demo's CFA two formateurs get the same login. Moodle holds one account
per username, and the farm never gives two people one account (ARCHITECTURE.md,
invariant 8), so the planner writes the first by source key and refuses the
other before any call, naming both: that tenant ends ``partial``, on the
first run and every run after, until the source gives one of them another
login. :func:`intended` tells such a refusal from one the demo did not
plan for.

:func:`verdict` decides how ``farm demo --headless`` exits, as an operator
expects a smoke test to: 0 when every tenant ran and every record not
written is one of the refusals the demo is there to show (it says so, in
words, with the tenants); 1 when a tenant failed, was skipped or stopped, or
when Moodle refused a record the demo did not plan (it says which, and why);
130 when the demo was interrupted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from farm.engine.coordinator import RunResult
from farm.engine.events import Phase
from farm.registry import Registry

#: A person refused because another holds the same value (farm.site_rules' wording).
_SHARED = re.compile(r"is also the (username|idnumber|email) of")

WHY_PARTIAL = (
    "why partial: two people of the source share a {field}. Moodle keeps one account per "
    "{field} and the farm never gives two people one account, so it wrote the first (by "
    "source key) and refused the other before any call, naming both. That is what the demo "
    "shows: the tenant stays partial on every run, visible in every view, until the source "
    "gives one of them another login."
)


def intended(reason: str) -> str | None:
    """The shared field (``username``...) when ``reason`` is a refusal the demo shows, else None."""
    found = _SHARED.search(reason)
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the headless demo ends: its exit status and the lines that say why."""

    status: int
    lines: tuple[str, ...]


def verdict(registry: Registry | None, results: Sequence[RunResult]) -> Verdict:
    """See the module docstring; reads the runs' reports from ``registry``."""
    if not results or results[-1].status.value == "interrupted":
        return Verdict(130, ("demo stopped before its runs ended",))
    lines: list[str] = []
    for result in results:
        for tenant, outcome in sorted(result.tenants.items()):
            if outcome.phase is not Phase.SUCCEEDED:
                lines.append(
                    f"run {result.run_id}: {tenant} {outcome.phase.value}: {outcome.reason}"
                )
    if lines:
        return Verdict(1, ("the demo failed: a tenant did not run", *lines))
    partial: set[str] = set()
    for result in results:
        report = registry.get_report(result.run_id) if registry is not None else None
        for kept in report.tenants if report is not None else ():
            for error in kept.errors:
                if intended(error.reason) is None:
                    lines.append(f"run {result.run_id}: {kept.tenant}: {error.key}: {error.reason}")
                else:
                    partial.add(kept.tenant)
    if lines:
        return Verdict(1, ("the demo failed: Moodle refused records it did not plan", *lines))
    if partial:
        names = ", ".join(sorted(partial))
        return Verdict(
            0,
            (
                f"demo done: every tenant ran; {names} partial, as intended "
                "(two people share a login, see 'why partial' above)",
            ),
        )
    return Verdict(0, ("demo done: every tenant ran, every record was written",))


def next_steps(farm_dir: Path | None, first_run: int | None, partial: str | None) -> list[str]:
    """What to try next: on the kept farm (``farm_dir``), or how to keep it."""
    if farm_dir is None:
        return [
            "try next:",
            "  farm demo --keep           keep the farm folder and its registry afterwards, "
            "to read them with farm report, status, runs, schedule list",
            "  farm demo                  (in a terminal) the same farm in the dashboard",
            "  farm tenants check --help  the farm folder's files; tenants/ is one to copy",
        ]
    farm = f"farm --farm-dir {farm_dir}"
    lines = ["try next, on the kept farm (its simulators are stopped; its registry is not):"]
    if first_run is not None:
        lines.append(f"  {farm} report {first_run} --failed    what run {first_run} refused, why")
    lines += [
        f"  {farm} status                 each tenant's state, worst first",
        f"  {farm} runs                   the demo's runs",
    ]
    if partial is not None:
        lines.append(f"  {farm} schedule list --tenant {partial}")
    lines.append(f"  {farm} dashboard --watch-only")
    return lines
