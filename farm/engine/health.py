"""The words of a tenant's health: its states, its levels, and their order.

Every view speaks these words; :mod:`farm.engine.status` decides which of
them a tenant has. Nothing here reads the registry.

**States** (:class:`State`), of a tenant in one run and of a tenant overall:

- ``succeeded``: it ran and Moodle took everything;
- ``partial``: it ran, but some records were refused (by Moodle or by the
  site's rules before any call): the report names them;
- ``failed``: it did not run to the end: a site check, a source, a safety
  stop, an error;
- ``interrupted``: its run was stopped (an operator, a signal, a killed
  process) before it ended;
- ``skipped``: it did not run at all (its site was held too long);
- ``never``: no real run ever succeeded for it (a simulation writes nothing).

``failed``, ``interrupted`` and ``partial`` are the **problem states**
(:data:`PROBLEMS`, ``not-ok`` in filters). A run's own report of a tenant
says ``succeeded`` even when records were refused only inside the job's
outcome; :func:`outcome_state` is the one translation (succeeded with
refused records is ``partial``).

**Levels** (:class:`Level`), ``ok`` < ``warning`` < ``critical``, the worst of:

- the state: ``failed`` and ``never`` are critical, ``partial`` and
  ``interrupted`` are warnings (:data:`STATE_LEVEL`);
- the age of the last real success of any ground, against farm.toml's
  ``[status]`` ``warning_after`` and ``critical_after`` (:func:`level_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum

from farm.config.schema import StatusThresholds
from farm.engine.events import Phase


class State(StrEnum):
    """How a tenant fared: in one run, or overall (its worst open problem)."""

    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"
    NEVER = "never"


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


#: Each level as a number: the Nagios exit code and the Prometheus gauge.
LEVEL_VALUE: Mapping[Level, int] = {Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2}

#: The problem states, worst first: what ``not-ok`` means in every filter.
PROBLEMS: tuple[State, ...] = (State.FAILED, State.INTERRUPTED, State.PARTIAL)
#: The filter word for "any problem state", in ``farm runs --status`` and the dashboard.
NOT_OK = "not-ok"

#: The level each state alone gives a tenant.
STATE_LEVEL: Mapping[State, Level] = {
    State.FAILED: Level.CRITICAL,
    State.NEVER: Level.CRITICAL,
    State.INTERRUPTED: Level.WARNING,
    State.PARTIAL: Level.WARNING,
    State.SUCCEEDED: Level.OK,
    State.SKIPPED: Level.OK,
}

#: Order for "worst first" sorts.
SEVERITY: Mapping[State, int] = {
    State.FAILED: 0,
    State.NEVER: 1,
    State.INTERRUPTED: 2,
    State.PARTIAL: 3,
    State.SKIPPED: 4,
    State.SUCCEEDED: 5,
}

_FROM_PHASE = {
    Phase.SUCCEEDED: State.SUCCEEDED,
    Phase.FAILED: State.FAILED,
    Phase.INTERRUPTED: State.INTERRUPTED,
    Phase.SKIPPED: State.SKIPPED,
}


def outcome_state(phase: Phase, counts: Mapping[str, int] | None = None) -> State | None:
    """A tenant's state from a job's final phase and counts; None for a phase not final.

    A tenant whose job succeeded with refused records (``counts["errors"]``)
    is ``partial``: what the report records and every view shows.
    """
    state = _FROM_PHASE.get(phase)
    if state is State.SUCCEEDED and counts and counts.get("errors"):
        return State.PARTIAL
    return state


def state_matches(state: str, wanted: str) -> bool:
    """Whether ``state`` is what a filter word asks: a state, or ``not-ok`` (any problem)."""
    if wanted == NOT_OK:
        return state in {s.value for s in PROBLEMS}
    return state == wanted


def level_of(age: timedelta | None, thresholds: StatusThresholds) -> Level:
    """The level of a last success ``age`` old (None: never, which is critical)."""
    if age is None or age >= thresholds.critical_after:
        return Level.CRITICAL
    if age >= thresholds.warning_after:
        return Level.WARNING
    return Level.OK


def worst(levels: Iterable[Level]) -> Level:
    return max(levels, key=lambda level: LEVEL_VALUE[level], default=Level.OK)


def state_counts(states: Iterable[str]) -> dict[State, int]:
    """How many of ``states`` (values) are in each state, every state listed."""
    counts = dict.fromkeys(State, 0)
    for value in states:
        counts[State(value)] += 1
    return counts


def counts_text(counts: Mapping[State, int]) -> str:
    """``3 succeeded, 1 partial, 1 failed``: the non-zero counts in the states' order."""
    return ", ".join(f"{n} {state.value}" for state, n in counts.items() if n) or "none"


def age_text(age: timedelta | None) -> str:
    """An age as operators read it: ``3h05m``, ``2d04h``, ``-`` for none."""
    if age is None:
        return "-"
    hours, rest = divmod(int(age.total_seconds()), 3600)
    return f"{hours // 24}d{hours % 24:02d}h" if hours >= 24 else f"{hours}h{rest // 60:02d}m"
