"""Pronote identifiers: each tenant's links and the history of its imports.

The operations speak :mod:`farm.pronote`'s types (links, plans, imports);
rows stay inside the registry. Links live in their own table, keyed by
tenant, source key and population, so a sync never touches them: they
outlive any number of runs, and follow a person as long as the source key
stays the same.

:meth:`PronoteStore.apply_pronote_plan` writes a whole import in one
transaction, and only if the tenants' links are still those the plan was
computed from (else :class:`~farm.pronote.links.LinksChanged`, nothing
written): what the operator previewed is what is applied.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from farm.pronote.links import Change, LinkPlan, LinksChanged, links_digest
from farm.pronote.records import (
    FileKind,
    ImportMode,
    Method,
    Population,
    PronoteImport,
    PronoteLink,
    PronoteTally,
)
from farm.registry.database import Store
from farm.registry.tables import PronoteImportRow, PronoteLinkRow


class PronoteStore(Store):
    """Links and imports: the operations ``farm pronote`` uses."""

    def pronote_links(self, tenants: Collection[str] | None = None) -> list[PronoteLink]:
        """The links of ``tenants`` (every tenant's when None), by tenant and source key."""
        with self.reading() as session:
            return [_link(row) for row in _links(session, tenants)]

    def apply_pronote_plan(
        self, plan: LinkPlan, *, file_kind: FileKind, report: Mapping[str, Any]
    ) -> list[PronoteImport]:
        """Write ``plan``'s changes and one import per tenant; return the imports.

        Raises :class:`LinksChanged` when the tenants' links are no longer
        those the plan was computed from, and :class:`ValueError` for a plan
        that was stopped.
        """
        if plan.stop is not None:
            raise ValueError(f"a stopped plan is not applied: {plan.stop}")
        with self.writing() as session:
            current = [_link(row) for row in _links(session, plan.tenants)]
            if links_digest(current) != plan.based_on:
                raise LinksChanged(plan.tenants)
            now = self.now(session)
            # Removed and updated rows go first: an identifier may pass from one
            # person to another within the plan, and an identifier names one person.
            gone = [c.link for c in plan.changes if c.change in (Change.REMOVE, Change.UPDATE)]
            for link in gone:
                held = session.get(
                    PronoteLinkRow, (link.tenant, link.source_key, link.population.value)
                )
                if held is not None:
                    session.delete(held)
            session.flush()
            for change in plan.changes:
                if change.change in (Change.ADD, Change.UPDATE):
                    session.add(_row(change.link, now))
            imports = []
            for tenant in plan.tenants:
                counts = plan.counts(tenant)
                row = PronoteImportRow(
                    tenant=tenant,
                    imported_at=now,
                    mode=plan.mode.value,
                    file=plan.file,
                    file_kind=file_kind.value,
                    count=plan.final(tenant),
                    added=counts["add"],
                    updated=counts["update"],
                    removed=counts["remove"],
                    report=dict(report),
                )
                session.add(row)
                imports.append(_import(row, with_report=False))
            return imports

    def set_pronote_link(self, link: PronoteLink) -> list[PronoteLink]:
        """Link one person by hand; return the links it replaced.

        The person's former identifier in that tenant and population, and
        whoever held this identifier there, lose theirs.
        """
        with self.writing() as session:
            replaced = (
                session.execute(
                    select(PronoteLinkRow).where(
                        col(PronoteLinkRow.tenant) == link.tenant,
                        col(PronoteLinkRow.population) == link.population.value,
                        (col(PronoteLinkRow.source_key) == link.source_key)
                        | (col(PronoteLinkRow.pronote_id) == link.pronote_id),
                    )
                )
                .scalars()
                .all()
            )
            out = [_link(row) for row in replaced]
            for row in replaced:
                session.delete(row)
            session.flush()
            session.add(_row(link, self.now(session)))
            return out

    def remove_pronote_link(self, tenant: str, source_key: str, population: Population) -> bool:
        """Unlink one person; False when there was no such link."""
        with self.writing() as session:
            done = session.execute(
                delete(PronoteLinkRow).where(
                    col(PronoteLinkRow.tenant) == tenant,
                    col(PronoteLinkRow.source_key) == source_key,
                    col(PronoteLinkRow.population) == population.value,
                )
            )
            return bool(getattr(done, "rowcount", 0))

    def pronote_tallies(self, tenants: Collection[str]) -> dict[str, PronoteTally]:
        """Each tenant's link count and last import, by tenant (every tenant given is there)."""
        wanted = list(tenants)
        with self.reading() as session:
            counts = dict(
                session.execute(
                    select(col(PronoteLinkRow.tenant), func.count())
                    .where(col(PronoteLinkRow.tenant).in_(wanted))
                    .group_by(col(PronoteLinkRow.tenant))
                ).all()
            )
            newest = (
                select(func.max(col(PronoteImportRow.id)))
                .where(col(PronoteImportRow.tenant).in_(wanted))
                .group_by(col(PronoteImportRow.tenant))
            )
            last = {
                row.tenant: _import(row, with_report=False)
                for row in session.execute(
                    select(PronoteImportRow).where(col(PronoteImportRow.id).in_(newest))
                ).scalars()
            }
            return {
                tenant: PronoteTally(tenant, int(counts.get(tenant, 0)), last.get(tenant))
                for tenant in wanted
            }

    def last_pronote_import(self, tenant: str) -> PronoteImport | None:
        """``tenant``'s last import, its match report included; None when it never had one."""
        with self.reading() as session:
            row = session.execute(
                select(PronoteImportRow)
                .where(col(PronoteImportRow.tenant) == tenant)
                .order_by(col(PronoteImportRow.id).desc())
                .limit(1)
            ).scalar_one_or_none()
            return None if row is None else _import(row, with_report=True)


def _links(session: Session, tenants: Collection[str] | None) -> list[PronoteLinkRow]:
    query = select(PronoteLinkRow).order_by(
        col(PronoteLinkRow.tenant), col(PronoteLinkRow.source_key), col(PronoteLinkRow.population)
    )
    if tenants is not None:
        query = query.where(col(PronoteLinkRow.tenant).in_(list(tenants)))
    return list(session.execute(query).scalars().all())


def _link(row: PronoteLinkRow) -> PronoteLink:
    return PronoteLink(
        tenant=row.tenant,
        source_key=row.source_key,
        population=Population(row.population),
        pronote_id=row.pronote_id,
        method=Method(row.method),
        file=row.file,
        mode=row.mode,
        imported_at=row.imported_at,
    )


def _row(link: PronoteLink, now: datetime) -> PronoteLinkRow:
    return PronoteLinkRow(
        tenant=link.tenant,
        source_key=link.source_key,
        population=link.population.value,
        pronote_id=link.pronote_id,
        method=link.method.value,
        file=link.file,
        mode=link.mode,
        imported_at=now,
    )


def _import(row: PronoteImportRow, *, with_report: bool) -> PronoteImport:
    return PronoteImport(
        tenant=row.tenant,
        at=row.imported_at,
        mode=ImportMode(row.mode),
        file=row.file,
        file_kind=FileKind(row.file_kind),
        count=row.count,
        added=row.added,
        updated=row.updated,
        removed=row.removed,
        report=dict(row.report) if with_report else None,
    )
