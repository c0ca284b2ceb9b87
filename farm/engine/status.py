"""Where each tenant stands: its last run, that run's result, and the age of its last success.

:func:`tenant_states` asks the registry, in a few queries whatever the
history's length, for each tenant's last run and the last one in which it
succeeded. The age of that success, against the farm's
``[status]`` thresholds, gives a level monitoring can act on: ``ok``,
``warning``, ``critical``, or ``never`` for a tenant never synced
successfully (monitoring should treat it as critical). :func:`prometheus`
writes the same facts in the Prometheus text format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from farm.config import TenantConfig
from farm.config_schema import StatusThresholds
from farm.registry import Registry, RunId, RunStatus, RunSummary


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    NEVER = "never"


_LEVEL_VALUE = {Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2, Level.NEVER: 2}


@dataclass(frozen=True, slots=True)
class TenantState:
    """One tenant's line in ``farm status``."""

    tenant: str
    site: str
    last_run: RunId | None
    last_run_at: datetime | None
    result: str | None  # the tenant's status in its last run, or "running"
    reason: str | None
    last_success_at: datetime | None
    age: timedelta | None  # since the last success
    level: Level

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "site": self.site,
            "last_run": self.last_run,
            "last_run_at": _iso(self.last_run_at),
            "result": self.result,
            "reason": self.reason,
            "last_success_at": _iso(self.last_success_at),
            "age_seconds": None if self.age is None else int(self.age.total_seconds()),
            "level": self.level.value,
        }


def level_of(age: timedelta | None, thresholds: StatusThresholds) -> Level:
    """The level of a last success ``age`` old (None: never)."""
    if age is None:
        return Level.NEVER
    if age >= thresholds.critical_after:
        return Level.CRITICAL
    if age >= thresholds.warning_after:
        return Level.WARNING
    return Level.OK


def tenant_states(
    registry: Registry,
    tenants: Sequence[TenantConfig],
    thresholds: StatusThresholds,
    *,
    now: datetime | None = None,
) -> list[TenantState]:
    """The state of each of ``tenants`` (blocking): three queries, whatever the history.

    A tenant's last run is the newest that reported on it, or a run still
    running that includes it. Simulated runs do not count as successes: they
    wrote nothing.
    """
    now = now or datetime.now(UTC)
    ids = [t.id for t in tenants]
    last = registry.last_tenant_runs(ids)
    successes = registry.last_tenant_runs(ids, succeeded=True)
    running = _running(registry)
    states = []
    for tenant in tenants:
        report = last.get(tenant.id)
        live = running.get(tenant.id)
        success = successes.get(tenant.id)
        age = None if success is None else max(timedelta(0), now - success.at)
        if live is not None and (report is None or live.id > report.run_id):
            last_run, last_at, result, reason = live.id, live.started_at, "running", None
        elif report is not None:
            last_run, last_at = report.run_id, report.at
            result, reason = report.status.value, report.reason
        else:
            last_run, last_at, result, reason = None, None, None, None
        states.append(
            TenantState(
                tenant=tenant.id,
                site=tenant.site,
                last_run=last_run,
                last_run_at=last_at,
                result=result,
                reason=reason,
                last_success_at=None if success is None else success.at,
                age=age,
                level=level_of(age, thresholds),
            )
        )
    return states


def _running(registry: Registry) -> dict[str, RunSummary]:
    """The newest running run of each tenant (running runs are few)."""
    found: dict[str, RunSummary] = {}
    for run in registry.list_runs(limit=200, status=RunStatus.RUNNING):
        for tenant in run.selection.get("tenants", ()):
            found.setdefault(str(tenant), run)
    return found


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def summary(states: Iterable[TenantState]) -> Mapping[Level, int]:
    """How many tenants are at each level."""
    counts = dict.fromkeys(Level, 0)
    for state in states:
        counts[state.level] += 1
    return counts


def prometheus(states: Sequence[TenantState], farm_name: str) -> str:
    """The states in the Prometheus text exposition format (one gauge family per fact)."""
    families: list[tuple[str, str, list[tuple[TenantState, float]]]] = [
        (
            "farm_tenant_last_success_timestamp_seconds",
            "Unix time of the tenant's last successful sync.",
            [(s, s.last_success_at.timestamp()) for s in states if s.last_success_at],
        ),
        (
            "farm_tenant_last_success_age_seconds",
            "Seconds since the tenant's last successful sync.",
            [(s, s.age.total_seconds()) for s in states if s.age is not None],
        ),
        (
            "farm_tenant_last_run_succeeded",
            "1 if the tenant succeeded in the last run that included it, else 0.",
            [(s, 1.0 if s.result == "succeeded" else 0.0) for s in states if s.result],
        ),
        (
            "farm_tenant_status_level",
            "0 ok, 1 warning, 2 critical (never synced counts as critical).",
            [(s, float(_LEVEL_VALUE[s.level])) for s in states],
        ),
    ]
    lines: list[str] = []
    for name, help_text, samples in families:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for state, value in samples:
            labels = (
                f'farm="{_label(farm_name)}",site="{_label(state.site)}",'
                f'tenant="{_label(state.tenant)}"'
            )
            lines.append(f"{name}{{{labels}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
