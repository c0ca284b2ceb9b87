"""Runs and their per-tenant reports.

A run is started (status ``running``) before any tenant is touched and
finished once with its final status; a run left ``running`` by a killed
process is what the coordinator marks ``interrupted``. Each tenant's report is
recorded when that tenant is done; recording it again for the same run
replaces it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from farm.ground import Ground
from farm.registry.database import Store
from farm.registry.errors import UnknownRun, UnknownTenantReport
from farm.registry.rows import (
    RefusedRecord,
    ReportWarning,
    RunId,
    RunReport,
    RunStatus,
    RunSummary,
    RunTrigger,
    TenantReport,
    TenantStatus,
)
from farm.registry.tables import RunRow, TenantNoticeRow, TenantReportRow

_OK = (TenantStatus.SUCCEEDED.value,)
_FAILED = (TenantStatus.FAILED.value, TenantStatus.PARTIAL.value, TenantStatus.INTERRUPTED.value)


@dataclass(frozen=True, slots=True)
class TenantLastRun:
    """A tenant's report in one run, with the run's times and status: what status pages show.

    ``task`` is the scheduled task the run ran (its selection's ``task``), or
    None for a run of every task (a plain ``farm sync``).
    """

    tenant: str
    site: str
    run_id: RunId
    started_at: datetime
    finished_at: datetime | None
    run_status: RunStatus
    status: TenantStatus
    reason: str | None
    simulated: bool
    task: str | None
    ground: str = ""  # farm.ground.Ground.text of the run's options

    @property
    def at(self) -> datetime:
        """When the run finished, or started while it runs."""
        return self.finished_at or self.started_at


class RunStore(Store):
    """Runs and reports: the operations the coordinator and ``farm runs`` use."""

    def start_run(
        self,
        *,
        trigger: RunTrigger,
        selection: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        simulated: bool = False,
        host: str | None = None,
        pid: int | None = None,
    ) -> RunId:
        """Record a new run as ``running`` and return its id."""
        with self.writing() as session:
            row = RunRow(
                started_at=self.now(session),
                status=RunStatus.RUNNING.value,
                trigger=RunTrigger(trigger).value,
                selection=dict(selection or {}),
                options=dict(options or {}),
                simulated=simulated,
                host=host or socket.gethostname(),
                pid=os.getpid() if pid is None else pid,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return RunId(row.id)

    def finish_run(self, run_id: RunId, status: RunStatus, *, reason: str | None = None) -> None:
        """Give a run its final status and end time."""
        if RunStatus(status) is RunStatus.RUNNING:
            raise ValueError("a run finishes with a final status, not 'running'")
        with self.writing() as session:
            row = session.get(RunRow, run_id)
            if row is None:
                raise UnknownRun(run_id)
            row.status = RunStatus(status).value
            row.finished_at = self.now(session)
            row.reason = reason
            session.add(row)

    def record_tenant_report(self, run_id: RunId, report: TenantReport) -> None:
        """Store (or replace) what ``run_id`` did for ``report.tenant``."""
        with self.writing() as session:
            run = session.get(RunRow, run_id)
            if run is None:
                raise UnknownRun(run_id)
            old = session.get(TenantReportRow, (run_id, report.tenant))
            if old is not None:
                session.delete(old)
                session.flush()
            session.add(
                TenantReportRow(
                    run_id=run_id,
                    tenant=report.tenant,
                    site=report.site,
                    status=TenantStatus(report.status).value,
                    reason=report.reason,
                    counts={e: dict(actions) for e, actions in report.counts.items()},
                    errors=[
                        {"key": e.key, "reason": e.reason, "entity": e.entity}
                        for e in report.errors
                    ],
                    warnings=[{"message": w.message, "key": w.key} for w in report.warnings],
                    durations=dict(report.durations),
                    simulated=report.simulated,
                    recorded_at=self.now(session),
                    operations=list(report.operations),
                    ground=Ground.of_options(run.options or {}).text,
                )
            )

    def list_runs(
        self,
        *,
        limit: int = 20,
        status: RunStatus | Collection[RunStatus] | None = None,
        before: RunId | None = None,
    ) -> list[RunSummary]:
        """The latest runs first; ``before`` pages back from an id; ``status`` one or several."""
        with self.reading() as session:
            query = _summary_query().order_by(col(RunRow.id).desc()).limit(limit)
            if isinstance(status, str):
                query = query.where(col(RunRow.status) == RunStatus(status).value)
            elif status is not None:
                query = query.where(col(RunRow.status).in_([RunStatus(s).value for s in status]))
            if before is not None:
                query = query.where(col(RunRow.id) < before)
            return [_summary(*row) for row in session.execute(query).all()]

    def tenant_status_counts(self, runs: Collection[RunId]) -> dict[RunId, dict[str, int]]:
        """How many of each run's tenants ended in each status: ``{run: {status: n}}``."""
        with self.reading() as session:
            query = (
                select(
                    col(TenantReportRow.run_id),
                    col(TenantReportRow.status),
                    func.count(col(TenantReportRow.tenant)),
                )
                .where(col(TenantReportRow.run_id).in_(list(runs)))
                .group_by(col(TenantReportRow.run_id), col(TenantReportRow.status))
            )
            out: dict[RunId, dict[str, int]] = {RunId(r): {} for r in runs}
            for run_id, status, count in session.execute(query).all():
                out[RunId(run_id)][str(status)] = int(count)
            return out

    def get_run(self, run_id: RunId) -> RunSummary:
        """One run; :class:`UnknownRun` when there is none with this id."""
        with self.reading() as session:
            return _get_run(session, run_id)

    def get_report(self, run_id: RunId, tenant: str | None = None) -> RunReport:
        """A run and its tenants' reports, or only ``tenant``'s."""
        with self.reading() as session:
            run = _get_run(session, run_id)
            query = select(TenantReportRow).where(col(TenantReportRow.run_id) == run_id)
            if tenant is not None:
                query = query.where(col(TenantReportRow.tenant) == tenant)
            rows = session.execute(query.order_by(col(TenantReportRow.tenant))).scalars().all()
            if tenant is not None and not rows:
                raise UnknownTenantReport(run_id, tenant)
            return RunReport(run=run, tenants=tuple(_report(row) for row in rows))

    def last_tenant_runs(
        self, tenants: Collection[str] | None = None, *, succeeded: bool = False
    ) -> dict[str, TenantLastRun]:
        """Each tenant's report in the newest run that reported on it, by tenant.

        ``succeeded`` keeps only real successes (simulated runs wrote nothing):
        that is each tenant's last success. ``tenants`` None means every tenant.
        """
        with self.reading() as session:
            newest: Any = select(
                col(TenantReportRow.tenant).label("tenant"),
                func.max(col(TenantReportRow.run_id)).label("run_id"),
            ).group_by(col(TenantReportRow.tenant))
            if tenants is not None:
                newest = newest.where(col(TenantReportRow.tenant).in_(list(tenants)))
            if succeeded:
                newest = newest.join(RunRow, col(RunRow.id) == col(TenantReportRow.run_id)).where(
                    col(TenantReportRow.status) == TenantStatus.SUCCEEDED.value,
                    col(TenantReportRow.simulated).is_(False),
                    col(RunRow.simulated).is_(False),
                )
            found = _tenant_runs(session, newest.subquery())
            return {item.tenant: item for item in found}

    def last_tenant_runs_by_task(
        self, tenants: Collection[str] | None = None
    ) -> dict[tuple[str, str | None], TenantLastRun]:
        """The newest report of each tenant and task, keyed ``(tenant, task)``.

        Runs without a task (``farm sync``) ran every task: they are keyed
        ``(tenant, None)``.
        """
        with self.reading() as session:
            task = _task_of_run()
            newest: Any = (
                select(
                    col(TenantReportRow.tenant).label("tenant"),
                    func.max(col(TenantReportRow.run_id)).label("run_id"),
                )
                .join(RunRow, col(RunRow.id) == col(TenantReportRow.run_id))
                .group_by(col(TenantReportRow.tenant), task)
            )
            if tenants is not None:
                newest = newest.where(col(TenantReportRow.tenant).in_(list(tenants)))
            found = _tenant_runs(session, newest.subquery())
            return {(item.tenant, item.task): item for item in found}

    def tenant_grounds(self, tenants: Collection[str] | None = None) -> list[GroundRecord]:
        """Per tenant and ground, the newest decisive report and the newest success (2 queries).

        A decisive report is one that ended succeeded, partial, failed or
        interrupted in a real (not simulated) run: a skipped tenant did
        nothing, a simulation wrote nothing, and neither settles anything.
        ``farm.engine.status`` decides from these which problems are open.
        """
        with self.reading() as session:
            decisive = _grounds_query(tenants, _DECISIVE)
            successes = _grounds_query(tenants, _OK)
            last = _tenant_runs(session, decisive.subquery())
            won = {
                (tenant, ground): (RunId(run.id), run.finished_at or run.started_at)
                for tenant, ground, run in session.execute(_with_run(successes.subquery())).all()
            }
            out = []
            for item in last:
                success = won.get((item.tenant, item.ground))
                out.append(
                    GroundRecord(
                        last=item,
                        success_run=None if success is None else success[0],
                        success_at=None if success is None else success[1],
                    )
                )
            return out

    def notices(self, tenants: Collection[str] | None = None) -> dict[str, Notice]:
        """What operators were last told about each tenant (``farm.notify``), by tenant."""
        with self.reading() as session:
            query = select(TenantNoticeRow)
            if tenants is not None:
                query = query.where(col(TenantNoticeRow.tenant).in_(list(tenants)))
            return {
                row.tenant: Notice(
                    row.tenant, row.notified, row.reason, row.changed_at, tuple(row.delivery)
                )
                for row in session.execute(query).scalars().all()
            }

    def record_notices(self, notices: Collection[Notice]) -> None:
        """Store (or replace) what was told about these tenants, and how it was delivered."""
        with self.writing() as session:
            for notice in notices:
                row = session.get(TenantNoticeRow, notice.tenant)
                if row is None:
                    row = TenantNoticeRow(tenant=notice.tenant, notified=notice.notified)
                row.notified = notice.notified
                row.reason = notice.reason
                row.changed_at = notice.changed_at
                row.delivery = [dict(d) for d in notice.delivery]
                session.add(row)


@dataclass(frozen=True, slots=True)
class Notice:
    """What was last sent about a tenant: its state then (``ok`` or a problem state), and how.

    ``delivery`` has one ``{"channel", "ok", "error", "at"}`` per channel tried.
    """

    tenant: str
    notified: str
    reason: str | None
    changed_at: datetime
    delivery: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class GroundRecord:
    """A tenant's newest decisive report on one ground, and the newest success on it."""

    last: TenantLastRun
    success_run: RunId | None
    success_at: datetime | None


_DECISIVE = (*_OK, *_FAILED)


def _grounds_query(tenants: Collection[str] | None, statuses: tuple[str, ...]) -> Any:
    query: Any = (
        select(
            col(TenantReportRow.tenant).label("tenant"),
            col(TenantReportRow.ground).label("ground"),
            func.max(col(TenantReportRow.run_id)).label("run_id"),
        )
        .join(RunRow, col(RunRow.id) == col(TenantReportRow.run_id))
        .where(
            col(TenantReportRow.status).in_(statuses),
            col(TenantReportRow.simulated).is_(False),
            col(RunRow.simulated).is_(False),
        )
        .group_by(col(TenantReportRow.tenant), col(TenantReportRow.ground))
    )
    if tenants is not None:
        query = query.where(col(TenantReportRow.tenant).in_(list(tenants)))
    return query


def _with_run(newest: Any) -> Any:
    return select(newest.c.tenant, newest.c.ground, RunRow).join(
        RunRow, col(RunRow.id) == newest.c.run_id
    )


def _summary_query() -> Any:
    ok = func.count(case((col(TenantReportRow.status).in_(_OK), 1)))
    failed = func.count(case((col(TenantReportRow.status).in_(_FAILED), 1)))
    total = func.count(col(TenantReportRow.tenant))
    return (
        select(RunRow, ok, failed, total)
        .outerjoin(TenantReportRow, col(TenantReportRow.run_id) == col(RunRow.id))
        .group_by(col(RunRow.id))
    )


def _get_run(session: Session, run_id: RunId) -> RunSummary:
    row = session.execute(_summary_query().where(col(RunRow.id) == run_id)).first()
    if row is None:
        raise UnknownRun(run_id)
    return _summary(*row)


def _summary(row: RunRow, ok: int, failed: int, total: int) -> RunSummary:
    assert row.id is not None
    started: datetime = row.started_at
    return RunSummary(
        id=RunId(row.id),
        started_at=started,
        finished_at=row.finished_at,
        status=RunStatus(row.status),
        trigger=RunTrigger(row.trigger),
        selection=row.selection,
        options=row.options,
        simulated=row.simulated,
        host=row.host,
        pid=row.pid,
        reason=row.reason,
        tenants_ok=ok,
        tenants_failed=failed,
        tenants_total=total,
    )


def _report(row: TenantReportRow) -> TenantReport:
    return TenantReport(
        tenant=row.tenant,
        site=row.site,
        status=TenantStatus(row.status),
        reason=row.reason,
        counts={e: dict(a) for e, a in row.counts.items()},
        errors=tuple(
            RefusedRecord(key=e["key"], reason=e["reason"], entity=e.get("entity"))
            for e in row.errors
        ),
        warnings=tuple(ReportWarning(message=w["message"], key=w.get("key")) for w in row.warnings),
        durations=dict(row.durations),
        simulated=row.simulated,
        operations=tuple(row.operations or ()),
    )


def _task_of_run() -> Any:
    return col(RunRow.selection)["task"].as_string()


def _tenant_runs(session: Session, newest: Any) -> list[TenantLastRun]:
    query = (
        select(TenantReportRow, RunRow, _task_of_run())
        .join(
            newest,
            (col(TenantReportRow.tenant) == newest.c.tenant)
            & (col(TenantReportRow.run_id) == newest.c.run_id),
        )
        .join(RunRow, col(RunRow.id) == col(TenantReportRow.run_id))
        .order_by(col(TenantReportRow.tenant), col(TenantReportRow.run_id))
    )
    out: list[TenantLastRun] = []
    for report, run, task in session.execute(query).all():
        assert run.id is not None
        out.append(
            TenantLastRun(
                tenant=report.tenant,
                site=report.site,
                run_id=RunId(run.id),
                started_at=run.started_at,
                finished_at=run.finished_at,
                run_status=RunStatus(run.status),
                status=TenantStatus(report.status),
                reason=report.reason,
                simulated=report.simulated,
                task=None if task is None else str(task),
                ground=report.ground,
            )
        )
    return out
