"""The tenants' states in the Prometheus text exposition format (``farm status --prometheus``).

One gauge family per fact :mod:`farm.engine.status` decides, labelled by
farm, site and tenant, so an alert rule can ask for the same thing as
``farm status``.
"""

from __future__ import annotations

from collections.abc import Sequence

from farm.engine.health import LEVEL_VALUE
from farm.engine.status import TenantState


def prometheus(states: Sequence[TenantState], farm_name: str) -> str:
    """The states in the Prometheus text exposition format (one gauge family per fact)."""
    families: list[tuple[str, str, list[tuple[TenantState, str, float]]]] = [
        (
            "farm_tenant_last_success_timestamp_seconds",
            "Unix time of the tenant's last successful sync.",
            [(s, "", s.last_success_at.timestamp()) for s in states if s.last_success_at],
        ),
        (
            "farm_tenant_last_success_age_seconds",
            "Seconds since the tenant's last successful sync.",
            [(s, "", s.age.total_seconds()) for s in states if s.age is not None],
        ),
        (
            "farm_tenant_last_run_succeeded",
            "1 if the tenant succeeded in the last run that included it, else 0.",
            [(s, "", 1.0 if s.result == "succeeded" else 0.0) for s in states if s.result],
        ),
        (
            "farm_tenant_open_problems",
            "Problems (failed, interrupted, partial) no covering run has cleared yet.",
            [(s, "", float(len(s.problems))) for s in states],
        ),
        (
            "farm_tenant_state",
            "1 for the tenant's state (its worst open problem, else its last result).",
            [(s, f',state="{s.state.value}"', 1.0) for s in states],
        ),
        (
            "farm_tenant_status_level",
            "0 ok, 1 warning, 2 critical (failed and never synced are critical).",
            [(s, "", float(LEVEL_VALUE[s.level])) for s in states],
        ),
    ]
    lines: list[str] = []
    for name, help_text, samples in families:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for state, extra, value in samples:
            labels = (
                f'farm="{_label(farm_name)}",site="{_label(state.site)}",'
                f'tenant="{_label(state.tenant)}"{extra}'
            )
            lines.append(f"{name}{{{labels}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
