"""Loading the farm's TOML description into the registry.

Loading is idempotent: loading the same farm twice changes nothing the
second time and reports no change. What it reports, and records in the
``tenant_change`` history:

- a site or tenant *added*, or *restored* (it had been removed and is back);
- a tenant *moved* to another site;
- a site or tenant *updated* (the changed field names are given);
- a site or tenant *removed*: it stays in the registry marked removed, so
  its runs, reports and index keep their history.

A site's file is stored relative to the farm folder, so moving the folder
does not look like a change. The site's token is not stored at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlmodel import Session

from farm.registry.database import Store
from farm.registry.errors import InconsistentFarm
from farm.registry.tables import SiteRow, TenantChangeRow, TenantRow

if TYPE_CHECKING:
    from farm.config import Farm

ChangeKind = Literal["added", "restored", "moved", "updated", "removed"]

_SITE_FIELDS = ("url", "file", "tags", "removal")
_TENANT_FIELDS = ("kind", "name", "source", "tags")


@dataclass(frozen=True, slots=True)
class SiteChange:
    """One site added, restored, updated or removed."""

    name: str
    change: ChangeKind
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TenantChange:
    """One tenant added, restored, moved, updated or removed; ``site`` is where it is now."""

    id: str
    change: ChangeKind
    site: str
    from_site: str | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FarmChanges:
    """What loading the farm changed (or would change, on a dry run)."""

    sites: tuple[SiteChange, ...] = ()
    tenants: tuple[TenantChange, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.sites or self.tenants)

    def lines(self) -> list[str]:
        """One sentence per change, sites first."""
        out = [_site_line(c) for c in self.sites]
        out.extend(_tenant_line(c) for c in self.tenants)
        return out


def _site_line(c: SiteChange) -> str:
    detail = f" ({', '.join(c.fields)})" if c.fields else ""
    return f"site {c.name}: {c.change}{detail}"


def _tenant_line(c: TenantChange) -> str:
    if c.change == "moved":
        text = f"tenant {c.id}: moved from site {c.from_site} to site {c.site}"
    elif c.change == "removed":
        text = f"tenant {c.id}: removed from site {c.site} (its history is kept)"
    else:
        text = f"tenant {c.id}: {c.change} on site {c.site}"
        if c.from_site:
            text += f" (was on site {c.from_site})"
    return text + (f" ({', '.join(c.fields)})" if c.fields else "")


class FarmLoader(Store):
    """The ``load_farm`` operation."""

    def load_farm(self, farm: Farm, *, dry_run: bool = False) -> FarmChanges:
        """Make the registry's sites and tenants those of ``farm``; say what changed.

        Everything is one transaction. With ``dry_run`` nothing is written.
        """
        sites, tenants = _wanted(farm)
        if dry_run:
            with self.reading() as session:
                return _diff(session, sites, tenants)[0]
        with self.writing() as session:
            changes, site_rows, tenant_rows = _diff(session, sites, tenants)
            if changes.changed:
                _apply(session, changes, sites, tenants, site_rows, tenant_rows, self.now(session))
            return changes


def _wanted(farm: Farm) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The farm as plain column values, after checking it agrees with itself."""
    root = Path(farm.root).resolve()
    sites: dict[str, dict[str, Any]] = {}
    for name, site in farm.sites.items():
        file = Path(site.file).resolve()
        sites[name] = {
            "url": site.url,
            "file": str(file.relative_to(root)) if file.is_relative_to(root) else str(file),
            "tags": sorted(site.tags),
            "removal": str(site.removal),
        }
    tenants: dict[str, dict[str, Any]] = {}
    for tenant_id, tenant in farm.tenants.items():
        if tenant.site not in sites:
            raise InconsistentFarm(f"tenant {tenant_id} names site {tenant.site}, not in the farm")
        tenants[tenant_id] = {
            "site": tenant.site,
            "kind": str(tenant.kind),
            "name": tenant.name,
            "source": tenant.source,
            "tags": sorted(tenant.tags),
        }
    return sites, tenants


def _diff(
    session: Session,
    sites: Mapping[str, Mapping[str, Any]],
    tenants: Mapping[str, Mapping[str, Any]],
) -> tuple[FarmChanges, dict[str, SiteRow], dict[str, TenantRow]]:
    site_rows = {row.name: row for row in session.execute(select(SiteRow)).scalars()}
    tenant_rows = {row.id: row for row in session.execute(select(TenantRow)).scalars()}
    site_changes: list[SiteChange] = []
    for name, wanted in sorted(sites.items()):
        row = site_rows.get(name)
        if row is None:
            site_changes.append(SiteChange(name, "added"))
            continue
        fields = _changed_fields(row, wanted, _SITE_FIELDS)
        if row.removed_at is not None:
            site_changes.append(SiteChange(name, "restored", fields))
        elif fields:
            site_changes.append(SiteChange(name, "updated", fields))
    site_changes.extend(
        SiteChange(name, "removed")
        for name, row in sorted(site_rows.items())
        if name not in sites and row.removed_at is None
    )
    tenant_changes: list[TenantChange] = []
    for tenant_id, wanted in sorted(tenants.items()):
        trow = tenant_rows.get(tenant_id)
        if trow is None:
            tenant_changes.append(TenantChange(tenant_id, "added", wanted["site"]))
            continue
        fields = _changed_fields(trow, wanted, _TENANT_FIELDS)
        from_site = trow.site if trow.site != wanted["site"] else None
        if trow.removed_at is not None:
            tenant_changes.append(
                TenantChange(tenant_id, "restored", wanted["site"], from_site, fields)
            )
        elif from_site is not None:
            tenant_changes.append(
                TenantChange(tenant_id, "moved", wanted["site"], from_site, fields)
            )
        elif fields:
            tenant_changes.append(TenantChange(tenant_id, "updated", wanted["site"], None, fields))
    tenant_changes.extend(
        TenantChange(tenant_id, "removed", trow.site)
        for tenant_id, trow in sorted(tenant_rows.items())
        if tenant_id not in tenants and trow.removed_at is None
    )
    changes = FarmChanges(sites=tuple(site_changes), tenants=tuple(tenant_changes))
    return changes, site_rows, tenant_rows


def _changed_fields(row: Any, wanted: Mapping[str, Any], names: Iterable[str]) -> tuple[str, ...]:
    return tuple(name for name in names if getattr(row, name) != wanted[name])


def _apply(
    session: Session,
    changes: FarmChanges,
    sites: Mapping[str, Mapping[str, Any]],
    tenants: Mapping[str, Mapping[str, Any]],
    site_rows: Mapping[str, SiteRow],
    tenant_rows: Mapping[str, TenantRow],
    now: datetime,
) -> None:
    for sc in changes.sites:
        srow = site_rows.get(sc.name)
        if sc.change == "removed":
            assert srow is not None
            srow.removed_at = now
        elif srow is None:
            srow = SiteRow(name=sc.name, added_at=now, **sites[sc.name])
        else:
            for name, value in sites[sc.name].items():
                setattr(srow, name, value)
            srow.removed_at = None
        srow.updated_at = now
        session.add(srow)
    # Tenants point at sites: the sites must exist first.
    session.flush()
    for tc in changes.tenants:
        trow = tenant_rows.get(tc.id)
        if tc.change == "removed":
            assert trow is not None
            trow.removed_at = now
        elif trow is None:
            trow = TenantRow(id=tc.id, added_at=now, **tenants[tc.id])
        else:
            for name, value in tenants[tc.id].items():
                setattr(trow, name, value)
            trow.removed_at = None
        trow.updated_at = now
        session.add(trow)
    session.flush()
    for tc in changes.tenants:
        detail: dict[str, Any] = {"site": tc.site}
        if tc.from_site is not None:
            detail["from_site"] = tc.from_site
        if tc.fields:
            detail["fields"] = list(tc.fields)
        session.add(TenantChangeRow(tenant=tc.id, at=now, change=tc.change, detail=detail))
