"""A run's events in the operators' words, one line each: what ``farm watch`` prints.

The event stream is made for programs (``farm watch --json`` prints it as
it is); a person following a night wants to know when a tenant started,
how much it had to write, how it ended and why, and when the run ended.
So a tenant gets at most four lines: started (reading its source), waiting
for its site (when another run holds it), writing N changes to Moodle,
and its end in the farm's one vocabulary (succeeded, partial, failed,
interrupted, skipped) with its counts in words. The steps in between
(queued, planning, each progress tick) print nothing: ``--json`` has them.
Every line starts with the time and the zone's abbreviation
(``03:00:12 CET``), so a log read the next day does not guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from farm.clock import stamp_text
from farm.engine.events import Event, EventKind, Phase
from farm.engine.health import outcome_state

#: What each record kind is called, singular and plural.
_NOUNS: Mapping[str, tuple[str, str]] = {
    "person": ("account", "accounts"),
    "cohort": ("cohort", "cohorts"),
    "cohort_member": ("cohort member", "cohort members"),
    "enrolment": ("enrolment", "enrolments"),
    "group": ("group", "groups"),
    "group_member": ("group member", "group members"),
    "role_assignment": ("role assignment", "role assignments"),
}
_VERBS: Mapping[str, str] = {
    "create": "created",
    "update": "updated",
    "revive": "revived",
    "suspend": "suspended",
    "delete": "deleted",
    "add": "added",
    "remove": "removed",
    "reindex": "re-indexed",
}
_SILENT = frozenset({Phase.QUEUED, Phase.PLANNING, Phase.APPLYING})


def counts_in_words(counts: Mapping[str, int]) -> str:
    """``12 accounts created, 1 record not written``; unknown names as they are."""
    said = []
    for name, n in sorted(counts.items()):
        if not n:
            continue
        if name == "errors":
            said.append(f"{n} record{'s' if n != 1 else ''} not written")
            continue
        kind, _, action = name.partition(".")
        noun, verb = _NOUNS.get(kind), _VERBS.get(action)
        if noun is None or verb is None:
            said.append(f"{name} {n}")
        else:
            said.append(f"{n} {noun[0] if n == 1 else noun[1]} {verb}")
    return ", ".join(said)


def event_words(event: Event, where: ZoneInfo) -> str | None:
    """The event as a line (see the module docstring), or None for a step not worth one."""
    text = _what(event)
    return None if text is None else f"{stamp_text(event.at, where)}  {text}"


def _what(event: Event) -> str | None:
    who = f"{event.tenant} ({event.site})" if event.tenant and event.site else event.tenant
    who = who or event.site or ""
    if event.kind is EventKind.RUN_STARTED:
        tenants, sites = event.counts.get("tenants"), event.counts.get("sites")
        size = f" of {tenants} tenant(s) on {sites} site(s)" if tenants is not None else ""
        kind = f"{event.message} run" if event.message else "run"
        return f"run {event.run_id} started: {kind}{size}"
    if event.kind is EventKind.RUN_FINISHED:
        return f"run {event.run_id} ended: {event.message or 'done'}"
    if event.kind is EventKind.WARNING:
        return f"run {event.run_id} {who} warning: {event.message}"
    if event.kind is EventKind.PROGRESS:
        if event.done or not event.total:
            return None  # the start of the writing is worth a line, each tick is not
        return f"run {event.run_id} {who} writing {event.total} change(s) to Moodle"
    if event.phase is None or event.phase in _SILENT:
        return None
    if event.phase is Phase.READING:
        return f"run {event.run_id} {who} started: reading its source"
    if event.phase is Phase.WAITING:
        held = f": {event.message}" if event.message else ""
        return f"run {event.run_id} {who} waiting for its site{held}"
    state = outcome_state(event.phase, event.counts)
    said = state.value if state is not None else event.phase.value
    detail = "; ".join(p for p in (counts_in_words(event.counts), event.message) if p)
    if not detail and state is not None and state.value == "succeeded":
        detail = "no change"
    return f"run {event.run_id} {who} {said}" + (f": {detail}" if detail else "")
