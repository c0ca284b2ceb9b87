"""Schedules: when each task of each tenant runs, as Moodle's scheduled-task page shows it.

A task has a cron expression (read in the farm's time zone, Europe/Paris by
default) or ``disabled``: farm defaults from farm.toml's ``[schedules]``,
overridden by the site's and the tenant's (:meth:`Farm.schedules_of`). A
disabled task runs only when asked from the command line.

Times are computed by cronsim, which follows the wall clock across
daylight-saving changes the way cron does: on the spring-forward night a
02:30 job runs at 03:00, on the fall-back night it runs once, at the first
02:30. :func:`fire_times` turns that into absolute instants between two
moments, which is all the scheduler needs to run each job exactly once.

:func:`run_scheduler` is the scheduler's loop: it sleeps until the next
firing on a :class:`Clock` (the wall clock in production, a fake one in
tests), then launches every task due since its last look, one launch per
task with all its due tenants. :func:`task_last_results` says how each tenant's
task last ran, from the registry, for ``farm schedule list``.

:func:`wait_bound` says how long one firing of a task may wait for a site
another run holds: until the task's next firing, or a configured maximum if
that comes first (:mod:`farm.engine.schedule_queue` runs the firing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

import anyio
from cronsim import CronSim

from farm.config import Farm, TenantConfig, TenantKind
from farm.config.schema import ESTABLISHMENT_TASKS, NETYPAREO_TASKS
from farm.ground import Ground
from farm.model import Entity, Profile
from farm.options import Mode, RunOptions
from farm.registry import Registry
from farm.registry.runs import TenantLastRun

DISABLED: Final = "disabled"
#: The longest the scheduler sleeps at once, so a wall clock that jumped is noticed soon.
MAX_SLEEP: Final = timedelta(seconds=60)
#: How long a scheduled job waits for its site when its task has no next firing to wait for.
FALLBACK_WAIT: Final = timedelta(hours=1)

# What operators find on Moodle's scheduled-task page, per kind of tenant
# (the ENT plugin's tasks; auth_netypareo's sync_* tasks and update_caches).
TASKS: Final[Mapping[TenantKind, tuple[str, ...]]] = {
    "establishment": ESTABLISHMENT_TASKS,
    "netypareo": NETYPAREO_TASKS,
}

# NetYpareo cohorts' idnumbers past the farm's prefix: netypareo:<tenant>:group|pdgroup:<code>.
_GROUP_COHORTS: Final = "netypareo:*:group:*"
_PDGROUP_COHORTS: Final = "netypareo:*:pdgroup:*"
_NETYPAREO_COHORTS: Final = "netypareo:*"


@dataclass(frozen=True, slots=True)
class Task:
    """A scheduled task: what it does, in a few words, and the options it runs with.

    One name may be a task of both kinds (``groups``): its options must do
    the right thing for each, since a firing runs every due tenant at once.
    """

    name: str
    does: str
    options: RunOptions


def _task(name: str, does: str, **options: Any) -> Task:
    return Task(name, does, RunOptions(task=name, **options))


_COHORTS = frozenset({Entity.COHORTS})
_TASK_LIST: Final = (
    Task("sync", "everything: a full sync", RunOptions()),
    _task("delta", "what changed in the directory since the last run (ENT)", delta=True),
    _task("users", "accounts only (ENT)", entities=frozenset({Entity.USERS})),
    _task("cohorts", "cohorts and their members (ENT)", entities=_COHORTS),
    # The ENT plugin's "Affectations de rôle et inscriptions": the course rules' enrolments
    # come with the roles, before the groups task adds the enrolled to their course groups.
    _task(
        "roles",
        "role assignments and course enrolments (ENT)",
        entities=frozenset({Entity.ROLES, Entity.ENROLMENTS}),
    ),
    # An ENT's groups are course groups; a NetYpareo site's are cohorts of one family, and
    # the scope leaves every other cohort (the ENT's, the pdgroups') alone.
    _task(
        "groups",
        "course groups and their members (ENT); the apprenticeship groups' cohorts "
        "and their members (NetYpareo)",
        entities=frozenset({Entity.GROUPS, Entity.COHORTS}),
        cohort_scope=_GROUP_COHORTS,
    ),
    _task(
        "sites",
        "each site's code checked in the endpoint's site list, its name carried to its "
        "cohorts' descriptions (cohort updates only)",
        entities=_COHORTS,
        mode=Mode.UPDATE_ONLY,
        cohort_scope=_NETYPAREO_COHORTS,
    ),
    _task(
        "pdgroups",
        "the continuing-education groups' cohorts and their members",
        entities=_COHORTS,
        cohort_scope=_PDGROUP_COHORTS,
    ),
    _task(
        "students",
        "learners (apprenants) and their enrolments",
        entities=frozenset({Entity.USERS, Entity.ENROLMENTS}),
        profiles=frozenset({Profile.STUDENT}),
    ),
    _task(
        "teachers",
        "trainers (formateurs) and their enrolments",
        entities=frozenset({Entity.USERS, Entity.ENROLMENTS}),
        profiles=frozenset({Profile.TEACHER}),
    ),
    _task(
        "tutors",
        "company tutors and their role over their apprentices (tutor_role)",
        entities=frozenset({Entity.USERS, Entity.ROLES}),
        profiles=frozenset({Profile.TUTOR}),
    ),
    _task(
        "caches",
        "the reference tables (statuses, programs) reloaded; nothing else",
        entities=frozenset(),
    ),
)
TASK_TABLE: Final[Mapping[str, Task]] = {task.name: task for task in _TASK_LIST}
"""Every task by name (``sync`` is ``farm sync`` itself)."""


def task_options(task: str) -> RunOptions:
    """The options a scheduled ``task`` runs with."""
    return TASK_TABLE[task].options


def task_does(task: str) -> str:
    """What ``task`` does, in a few words, for ``farm schedule list`` and the docs."""
    return TASK_TABLE[task].does


def tasks_of(kind: TenantKind) -> tuple[str, ...]:
    """Every task a tenant of this kind can have."""
    return TASKS[kind]


def task_refusal(task: str, tenants: Sequence[TenantConfig]) -> str | None:
    """Why ``task`` cannot run for ``tenants`` (a tenant whose kind lacks it), or None.

    The message names the tenant, the tasks its kind has and, for a
    misspelt name, the closest of them ("did you mean").
    """
    for tenant in tenants:
        theirs = tasks_of(tenant.kind)
        if task in theirs:
            continue
        close = get_close_matches(task, theirs, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"{tenant.id} has no task {task!r} (a {tenant.kind} tenant's tasks: "
            f"{', '.join(theirs)}){hint}"
        )
    return None


@dataclass(frozen=True, slots=True)
class TaskSchedule:
    """One tenant's task and its cron expression (or ``disabled``)."""

    tenant: str
    site: str
    task: str
    cron: str

    @property
    def disabled(self) -> bool:
        return self.cron == DISABLED


def schedules(farm: Farm, tenants: Sequence[TenantConfig] | None = None) -> list[TaskSchedule]:
    """Every scheduled task of ``tenants`` (all of the farm's by default), tenant by tenant.

    Only tasks the farm configures are listed; a task name that does not
    apply to a tenant's kind is left out.
    """
    chosen = tenants if tenants is not None else tuple(farm.tenants.values())
    found: list[TaskSchedule] = []
    for tenant in chosen:
        allowed = tasks_of(tenant.kind)
        for task, cron in farm.schedules_of(tenant).items():
            if task in allowed:
                found.append(TaskSchedule(tenant.id, tenant.site, task, cron))
    return found


def next_run(cron: str, after: datetime, timezone: str) -> datetime | None:
    """The first time strictly after ``after`` (UTC) that ``cron`` fires; None when disabled."""
    return next(fire_times(cron, after, None, timezone), None)


def fire_times(
    cron: str, after: datetime, until: datetime | None, timezone: str
) -> Iterator[datetime]:
    """The instants (UTC) in ``(after, until]`` at which ``cron`` fires, in order.

    ``until`` None means without end. A disabled task never fires.
    """
    if cron == DISABLED:
        return
    if after.tzinfo is None:
        raise ValueError("fire_times needs timezone-aware datetimes")
    zone = ZoneInfo(timezone)
    iterator = CronSim(cron, after.astimezone(zone))
    for moment in iterator:
        instant = moment.astimezone(UTC)
        # Around a fall-back change cronsim may hand back the earlier pass of
        # the wall clock; comparing instants keeps each firing once.
        if instant <= after:
            continue
        if until is not None and instant > until:
            return
        yield instant


def due(
    entries: Sequence[TaskSchedule], after: datetime, until: datetime, timezone: str
) -> list[TaskSchedule]:
    """The entries that fire at least once in ``(after, until]``; each is listed once."""
    return [e for e in entries if next(fire_times(e.cron, after, until, timezone), None)]


def next_wakeup(entries: Sequence[TaskSchedule], after: datetime, timezone: str) -> datetime | None:
    """The earliest firing after ``after`` of any entry; None when every entry is disabled."""
    crons = {e.cron for e in entries}
    times = [t for cron in crons if (t := next_run(cron, after, timezone)) is not None]
    return min(times, default=None)


def by_task(entries: Sequence[TaskSchedule]) -> dict[str, list[str]]:
    """The tenants of ``entries`` grouped by task, in the order given."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        grouped[entry.task].append(entry.tenant)
    return dict(grouped)


class Clock(Protocol):
    """What the scheduler asks of time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...

    async def sleep_until(self, moment: datetime, stop: anyio.Event) -> None:
        """Return at ``moment``, or earlier when ``stop`` is set."""
        ...


class WallClock:
    """The real clock; sleeps at most :data:`MAX_SLEEP` at a time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime, stop: anyio.Event) -> None:
        pause = (moment - self.now()).total_seconds()
        with anyio.move_on_after(max(0.0, min(pause, MAX_SLEEP.total_seconds()))):
            await stop.wait()


Launch = Callable[[str, list[str]], Coroutine[Any, Any, None]]


Reload = Callable[[], Sequence[TaskSchedule] | None]


async def run_scheduler(
    entries: Sequence[TaskSchedule],
    timezone: str,
    launch: Launch,
    stop: anyio.Event,
    *,
    clock: Clock | None = None,
    reload: Reload | None = None,
) -> None:
    """Launch each task when due until ``stop`` is set, then wait for launches to end.

    ``launch(task, tenants)`` runs in a task of its own, so a long sync does
    not delay the next firing. A firing missed while asleep (a suspended
    machine) is launched once on waking, however many were missed.

    ``reload`` is asked at every wake-up (at least every :data:`MAX_SLEEP`)
    before anything is launched: new entries when the farm's files changed,
    None otherwise. A task the files now disable no longer fires.
    """
    clock = clock or WallClock()
    async with anyio.create_task_group() as group:
        last = clock.now()
        while not stop.is_set():
            wakeup = next_wakeup(entries, last, timezone) or last + MAX_SLEEP
            await clock.sleep_until(wakeup, stop)
            if stop.is_set():
                break
            if reload is not None and (fresh := reload()) is not None:
                entries = fresh
            now = clock.now()
            for task, tenants in by_task(due(entries, last, now, timezone)).items():
                group.start_soon(launch, task, tenants, name=f"scheduled {task}")
            last = max(last, now)


def schedule_changes(old: Sequence[TaskSchedule], new: Sequence[TaskSchedule]) -> list[str]:
    """What a reload changed, one line each: ``0340041K delta: */20 7-18 * * 1-5 -> disabled``."""
    before = {(e.tenant, e.task): e.cron for e in old}
    after = {(e.tenant, e.task): e.cron for e in new}
    lines = []
    for key in sorted(before.keys() | after.keys()):
        tenant, task = key
        was, now = before.get(key), after.get(key)
        if was != now:
            lines.append(f"{tenant} {task}: {was or 'absent'} -> {now or 'absent'}")
    return lines


class FarmFiles:
    """Notices when the farm folder's TOML files change (names, sizes, modification times)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen = self.fingerprint()

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for path in sorted(self.root.rglob("*.toml")):
            try:
                info = path.stat()
            except OSError:
                continue
            found.append((str(path.relative_to(self.root)), info.st_mtime_ns, info.st_size))
        return tuple(found)

    def changed(self) -> bool:
        """True once per change: the next call is False until the files change again."""
        current = self.fingerprint()
        if current == self.seen:
            return False
        self.seen = current
        return True


@dataclass(frozen=True, slots=True)
class TaskLast:
    """The last run that did a tenant's task: when, which, how it ended."""

    run_id: int
    at: datetime  # finished, or started while it runs
    started_at: datetime
    status: str


def task_last_results(
    registry: Registry, tenants: Collection[str] | None = None
) -> dict[tuple[str, str], TaskLast]:
    """The last run of each ``(tenant, task)``, for ``farm schedule list`` and the dashboard.

    A run counts for a task when it ran that task, or when its ground
    (:mod:`farm.ground`) covers the task's: a plain ``farm sync`` does every
    task's work, a ``--user`` run does none. Blocking; two queries.
    """
    by_task = registry.last_tenant_runs_by_task(tenants)
    out: dict[tuple[str, str], TaskLast] = {}

    def offer(tenant: str, task: str, found: TenantLastRun) -> None:
        current = out.get((tenant, task))
        if current is None or found.run_id > current.run_id:
            out[(tenant, task)] = TaskLast(
                found.run_id, found.at, found.started_at, found.status.value
            )

    for (tenant, task), found in by_task.items():
        if task is not None:
            offer(tenant, task, found)
    grounds = {name: Ground.of_run(task.options) for name, task in TASK_TABLE.items()}
    for record in registry.tenant_grounds(tenants):
        ground = Ground.parse(record.last.ground)
        for task, wanted in grounds.items():
            if ground.covers(wanted):
                offer(record.last.tenant, task, record.last)
    return out


def override_of(farm: Farm, tenant: TenantConfig, task: str) -> str:
    """``""`` when the task runs on the farm's schedule, else ``override`` (site or tenant)."""
    return "override" if task in tenant.schedules else ""


# -- how long a firing may wait for its site ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitBound:
    """How long a scheduled run's jobs may wait for a held site, and why that long."""

    seconds: float
    why: str


def wait_bound(
    entries: Sequence[TaskSchedule],
    task: str,
    tenants: Collection[str],
    now: datetime,
    timezone: str,
    max_wait: timedelta | None = None,
) -> WaitBound:
    """Until ``task``'s next firing for ``tenants`` after ``now``, or ``max_wait`` if sooner.

    Waiting past its own next firing would only queue a task behind itself.
    A task with no next firing among ``entries`` waits :data:`FALLBACK_WAIT`.
    """
    chosen = set(tenants)
    crons = {e.cron for e in entries if e.task == task and e.tenant in chosen}
    upcoming = [t for cron in crons if (t := next_run(cron, now, timezone)) is not None]
    bounds: list[WaitBound] = []
    if upcoming:
        moment = min(upcoming)
        local = moment.astimezone(ZoneInfo(timezone))
        bounds.append(
            WaitBound(
                max(0.0, (moment - now).total_seconds()),
                f"at the task's next firing ({local:%Y-%m-%d %H:%M} {timezone})",
            )
        )
    if max_wait is not None:
        why = f"after the longest wait allowed ({span(max_wait)})"
        bounds.append(WaitBound(max_wait.total_seconds(), why))
    if not bounds:
        bounds.append(
            WaitBound(FALLBACK_WAIT.total_seconds(), f"after {span(FALLBACK_WAIT)} of waiting")
        )
    return min(bounds, key=lambda bound: bound.seconds)


def span(duration: timedelta) -> str:
    """``2h``, ``1h30m``, ``45s``, ``0.5s``: a duration as operators write it."""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (rest, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)
