"""What the dashboard reads from the registry: tenants, last reports, events, a tenant's detail.

Every method blocks (SQL); the dashboard calls them in a worker thread on
its tick. Only the registry is read, never the process that runs a batch, so
a batch started by cron, another terminal or another machine on the same
PostgreSQL registry shows exactly like one started from the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from farm.clock import zone
from farm.config import Farm
from farm.config.schema import StatusThresholds
from farm.engine.events import Event
from farm.engine.schedule import next_run, override_of, schedules, task_last_results
from farm.engine.status import tenant_states
from farm.registry import (
    JournalEntry,
    Registry,
    RunId,
    RunStatus,
    RunSummary,
    StaffTally,
    TenantReport,
    UnknownTenantReport,
)
from farm.tui.rows import LastReport, TenantHealth, TenantInfo, flat_counts

#: Runs examined, newest first, to find each tenant's last report at start.
RECENT_RUNS = 200


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One run of a tenant, for the history table and charts."""

    run_id: int
    at: datetime
    status: str
    people: int  # person records created, updated, suspended or revived
    seconds: float
    simulated: bool
    trigger: str
    written: int = 0  # every record the run wrote (or would have), all entities

    @property
    def real(self) -> bool:
        """A run that did something: neither a simulation nor refused before it began."""
        return not self.simulated and self.status != "skipped"


@dataclass(frozen=True, slots=True)
class RunSpan:
    """One real run of the farm: when it ended and how long it took, wall clock."""

    at: datetime
    seconds: float


@dataclass(frozen=True, slots=True)
class FarmHistory:
    """The farm's recent real runs: every tenant's, and each run's wall time."""

    tenants: Mapping[str, tuple[HistoryPoint, ...]]
    runs: tuple[RunSpan, ...]
    zone: ZoneInfo


#: At most this many runs are read for the farm's history (its charts and heat-map).
HISTORY_RUNS = 600


@dataclass(frozen=True, slots=True)
class ScheduleLine:
    """One task of a tenant: its cron, the last run that did it and the next time it fires."""

    task: str
    cron: str
    last: datetime | None
    next: datetime | None
    result: str | None = None  # how the last run that did the task ended
    override: str = ""  # "override" when a site or tenant file sets the schedule


@dataclass(frozen=True, slots=True)
class TenantDetail:
    """Everything the drill-down shows.

    ``last`` is the last real run's report (not a simulation, not a run
    refused before it began), the newest report when there is no real one;
    ``reports`` holds every run of the history's, to open any of them.
    """

    tenant: TenantInfo
    last: TenantReport | None
    last_run: RunSummary | None
    history: tuple[HistoryPoint, ...]
    schedule: tuple[ScheduleLine, ...]
    zone: ZoneInfo | None = None  # the farm's: every time shown is in it
    reports: Mapping[int, TenantReport] = field(default_factory=dict)
    points: tuple[HistoryPoint, ...] = ()  # every run of the last 30 nights, for the charts
    journal: tuple[JournalEntry, ...] = ()  # the tenant's latest changes, newest first
    staff: StaffTally | None = None  # its staff CSV people and last reconciliation scan


class RegistryFeed:
    """Reads for the dashboard; ``farm`` (when known) gives schedules and names."""

    def __init__(
        self,
        registry: Registry,
        farm: Farm | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry
        self.farm = farm
        self.clock = clock
        self.last_event = 0
        self.zone = zone(None if farm is None else farm.settings.timezone)
        self.thresholds = StatusThresholds() if farm is None else farm.settings.status

    def health(self, tenants: Sequence[TenantInfo]) -> list[TenantHealth]:
        """Each tenant's state and level from :mod:`farm.engine.status`, the one computation."""
        return [
            TenantHealth(
                s.tenant,
                s.state.value,
                s.level.value,
                "; ".join(s.why(self.thresholds, self.zone)),
            )
            for s in tenant_states(self.registry, tenants, self.thresholds, now=self.clock())
        ]

    def tenants(self) -> list[TenantInfo]:
        """The tenants the registry knows (the farm's, when the registry is empty)."""
        known = [
            TenantInfo(id=t.id, name=t.name, site=t.site, kind=t.kind, tags=t.tags)
            for t in self.registry.registered_tenants()
        ]
        if known or self.farm is None:
            return known
        return [
            TenantInfo(id=t.id, name=t.name, site=t.site, kind=t.kind, tags=tuple(sorted(t.tags)))
            for t in self.farm.tenants.values()
        ]

    def last_reports(self, tenants: Sequence[str]) -> list[LastReport]:
        """Each tenant's report in the newest finished run that has one."""
        wanted = set(tenants)
        found: dict[str, LastReport] = {}
        before: RunId | None = None
        seen = 0
        while wanted - found.keys() and seen < RECENT_RUNS:
            page = self.registry.list_runs(limit=50, before=before)
            if not page:
                break
            for run in page:
                seen += 1
                if run.status is RunStatus.RUNNING or run.tenants_total == 0:
                    continue
                for report in self.registry.get_report(run.id).tenants:
                    if report.tenant in wanted and report.tenant not in found:
                        found[report.tenant] = _last(run, report)
            before = page[-1].id
        return list(found.values())

    def start(self) -> None:
        """Start following: from the first event of any run still running, else from now."""
        running = self.registry.list_runs(limit=50, status=RunStatus.RUNNING)
        firsts = [
            rows[0].id
            for run in running
            if (rows := self.registry.events_since(0, run_id=run.id, limit=1))
        ]
        if firsts:
            self.last_event = min(firsts) - 1
            return
        # One indexed read, rather than paging through every event the registry holds.
        self.last_event = self.registry.max_event_id()

    def poll(self, limit: int = 5000) -> list[Event]:
        """Events recorded since the last poll, oldest first (at most ``limit``)."""
        out: list[Event] = []
        while len(out) < limit:
            rows = self.registry.events_since(self.last_event, limit=1000)
            for row in rows:
                self.last_event = row.id
                try:
                    out.append(Event.from_json(row.payload))
                except (KeyError, ValueError):
                    continue  # an event of another shape: not ours to show
            if len(rows) < 1000:
                break
        return out

    def recent(self, limit: int = 200) -> list[Event]:
        """The last ``limit`` events before where :meth:`start` began following, oldest first.

        They fill the log pane when the dashboard opens: the night's runs are
        there from the start, not only what happens from now.
        """
        out: list[Event] = []
        for row in self.registry.events_since(max(0, self.last_event - limit), limit=limit):
            if row.id > self.last_event:
                break
            try:
                out.append(Event.from_json(row.payload))
            except (KeyError, ValueError):
                continue
        return out

    def detail(self, tenant: TenantInfo, *, runs: int = 30, nights: int = 30) -> TenantDetail:
        """The tenant's last real report, its recent runs, its nights and its schedule.

        The history table has the last ``runs`` runs; the charts every run of
        the last ``nights`` days (at most :data:`HISTORY_RUNS` runs read).
        """
        since = self.clock() - timedelta(days=nights)
        history: list[HistoryPoint] = []
        points: list[HistoryPoint] = []
        reports: dict[int, TenantReport] = {}
        found: list[tuple[RunSummary, TenantReport]] = []
        before: RunId | None = None
        seen = 0
        while seen < HISTORY_RUNS:
            page = self.registry.list_runs(limit=50, before=before)
            if not page:
                break
            for run in page:
                seen += 1
                listed = run.selection.get("tenants")
                if listed is not None and tenant.id not in listed:
                    continue  # a run that says its tenants, without this one
                try:
                    (report,) = self.registry.get_report(run.id, tenant.id).tenants
                except UnknownTenantReport:
                    continue  # still queued in a running run, or refused before a report
                point = _point(run, report)
                if point.at >= since:
                    points.append(point)
                if len(history) < runs:
                    history.append(point)
                    reports[run.id] = report
                    found.append((run, report))
            before = page[-1].id
            if len(history) >= runs and page[-1].started_at < since:
                break
        real = [pair for pair, p in zip(found, history, strict=True) if p.real]
        chosen = (real or found)[:1]
        last_run, last = chosen[0] if chosen else (None, None)
        return TenantDetail(
            tenant=tenant,
            last=last,
            last_run=last_run,
            history=tuple(reversed(history)),
            schedule=self._schedule(tenant),
            zone=self.zone,
            reports=reports,
            points=tuple(reversed(points)),
            journal=tuple(self.journal(tenant.id)),
            staff=self.registry.staff_tallies([tenant.id]).get(tenant.id),
        )

    def journal(
        self, tenant: str, person: str | None = None, limit: int = 50
    ) -> list[JournalEntry]:
        """The tenant's latest journal lines, newest first, or one person's (``farm journal``).

        ``person`` is a login, an idnumber, a source key or a source's own id.
        """
        return self.registry.journal_entries(tenant=tenant, person=person or None, limit=limit)

    def farm_history(self, nights: int = 30) -> FarmHistory:
        """Every real run of the last ``nights`` days, by tenant (at most :data:`HISTORY_RUNS`)."""
        since = self.clock() - timedelta(days=nights)
        tenants: dict[str, list[HistoryPoint]] = {}
        runs: list[RunSpan] = []
        before: RunId | None = None
        seen = 0
        while seen < HISTORY_RUNS:
            page = self.registry.list_runs(limit=50, before=before)
            if not page:
                break
            for run in page:
                seen += 1
                if run.simulated or run.status is RunStatus.RUNNING or run.tenants_total == 0:
                    continue
                duration = run.duration
                runs.append(
                    RunSpan(_when(run), 0.0 if duration is None else duration.total_seconds())
                )
                for report in self.registry.get_report(run.id).tenants:
                    tenants.setdefault(report.tenant, []).append(_point(run, report))
            before = page[-1].id
            if page[-1].started_at < since:
                break
        return FarmHistory(
            tenants={t: tuple(reversed(p)) for t, p in tenants.items()},
            runs=tuple(runs),
            zone=self.zone,
        )

    def _schedule(self, tenant: TenantInfo) -> tuple[ScheduleLine, ...]:
        """The tenant's tasks, with the same last runs as ``farm schedule list``."""
        if self.farm is None or tenant.id not in self.farm.tenants:
            return ()
        return tuple(line for _, line in self.farm_schedule([tenant.id]))

    def farm_schedule(
        self, tenants: Sequence[str] | None = None
    ) -> tuple[tuple[str, ScheduleLine], ...]:
        """Every task of ``tenants`` (all the farm's by default), tenant by tenant.

        As Moodle's scheduled-task page has them: cron, last run and its
        result, next run, override. Empty without the farm's configuration.
        """
        if self.farm is None:
            return ()
        farm = self.farm
        chosen = [farm.tenants[t] for t in tenants if t in farm.tenants] if tenants else None
        now = self.clock()
        last = task_last_results(self.registry, None if chosen is None else [t.id for t in chosen])
        out = []
        for entry in schedules(farm, chosen):
            found = last.get((entry.tenant, entry.task))
            out.append(
                (
                    entry.tenant,
                    ScheduleLine(
                        task=entry.task,
                        cron=entry.cron,
                        last=None if found is None else found.at,
                        next=next_run(entry.cron, now, farm.settings.timezone),
                        result=None if found is None else found.status,
                        override=override_of(farm, farm.tenants[entry.tenant], entry.task),
                    ),
                )
            )
        return tuple(out)


def _when(run: RunSummary) -> datetime:
    return run.finished_at or run.started_at


def _last(run: RunSummary, report: TenantReport) -> LastReport:
    return LastReport(
        tenant=report.tenant,
        run_id=run.id,
        status=report.status.value,
        at=_when(run),
        counts=flat_counts(report.counts, len(report.errors)),
        reason=report.reason,
        simulated=report.simulated,
    )


def _point(run: RunSummary, report: TenantReport) -> HistoryPoint:
    people = sum(n for action, n in report.counts.get("person", {}).items() if action != "reindex")
    written = sum(
        n
        for actions in report.counts.values()
        for action, n in actions.items()
        if action != "reindex"
    )
    return HistoryPoint(
        run_id=run.id,
        at=_when(run),
        status=report.status.value,
        people=people,
        seconds=float(report.durations.get("total", 0.0)),
        simulated=report.simulated,
        trigger=run.trigger.value,
        written=written,
    )
