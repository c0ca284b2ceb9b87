"""One truth about every tenant: its state, its health level, and why.

This module is the only place that decides what a tenant's state and level
are, in the words of :mod:`farm.engine.health` (the states, the levels and
the one translation of a job's outcome); ``farm status``, ``farm runs``,
``farm report``, ``farm sync``'s lines and ``--json``, ``farm watch``, the
dashboard and the Prometheus output (:mod:`farm.engine.prometheus`) all ask
it.

**A tenant's state is its worst open problem**, not its last run (invariant
7). A problem is the newest decisive report (succeeded, partial, failed,
interrupted, in a real run) of one *ground* (:mod:`farm.ground`: entities,
profiles, complete/delta/person, mode) that is a problem, and stays open
until a later run whose ground covers it succeeds. A delta or a ``--user``
run never clears a failed full sync; a full sync that succeeds clears every
problem. A problem that a newer, wider problem covers is folded into it.
With no open problem, the state is the last real run's (``succeeded``, or
``skipped`` after a success), or ``never``.

**A tenant's level** is the worst of its state's level and the level of the
age of its last real success of any ground, against farm.toml's
``[status]`` ``warning_after`` and ``critical_after``.

:func:`exit_code` turns the worst level into the Nagios convention:
0 ok, 1 warning, 2 critical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from farm.clock import iso, local_text
from farm.config.schema import StatusThresholds
from farm.engine.health import (
    LEVEL_VALUE,
    PROBLEMS,
    SEVERITY,
    STATE_LEVEL,
    Level,
    State,
    age_text,
    level_of,
    worst,
)
from farm.ground import Ground
from farm.registry import Registry, RunId, RunStatus, RunSummary
from farm.registry.runs import GroundRecord, TenantLastRun


class _Tenant(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def site(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OpenProblem:
    """One open problem of a tenant: a ground whose newest decisive run did not succeed."""

    state: State
    ground: Ground
    run_id: RunId
    at: datetime
    reason: str | None
    task: str | None

    def describe(self, where: ZoneInfo) -> str:
        task = f", task {self.task}" if self.task else ""
        why = f": {self.reason}" if self.reason else ""
        return (
            f"{self.state.value} in run {self.run_id} ({self.ground.describe()}{task}, "
            f"{local_text(self.at, where)}){why}"
        )

    def to_json(self, where: ZoneInfo) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "run": self.run_id,
            "at": iso(self.at, where),
            "ground": self.ground.describe(),
            "task": self.task,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class TenantState:
    """One tenant, as every view shows it."""

    tenant: str
    site: str
    state: State
    level: Level
    problems: tuple[OpenProblem, ...]
    last_run: RunId | None
    last_run_at: datetime | None
    result: str | None  # the tenant's status in its last run (simulated too), or "running"
    reason: str | None  # that run's reason
    last_success_at: datetime | None
    age: timedelta | None  # since the last real success
    age_level: Level
    running: bool = False

    @property
    def ok(self) -> bool:
        return self.level is Level.OK

    def why(self, thresholds: StatusThresholds, where: ZoneInfo) -> list[str]:
        """Why the tenant is not ok, and what to type to look closer (empty when ok)."""
        out = [p.describe(where) for p in self.problems]
        if self.state is State.NEVER:
            out.append("never synced successfully")
        elif self.age_level is not Level.OK and self.age is not None:
            limit = (
                thresholds.critical_after
                if self.age_level is Level.CRITICAL
                else thresholds.warning_after
            )
            out.append(
                f"last success {age_text(self.age)} ago ({self.age_level} after {age_text(limit)})"
            )
        if self.problems:
            first = self.problems[0]
            out.append(f"look closer: farm report {first.run_id} --tenant {self.tenant}")
        elif out:
            out.append(f"look closer: farm sync --tenant {self.tenant} --simulate")
        return out if not self.ok else []

    def to_json(
        self, where: ZoneInfo, thresholds: StatusThresholds | None = None
    ) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "site": self.site,
            "state": self.state.value,
            "level": self.level.value,
            "problems": [p.to_json(where) for p in self.problems],
            "why": self.why(thresholds or StatusThresholds(), where),
            "last_run": self.last_run,
            "last_run_at": iso(self.last_run_at, where),
            "result": self.result,
            "reason": self.reason,
            "running": self.running,
            "last_success_at": iso(self.last_success_at, where),
            "age_seconds": None if self.age is None else int(self.age.total_seconds()),
        }


def open_problems(records: Sequence[GroundRecord]) -> tuple[OpenProblem, ...]:
    """A tenant's open problems from its grounds' newest decisive reports, worst first."""
    successes = [
        (Ground.parse(r.last.ground), r.success_run) for r in records if r.success_run is not None
    ]
    found: list[OpenProblem] = []
    for record in records:
        last = record.last
        state = State(last.status.value)
        if state not in PROBLEMS:
            continue
        ground = Ground.parse(last.ground)
        if any(run > last.run_id and won.covers(ground) for won, run in successes):
            continue
        found.append(OpenProblem(state, ground, last.run_id, last.at, last.reason, last.task))
    kept = [
        p
        for p in found
        if not any(q.run_id > p.run_id and q.ground.covers(p.ground) for q in found)
    ]
    return tuple(sorted(kept, key=lambda p: (SEVERITY[p.state], -p.run_id)))


def tenant_states(
    registry: Registry,
    tenants: Sequence[_Tenant],
    thresholds: StatusThresholds,
    *,
    now: datetime | None = None,
) -> list[TenantState]:
    """The state of each of ``tenants`` (blocking): five queries, whatever the history.

    A tenant's last run is the newest that reported on it (a simulation
    too), or a run still running that includes it.
    """
    now = now or datetime.now(UTC)
    ids = [t.id for t in tenants]
    last = registry.last_tenant_runs(ids)
    successes = registry.last_tenant_runs(ids, succeeded=True)
    grounds: dict[str, list[GroundRecord]] = {}
    for record in registry.tenant_grounds(ids):
        grounds.setdefault(record.last.tenant, []).append(record)
    running = _running(registry)
    return [
        state_of(
            tenant.id,
            tenant.site,
            last.get(tenant.id),
            successes.get(tenant.id),
            grounds.get(tenant.id, []),
            running.get(tenant.id),
            thresholds,
            now,
        )
        for tenant in tenants
    ]


def state_of(
    tenant: str,
    site: str,
    report: TenantLastRun | None,
    success: TenantLastRun | None,
    grounds: Sequence[GroundRecord],
    live: RunSummary | None,
    thresholds: StatusThresholds,
    now: datetime,
) -> TenantState:
    """One tenant's state from what the registry said (pure)."""
    age = None if success is None else max(timedelta(0), now - success.at)
    problems = open_problems(grounds)
    if problems:
        state = problems[0].state
    elif success is None:
        state = State.NEVER
    else:
        newest = max(grounds, key=lambda r: r.last.run_id, default=None)
        decisive = newest.last.run_id if newest else 0
        skipped = (
            report is not None
            and report.status.value == State.SKIPPED.value
            and not report.simulated
            and report.run_id > decisive
        )
        state = State.SKIPPED if skipped else State.SUCCEEDED
    age_level = level_of(age, thresholds)
    level = worst((STATE_LEVEL[state], age_level))
    if live is not None and (report is None or live.id > report.run_id):
        last_run, last_at, result, reason = live.id, live.started_at, "running", None
    elif report is not None:
        last_run, last_at = report.run_id, report.at
        result, reason = report.status.value, report.reason
    else:
        last_run, last_at, result, reason = None, None, None, None
    return TenantState(
        tenant=tenant,
        site=site,
        state=state,
        level=level,
        problems=problems,
        last_run=last_run,
        last_run_at=last_at,
        result=result,
        reason=reason,
        last_success_at=None if success is None else success.at,
        age=age,
        age_level=age_level,
        running=live is not None,
    )


def _running(registry: Registry) -> dict[str, RunSummary]:
    """The newest running run of each tenant (running runs are few)."""
    found: dict[str, RunSummary] = {}
    for run in registry.list_runs(limit=200, status=RunStatus.RUNNING):
        for tenant in run.selection.get("tenants", ()):
            found.setdefault(str(tenant), run)
    return found


def worst_first(states: Iterable[TenantState]) -> list[TenantState]:
    """Critical first, then warnings, then ok; by state severity, then tenant id."""
    return sorted(states, key=lambda s: (-LEVEL_VALUE[s.level], SEVERITY[s.state], s.tenant))


def summary(states: Iterable[TenantState]) -> Mapping[Level, int]:
    """How many tenants are at each level."""
    counts = dict.fromkeys(Level, 0)
    for state in states:
        counts[state.level] += 1
    return counts


def exit_code(states: Iterable[TenantState]) -> int:
    """0 when every tenant is ok, 1 when the worst is a warning, 2 when one is critical."""
    return LEVEL_VALUE[worst(s.level for s in states)]
