"""The read phase of a job: every source of the site's tenants read once, at once.

Tenants are grouped by source, so a cité scolaire's establishments cost one
directory read. A source that cannot be read fails the tenants it serves
and only those: :class:`Reads` says which, with the reason, and the job
goes on with the others. Bookmarks (where a delta read starts next time)
are returned, not saved: the job saves them once the tenant succeeded.

Then :func:`include_rosters` adds to each tenant's read the people its
establishment imported from staff CSV files, a stored source the registry
keeps (:mod:`farm.staff.roster`): every sync of the tenant includes them as
it includes the directory's people, and the read stays what decides what is
absent (:func:`farm.snapshot.with_stored`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import structlog

from farm.config import Farm, SiteConfig
from farm.engine.wiring import SourceProvider
from farm.model import TenantSnapshot
from farm.options import RunOptions
from farm.registry import Registry, RegistryError
from farm.snapshot import with_stored
from farm.sources import ReadRequest, SourceError
from farm.staff import RosterContext, RosterEntry, roster_snapshot

log = structlog.get_logger("farm.job")


@dataclass
class Reads:
    """What the read phase found, per tenant: a snapshot, or why there is none."""

    snapshots: dict[str, TenantSnapshot] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: Tenant -> (source, high-water mark) to save once the tenant succeeded.
    bookmarks: dict[str, tuple[str, datetime]] = field(default_factory=dict)


async def read_sources(
    groups: Mapping[str, Sequence[str]],
    sources: SourceProvider,
    registry: Registry,
    options: RunOptions,
    cohort_prefix: str,
) -> Reads:
    """Read each source of ``groups`` (source name -> its tenants) once, all at once."""
    reads = Reads()

    async def read_group(name: str, tenants: Sequence[str]) -> None:
        started = time.monotonic()
        try:
            since = await _since(registry, name, tenants) if options.delta else None
            request = ReadRequest(
                tuple(tenants),
                since=since,
                person=options.person,
                cohort_prefix=cohort_prefix,
                cohort_year=options.cohort_year,
                run_date=options.run_date,
                task=options.task,
            )
            result = await sources(name).read(request)
        except SourceError as error:
            reads.failures.update(dict.fromkeys(tenants, f"source {name}: {error}"))
            return
        except RegistryError as error:
            reads.failures.update(dict.fromkeys(tenants, f"registry: {error}"))
            return
        seconds = time.monotonic() - started
        for tenant in tenants:
            reads.seconds[tenant] = seconds
            snapshot = result.snapshots.get(tenant)
            if snapshot is None:
                reads.failures[tenant] = f"source {name} returned nothing for {tenant}"
                continue
            reads.snapshots[tenant] = snapshot
            if result.bookmark is not None:
                reads.bookmarks[tenant] = (name, result.bookmark)

    async with anyio.create_task_group() as group:
        for name, tenants in groups.items():
            group.start_soon(read_group, name, tenants)
    return reads


async def include_rosters(reads: Reads, registry: Registry, farm: Farm, site: SiteConfig) -> None:
    """Add each read tenant's staff roster to its snapshot, in place.

    A tenant whose roster the registry cannot give fails with the
    registry's reason, as a source that cannot be read does: a sync without
    the roster would take the imported people off the site.
    """
    tenants = sorted(reads.snapshots)
    if not tenants:
        return
    try:
        entries = await anyio.to_thread.run_sync(registry.staff_roster, tenants)
    except RegistryError as error:
        for tenant in tenants:
            reads.failures[tenant] = f"registry: the staff roster could not be read: {error}"
            del reads.snapshots[tenant]
        return
    by_tenant: dict[str, list[RosterEntry]] = {}
    for entry in entries:
        by_tenant.setdefault(entry.tenant, []).append(entry)
    context = roster_context(farm, site)
    for tenant, mine in by_tenant.items():
        if tenant in reads.snapshots:
            stored = roster_snapshot(tenant, mine, context)
            reads.snapshots[tenant] = with_stored(reads.snapshots[tenant], stored)


def roster_context(farm: Farm, site: SiteConfig) -> RosterContext:
    """What the site says of its imported people: cohort prefix, e-mail template, names, auth."""
    return RosterContext(
        cohort_prefix=farm.settings.cohort_prefix,
        email_template=site.email_template,
        tenant_names={t.id: t.name for t in site.tenants},
        auth=site.auth or "manual",
    )


async def save_bookmarks(
    registry: Registry, bookmarks: Mapping[str, tuple[str, datetime]], tenants: Sequence[str]
) -> None:
    """Save the bookmarks of ``tenants``; a registry failure is logged, never raised.

    A bookmark not saved only makes the next delta read longer.
    """
    for tenant in tenants:
        if tenant not in bookmarks:
            continue
        source, moment = bookmarks[tenant]
        try:
            await anyio.to_thread.run_sync(
                registry.set_bookmark, source, tenant, moment.isoformat()
            )
        except RegistryError as error:
            log.warning("bookmark not saved", tenant=tenant, source=source, error=str(error))


async def _since(registry: Registry, source: str, tenants: Sequence[str]) -> datetime | None:
    """The delta's starting point: the oldest bookmark, None if any tenant has none."""
    marks: list[datetime] = []
    for tenant in tenants:
        mark = await anyio.to_thread.run_sync(registry.get_bookmark, source, tenant)
        if mark is None:
            return None
        marks.append(datetime.fromisoformat(mark))
    return min(marks)
