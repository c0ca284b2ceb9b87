"""What ``farm schedule list`` shows: the farm's tasks at a glance, or one tenant's as Moodle does.

Moodle's scheduled-task page lists, per task, its cron fields (minute,
hour, day, month, day of week), whether the default was changed, the last
run and the next one, and "disabled" tasks that only run from the command
line. The farm has that per tenant and task, which on 163 tenants is 821
lines, so:

- :func:`farm_table` groups the tasks by schedule: one row per task and
  cron expression, with how many tenants run it so, how many of those
  through a site or tenant override, when it last ran among them with the
  tenants' last results counted by state, and the next run;
- :func:`tenant_table` is one tenant's page: a row per task with its cron
  fields, the override in effect, the last run (its id, when, its result)
  and the next run, or "disabled: CLI only";
- :func:`task_legend` says what each task listed does, under the tables;
- :func:`task_json` is every tenant x task with all of that, for scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text

from farm.clock import iso, label, local_text
from farm.config import Farm
from farm.config.schema import ESTABLISHMENT_TASKS, NETYPAREO_TASKS
from farm.engine.health import State, counts_text, state_counts
from farm.engine.schedule import TaskLast, TaskSchedule, next_run, override_of, task_does

#: Moodle's names for the five cron fields, in order.
CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")
CLI_ONLY = "disabled: CLI only"


@dataclass(frozen=True, slots=True)
class TaskLine:
    """One tenant's task with everything the views say about it."""

    entry: TaskSchedule
    override: bool
    last: TaskLast | None
    upcoming: datetime | None

    def fields(self) -> dict[str, str]:
        """The cron fields by Moodle's names; one ``schedule`` field when not five."""
        parts = self.entry.cron.split()
        if self.entry.disabled or len(parts) != len(CRON_FIELDS):
            return {"schedule": self.entry.cron}
        return dict(zip(CRON_FIELDS, parts, strict=True))


def task_lines(
    farm: Farm,
    entries: Sequence[TaskSchedule],
    last: dict[tuple[str, str], TaskLast],
    now: datetime,
) -> list[TaskLine]:
    """The views' lines for ``entries``, with their last runs and next firings after ``now``."""
    timezone = farm.settings.timezone
    nexts: dict[str, datetime | None] = {}
    out = []
    for entry in entries:
        if entry.cron not in nexts:
            nexts[entry.cron] = next_run(entry.cron, now, timezone)
        out.append(
            TaskLine(
                entry,
                bool(override_of(farm, farm.tenants[entry.tenant], entry.task)),
                last.get((entry.tenant, entry.task)),
                nexts[entry.cron],
            )
        )
    return out


def farm_table(lines: Sequence[TaskLine], where: ZoneInfo) -> Table:
    """One row per task and schedule (see the module docstring)."""
    groups: dict[tuple[str, str], list[TaskLine]] = {}
    for line in lines:
        groups.setdefault((line.entry.task, line.entry.cron), []).append(line)
    table = Table(
        "task",
        "schedule",
        "tenants",
        "override",
        f"last run ({label(where)})",
        "last results",
        "next run",
        title="Scheduled tasks (farm schedule list --tenant ID: one tenant's)",
    )
    # Moodle's order: the establishments' tasks, then the NetYpareo sites' own.
    known = dict.fromkeys(
        [*ESTABLISHMENT_TASKS, *NETYPAREO_TASKS, *(li.entry.task for li in lines)]
    )
    order = {task: n for n, task in enumerate(known)}
    for (task, cron), members in sorted(groups.items(), key=lambda g: (order[g[0][0]], g[0][1])):
        ran = [m.last for m in members if m.last is not None]
        latest = max(ran, key=lambda r: r.at, default=None)
        results = state_counts(m.last.status if m.last else State.NEVER.value for m in members)
        overrides = sum(1 for m in members if m.override)
        table.add_row(
            Text(task),
            Text(cron),
            str(len(members)),
            str(overrides) if overrides else "-",
            "never" if latest is None else f"{local_text(latest.at, where)} (run {latest.run_id})",
            Text(counts_text(results), style=_style(results)),
            _next(members[0], where),
        )
    return table


def tenant_table(lines: Sequence[TaskLine], where: ZoneInfo) -> Table:
    """One tenant's tasks, Moodle's scheduled-task page for it."""
    table = Table(
        "task",
        *CRON_FIELDS,
        "override",
        f"last run ({label(where)})",
        "result",
        "next run",
    )
    for line in lines:
        fields = line.fields()
        cron = (
            [fields[name] for name in CRON_FIELDS]
            if "schedule" not in fields
            else [fields["schedule"], "", "", "", ""]
        )
        last = line.last
        table.add_row(
            Text(line.entry.task),
            *(Text(value) for value in cron),
            "site or tenant" if line.override else "-",
            "never" if last is None else f"{local_text(last.at, where)} (run {last.run_id})",
            Text("-" if last is None else last.status, style=_status_style(last)),
            _next(line, where),
        )
    return table


def task_json(line: TaskLine, where: ZoneInfo) -> dict[str, Any]:
    """One tenant's task for ``farm schedule list --json``."""
    last = line.last
    return {
        "tenant": line.entry.tenant,
        "site": line.entry.site,
        "task": line.entry.task,
        "does": task_does(line.entry.task),
        "schedule": line.entry.cron,
        "fields": None if "schedule" in line.fields() else line.fields(),
        "disabled": line.entry.disabled,
        "override": line.override,
        "last_run": None
        if last is None
        else {"run": last.run_id, "at": iso(last.at, where), "status": last.status},
        "next_run": iso(line.upcoming, where),
    }


def task_legend(lines: Sequence[TaskLine]) -> Text:
    """What each task of ``lines`` does, a line each, in the tables' order: under the tables,
    so that their columns keep the width they need."""
    tasks = dict.fromkeys(
        [*ESTABLISHMENT_TASKS, *NETYPAREO_TASKS, *(li.entry.task for li in lines)]
    )
    shown = {li.entry.task for li in lines}
    legend = Text()
    for task in (t for t in tasks if t in shown):
        legend.append(f"{task}", style="bold")
        legend.append(f": {task_does(task)}\n")
    return legend


def _next(line: TaskLine, where: ZoneInfo) -> str | Text:
    if line.entry.disabled:
        return Text(CLI_ONLY, style="dim")
    return "-" if line.upcoming is None else local_text(line.upcoming, where)


def _style(results: dict[State, int]) -> str:
    if results.get(State.FAILED) or results.get(State.NEVER):
        return "red"
    if results.get(State.PARTIAL) or results.get(State.INTERRUPTED):
        return "yellow"
    return "green"


def _status_style(last: TaskLast | None) -> str:
    if last is None:
        return ""
    return {"failed": "red", "partial": "yellow", "interrupted": "yellow"}.get(last.status, "")
