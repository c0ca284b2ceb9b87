"""The NetYpareo source: one endpoint, several sites, each site a tenant.

Wiring, for the engine::

    source = NetYpareoSource(
        "occitanie",                        # the [netypareo.NAME] of farm.toml
        settings,                           # its NetYpareoSettings
        [NetYpareoTenant("cfa-occ-montpellier", site_code="34", index=0), ...],
    )
    result = await source.read(ReadRequest(tenants=("cfa-occ-montpellier",)))

A read asks for little at a time, since the real service crashes on big
answers: the sites, the reference tables (cached for ``reference_ttl``),
then per tenant its groups and pdgroups, the learners group by group, its
trainers and its tutors. Any call that still fails after its retries fails
the whole read with a ``SourceError``: no partial snapshot ever leaves, so a
NetYpareo outage suspends no one.

A read for a scheduled task (``ReadRequest.task``, :data:`READS`) asks
only for what that task plans: ``teachers`` reads no learner, ``groups``
only the apprenticeship groups and their learners; ``caches`` reloads the
reference tables and returns empty, incomplete snapshots (nothing to plan).

``ReadRequest.run_date`` sets the day majority is computed for; it
defaults to today in Europe/Paris. NetYpareo has no change
dates, so ``since`` is ignored and every read is complete; ``person`` (a
source key, username or NetYpareo code) keeps one person's records only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import anyio

from farm.model import TenantSnapshot
from farm.sources import ReadRequest, ReadResult, SourceError
from farm.sources.netypareo.client import NetYpareoClient
from farm.sources.netypareo.records import GroupInfo, TenantRecords, text
from farm.sources.netypareo.settings import NetYpareoSettings
from farm.sources.netypareo.tenant import NetYpareoTenant

PARIS = ZoneInfo("Europe/Paris")


def paris_today() -> date:
    return datetime.now(PARIS).date()


@dataclass(frozen=True, slots=True)
class TaskReads:
    """What one read asks the endpoint for, per tenant (after the sites and reference tables)."""

    groups: bool = True
    pdgroups: bool = True
    learners: bool = True
    trainers: bool = True
    tutors: bool = True


EVERYTHING: Final = TaskReads()
#: What each NetYpareo task reads (``farm.engine.schedule`` says what it plans); any other
#: task, or none, reads everything. ``caches`` reads no tenant at all.
READS: Final[Mapping[str, TaskReads]] = {
    "sites": TaskReads(learners=False, trainers=False, tutors=False),
    "groups": TaskReads(pdgroups=False, trainers=False, tutors=False),
    "pdgroups": TaskReads(groups=False, trainers=False, tutors=False),
    "students": TaskReads(trainers=False, tutors=False),
    # Trainers are enrolled where their groups map to a course: the groups, not their learners.
    "teachers": TaskReads(learners=False, tutors=False),
    # A tutor's role points at apprentices read in a group.
    "tutors": TaskReads(trainers=False),
}
CACHES: Final = "caches"


class NetYpareoSource:
    """Reads the sites of one NetYpareo endpoint; implements ``farm.sources.Source``."""

    def __init__(
        self,
        name: str,
        settings: NetYpareoSettings,
        tenants: Iterable[NetYpareoTenant],
        *,
        today: Callable[[], date] = paris_today,
    ) -> None:
        self._name = name
        self.settings = settings
        self.tenants = {t.id: t for t in tenants}
        self._today = today
        self.client = NetYpareoClient(name, settings)
        self._reference: tuple[float, dict[str, str], dict[str, str]] | None = None

    @property
    def name(self) -> str:
        return self._name

    async def sites(self, *, tenant: str = "-") -> dict[str, str]:
        """Site code -> site name, as the endpoint lists them."""
        f = self.settings.fields
        rows = await self.client.call("sites", tenant=tenant)
        return {text(r, f.site_code): text(r, f.site_name) for r in rows if text(r, f.site_code)}

    async def refresh_reference(
        self, *, tenant: str = "-"
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Reload the statuses and programs tables now (the connector's cache task)."""
        f = self.settings.fields
        statuses = {
            text(r, f.status_code): text(r, f.status_label)
            for r in await self.client.call("statuses", tenant=tenant)
        }
        programs = {
            text(r, f.program_code): text(r, f.program_name)
            for r in await self.client.call("programs", tenant=tenant)
        }
        self._reference = (time.monotonic(), statuses, programs)
        return statuses, programs

    async def _reference_tables(self, tenant: str) -> tuple[dict[str, str], dict[str, str]]:
        cached = self._reference
        if cached is not None and time.monotonic() - cached[0] < self.settings.reference_ttl:
            return cached[1], cached[2]
        return await self.refresh_reference(tenant=tenant)

    async def read(self, request: ReadRequest) -> ReadResult:
        unknown = [t for t in request.tenants if t not in self.tenants]
        if unknown:
            raise SourceError(
                f"NetYpareo endpoint {self.name} does not serve tenant(s) {', '.join(unknown)}"
            )
        if not request.tenants:
            return ReadResult(snapshots={})
        run_date = request.run_date or self._today()
        first = request.tenants[0]
        if request.task == CACHES:
            # The connector's cache task: reload the tables now, whatever their age; no one read.
            await self.refresh_reference(tenant=first)
            return ReadResult(
                snapshots={t: TenantSnapshot(tenant=t, complete=False) for t in request.tenants}
            )
        reads = READS.get(request.task or "", EVERYTHING)
        statuses, programs = await self._reference_tables(first)
        sites = await self.sites(tenant=first)
        snapshots: dict[str, TenantSnapshot] = {}
        for tenant_id in request.tenants:
            tenant = self.tenants[tenant_id]
            if tenant.site_code not in sites:
                raise SourceError(
                    f"NetYpareo endpoint {self.name}, tenant {tenant.id}: site code "
                    f"{tenant.site_code!r} is not among the endpoint's sites "
                    f"({', '.join(sorted(sites)) or 'none'})"
                )
            records = TenantRecords(
                endpoint=self.name,
                tenant=tenant,
                settings=self.settings,
                run_date=run_date,
                statuses=statuses,
                programs=programs,
                site_name=sites[tenant.site_code],
                cohort_prefix=request.cohort_prefix,
            )
            await self._read_tenant(tenant, records, reads)
            snapshots[tenant.id] = records.snapshot(person=request.person)
        return ReadResult(snapshots=snapshots)

    async def _read_tenant(
        self, tenant: NetYpareoTenant, records: TenantRecords, reads: TaskReads = EVERYTHING
    ) -> None:
        call = self.client.call
        site = tenant.site_code
        groups: list[GroupInfo] = []
        for key, continuing, wanted in (
            ("groups", False, reads.groups),
            ("pdgroups", True, reads.pdgroups),
        ):
            if not wanted:
                continue
            for row in await call(key, tenant=tenant.id, site=site):
                info = records.add_group(row, continuing)
                if info is not None:
                    groups.append(info)

        learners: dict[str, list[dict[str, Any]]] = {}

        async def fetch(group: GroupInfo) -> None:
            learners[group.code] = await call(
                "learners", tenant=tenant.id, site=site, group=group.code
            )

        try:
            # The client's limiter bounds how many of these run at once.
            async with anyio.create_task_group() as tasks:
                for group in groups if reads.learners else ():
                    tasks.start_soon(fetch, group)
        except BaseExceptionGroup as failure:
            raise _first_source_error(failure) from None
        for group in groups if reads.learners else ():
            for row in learners[group.code]:
                records.add_learner(row, group)
        if reads.trainers:
            for row in await call("trainers", tenant=tenant.id, site=site):
                records.add_trainer(row)
        if reads.tutors:
            for row in await call("tutors", tenant=tenant.id, site=site):
                records.add_tutor(row)

    async def aclose(self) -> None:
        await self.client.aclose()


def _first_source_error(failure: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first ``SourceError`` of a task group's failure, or the failure itself."""
    for exc in failure.exceptions:
        if isinstance(exc, SourceError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            inner = _first_source_error(exc)
            if isinstance(inner, SourceError):
                return inner
    return failure
