"""Stored plans: each simulated run's plan per site, kept to be shown and applied once.

The operations speak :mod:`farm.stored_plan`'s types; the rows stay here.
A plan is stored as :mod:`farm.plan_codec`'s JSON document, one row per run
and site, with its tenants and its size beside it for listings. Applying it
is claimed in one statement (:meth:`PlanStore.claim_stored_plan`): of two
runs that try, one wins and the other learns which run applied the plan.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import col

from farm.plan_codec import plan_from_json, plan_to_json
from farm.registry.database import Store
from farm.registry.errors import UnknownRun
from farm.registry.rows import RunId
from farm.registry.tables import RunRow, StoredPlanRow
from farm.stored_plan import PlanAlreadyApplied, StoredPlan


class UnknownStoredPlan(LookupError):
    """A run kept no plan for a site: it was not a simulation, or that site had none."""

    def __init__(self, run_id: int, site: str | None = None) -> None:
        where = f" for site {site}" if site else ""
        super().__init__(
            f"run {run_id} stored no plan{where}: only `farm sync --simulate` stores one"
        )
        self.run_id = run_id
        self.site = site


class PlanStore(Store):
    """Stored plans: what ``farm sync --simulate`` keeps and ``farm apply`` applies."""

    def store_plan(self, plan: StoredPlan) -> StoredPlan:
        """Keep ``plan`` for its run and site (replacing one kept before); return it as stored."""
        document = plan_to_json(plan)
        size = len(plan.operations) + len(plan.withheld)
        with self.writing() as session:
            if session.get(RunRow, plan.run_id) is None:
                raise UnknownRun(RunId(plan.run_id))
            now = self.now(session)
            row = session.get(StoredPlanRow, (plan.run_id, plan.site))
            if row is None:
                row = StoredPlanRow(
                    run_id=plan.run_id, site=plan.site, operations=size, created_at=now
                )
            row.tenants = list(plan.tenants)
            row.operations = size
            row.plan = document
            row.created_at = now
            row.applied_by = None
            row.applied_at = None
            session.add(row)
        return replace(plan, created_at=now, applied_by=None, applied_at=None)

    def stored_plans(self, run_id: int, site: str | None = None) -> list[StoredPlan]:
        """The plans run ``run_id`` kept, by site; empty when it kept none.

        Raises :class:`farm.plan_codec.StoredPlanError` for a document this
        code cannot read, naming where.
        """
        with self.reading() as session:
            query = select(StoredPlanRow).where(col(StoredPlanRow.run_id) == run_id)
            if site is not None:
                query = query.where(col(StoredPlanRow.site) == site)
            rows = session.execute(query.order_by(col(StoredPlanRow.site))).scalars().all()
            return [_plan(row) for row in rows]

    def stored_plan(self, run_id: int, site: str) -> StoredPlan:
        """The plan run ``run_id`` kept for ``site``; :class:`UnknownStoredPlan` if none."""
        found = self.stored_plans(run_id, site)
        if not found:
            raise UnknownStoredPlan(run_id, site)
        return found[0]

    def claim_stored_plan(self, run_id: int, site: str, *, by_run: int) -> None:
        """Mark the plan applied by ``by_run``, unless a run already did.

        Raises :class:`PlanAlreadyApplied` naming the run that applied it,
        or :class:`UnknownStoredPlan`. One statement: two runs claiming at
        once cannot both win.
        """
        with self.writing() as session:
            now = self.now(session)
            claimed = session.execute(
                update(StoredPlanRow)
                .where(
                    col(StoredPlanRow.run_id) == run_id,
                    col(StoredPlanRow.site) == site,
                    col(StoredPlanRow.applied_by).is_(None),
                )
                .values(applied_by=by_run, applied_at=now)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return
            row = session.get(StoredPlanRow, (run_id, site))
            holder = None if row is None else row.applied_by
        if holder is None:
            raise UnknownStoredPlan(run_id, site)
        raise PlanAlreadyApplied(run_id, site, holder)

    def registry_time(self) -> datetime:
        """Now, by the registry's clock: what a stored plan's age is measured against."""
        with self.reading() as session:
            return self.now(session)


def _plan(row: StoredPlanRow) -> StoredPlan:
    plan = plan_from_json(row.plan)
    return replace(
        plan,
        run_id=row.run_id,
        site=row.site,
        created_at=row.created_at,
        applied_by=row.applied_by,
        applied_at=row.applied_at,
    )
