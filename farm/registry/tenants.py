"""Reading the sites and tenants the registry knows, removed ones included.

Written only by :mod:`farm.registry.farm_load`; read by ``farm status``, the
dashboard and anything that needs a tenant's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from farm.registry.database import Store
from farm.registry.tables import SiteRow, TenantChangeRow, TenantRow


@dataclass(frozen=True, slots=True)
class RegisteredSite:
    """A site as the registry last loaded it; ``removed_at`` is set once it left the farm."""

    name: str
    url: str
    file: str
    tags: tuple[str, ...]
    removal: str
    added_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RegisteredTenant:
    """A tenant as the registry last loaded it; ``removed_at`` is set once it left the farm."""

    id: str
    kind: str
    name: str
    site: str
    source: str
    tags: tuple[str, ...]
    added_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class TenantHistoryEntry:
    """One change of a tenant: added, moved, updated, removed or restored."""

    at: datetime
    change: str
    detail: Mapping[str, Any]


class TenantStore(Store):
    """Read sites, tenants and tenants' history."""

    def registered_sites(self, *, include_removed: bool = False) -> list[RegisteredSite]:
        """Sites by name."""
        with self.reading() as session:
            query = select(SiteRow).order_by(col(SiteRow.name))
            if not include_removed:
                query = query.where(col(SiteRow.removed_at).is_(None))
            return [
                RegisteredSite(
                    name=r.name,
                    url=r.url,
                    file=r.file,
                    tags=tuple(r.tags),
                    removal=r.removal,
                    added_at=r.added_at,
                    removed_at=r.removed_at,
                )
                for r in session.execute(query).scalars()
            ]

    def registered_tenants(
        self, *, site: str | None = None, include_removed: bool = False
    ) -> list[RegisteredTenant]:
        """Tenants by id, of one site if given."""
        with self.reading() as session:
            query = select(TenantRow).order_by(col(TenantRow.id))
            if site is not None:
                query = query.where(col(TenantRow.site) == site)
            if not include_removed:
                query = query.where(col(TenantRow.removed_at).is_(None))
            return [
                RegisteredTenant(
                    id=r.id,
                    kind=r.kind,
                    name=r.name,
                    site=r.site,
                    source=r.source,
                    tags=tuple(r.tags),
                    added_at=r.added_at,
                    removed_at=r.removed_at,
                )
                for r in session.execute(query).scalars()
            ]

    def tenant_history(self, tenant: str) -> list[TenantHistoryEntry]:
        """Every recorded change of a tenant, oldest first."""
        with self.reading() as session:
            query = (
                select(TenantChangeRow)
                .where(col(TenantChangeRow.tenant) == tenant)
                .order_by(col(TenantChangeRow.id))
            )
            return [
                TenantHistoryEntry(at=r.at, change=r.change, detail=r.detail)
                for r in session.execute(query).scalars()
            ]
