"""The job: sync the selected tenants of one Moodle site, end to end.

:func:`run_job` reads the tenants' sources (one read per source, tenants
grouped), merges the snapshots, plans against the site's index, checks the
site, applies, and records one report per tenant. It does not take leases
and does not start or finish the run: the coordinator does both around it.
A simulation stores its plan with the run; a job with ``apply_plan_of``
(``farm apply``) reads and plans nothing and applies that stored plan
instead, once nothing it was computed from drifted (:mod:`farm.engine.stored_apply`).

What fails a tenant, and what does not:

- a source that cannot be read fails the tenants it serves; the others of
  the site still sync, and the failed ones' records are left untouched (the
  planner removes only for tenants read completely);
- a safety stop, a site that cannot be used (token, missing functions,
  transport failure past the retries) or a registry failure fails every
  tenant of the job; nothing is written to Moodle before the site check;
- a record Moodle refuses is reported with its key and Moodle's reason and
  does not fail the tenant: its report is ``partial`` (the run summary then
  counts it with the failures, so an operator sees it) and the outcome's
  phase is SUCCEEDED. There is no threshold: one bad record among
  thousands must not hold back the others;
- ``ctx.stop`` set: the slices in flight finish and are recorded, then the
  tenants are INTERRUPTED;
- a registry failure while recording what Moodle confirmed ends the apply
  (the slices in flight finish) and fails every tenant of the job, naming
  the registry, its reason and the batches Moodle confirmed that went
  unrecorded; the next run adopts them. A report the registry refuses is
  not lost: it travels in :attr:`JobOutcome.unrecorded_reports` for the
  coordinator to record once the registry answers again.

Only programming errors propagate. Every registry call runs in a worker
thread; merging and planning too, since they are CPU-bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
import structlog

from farm.applied import Applied, Confirmation, Refused, Skipped
from farm.config import Farm, SiteConfig
from farm.engine.allocator import limit_arenas
from farm.engine.collector import COLLECTOR
from farm.engine.computing import compute
from farm.engine.events import Event, EventKind, EventSink, Phase
from farm.engine.jobspec import JobSpec
from farm.engine.outcome import JobOutcome, TenantOutcome, final_report, unrecorded_words
from farm.engine.pronote_fields import pronote_field, with_pronote_fields
from farm.engine.reading import Reads, include_rosters, read_sources, save_bookmarks
from farm.engine.report import TenantTally, tally
from farm.engine.site_check import blocked_notes, simulation_notes, site_problem, stop_reasons
from farm.engine.stored_apply import keep_simulation, load_stored_plan
from farm.engine.wiring import ClientProvider, SourceProvider
from farm.index import SiteIndex
from farm.model import TenantSnapshot
from farm.moodle import Applier, ApplyResult, MoodleError
from farm.operation import Operation
from farm.options import PlanOptions
from farm.passwords import CredentialsFile
from farm.plan import Plan, plan_site
from farm.registry import Registry, RegistryError
from farm.registry.rows import RunId, TenantReport
from farm.safety import SafetyStop
from farm.secrets import SecretError
from farm.site_rules import PasswordDelivery
from farm.snapshot import merge_site

__all__ = ["JobContext", "run_job"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

log = structlog.get_logger("farm.job")


@dataclass(frozen=True)
class JobContext:
    """Everything a job needs besides its spec; shared by the jobs of a run."""

    farm: Farm
    registry: Registry
    events: EventSink
    sources: SourceProvider
    clients: ClientProvider
    stop: anyio.Event


async def run_job(spec: JobSpec, ctx: JobContext) -> JobOutcome:
    """Sync ``spec.tenants`` of ``spec.site``; see the module docstring.

    The garbage collector is tuned for the job's long-lived data while it
    runs (:mod:`farm.engine.collector`), and the C allocator's arenas are
    limited (:mod:`farm.engine.allocator`).
    """
    limit_arenas()
    with COLLECTOR.held():
        return await _Job(spec, ctx).run()


class _Job:
    def __init__(self, spec: JobSpec, ctx: JobContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.site: SiteConfig = ctx.farm.sites[spec.site]
        self.run_id = RunId(spec.run_id)
        self.tenants = tuple(dict.fromkeys(spec.tenants))
        # Tenant -> final (phase, reason) once decided.
        self.final: dict[str, tuple[Phase, str]] = {}
        self.durations: dict[str, dict[str, float]] = {t: {} for t in self.tenants}
        self.tallies: dict[str, TenantTally] = {}
        self.partial = False
        self.simulated = False
        # The registry's failure during apply or finish, and what it left unrecorded.
        self.registry_error: str | None = None
        self.unrecorded: list[Confirmation] = []
        self.kept = False  # this run's plan is stored already

    # -- events and registry ---------------------------------------------------------

    def publish(
        self,
        kind: EventKind,
        tenant: str | None = None,
        *,
        phase: Phase | None = None,
        done: int | None = None,
        total: int | None = None,
        counts: Mapping[str, int] | None = None,
        message: str = "",
    ) -> None:
        event = Event(
            self.run_id,
            kind,
            site=self.site.name,
            tenant=tenant,
            phase=phase,
            done=done,
            total=total,
            counts=counts or {},
            message=message,
        )
        self.ctx.events.publish(event)

    def enter(self, phase: Phase, tenants: Sequence[str]) -> None:
        for tenant in tenants:
            self.publish(EventKind.PHASE, tenant, phase=phase)

    def fail(self, tenants: Sequence[str], reason: str, phase: Phase = Phase.FAILED) -> None:
        for tenant in tenants:
            self.final.setdefault(tenant, (phase, reason))

    def alive(self) -> list[str]:
        return [t for t in self.tenants if t not in self.final]

    async def registry(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """``fn(*args, **kwargs)`` in a worker thread: registry calls block."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    async def site_index(self) -> SiteIndex:
        """The site's index, built under the limit of threads that compute.

        Reading it from PostgreSQL only waits on the server, and does so
        outside that limit: a server that stopped answering holds each job for
        its own timeout, not for the sum of the jobs' ones.
        """
        registry, site = self.ctx.registry, self.site.name
        if registry.reads_row_by_row:
            return await compute(partial(registry.site_index, site))
        fetched = await self.registry(registry.fetch_site_index, site)
        return await compute(fetched.index)

    # -- the job -----------------------------------------------------------------------

    async def run(self) -> JobOutcome:
        started = time.monotonic()
        try:
            options = self.ctx.farm.plan_options(self.site, self.spec.options)
        except ValueError as error:
            self.fail(self.tenants, f"bad option: {error}")
            return await self.finish(started)
        self.simulated = options.simulate
        unknown = [t for t in self.tenants if self.ctx.farm.tenants.get(t) is None]
        self.fail(unknown, f"not a tenant of the farm's configuration (site {self.site.name})")
        if self.spec.options.apply_plan_of is not None:
            # farm apply: the plan a simulation stored, checked for drift (engine/stored_apply.py).
            reads = Reads()
            plan, index = await self.stored()
        else:
            reads = await self.read()
            plan, index = await self.plan(reads.snapshots, options)
        if plan is not None and index is not None:
            if self.ctx.stop.is_set():
                self.fail(self.alive(), "stopped before applying", Phase.INTERRUPTED)
            elif plan.people_matched == 0:
                self.fail(
                    self.alive(),
                    f"no person matches {options.person!r}: searched the source keys, uids, "
                    f"usernames and idnumbers read from {', '.join(self.alive())} and those "
                    f"the index of {self.site.name} holds",
                )
            elif plan.blocked is not None:
                await self.keep(plan)
                self.safety_stop(plan.blocked)
            elif plan.simulate:
                self.tallies = self.spread(plan, planned=plan.operations)
                await self.keep(plan)
            else:
                await self.apply(plan, index)
        # A simulation wrote nothing and a one-person read saw little: neither moves a bookmark.
        if not self.simulated and options.person is None:
            await save_bookmarks(self.ctx.registry, reads.bookmarks, self.alive())
        return await self.finish(started)

    async def read(self) -> Reads:
        groups: dict[str, list[str]] = {}
        for tenant in self.alive():
            groups.setdefault(self.ctx.farm.tenants[tenant].source, []).append(tenant)
        self.enter(Phase.READING, self.alive())
        prefix = self.ctx.farm.settings.cohort_prefix
        reads = await read_sources(
            groups, self.ctx.sources, self.ctx.registry, self.spec.options, prefix
        )
        await include_rosters(reads, self.ctx.registry, self.ctx.farm, self.site)
        for tenant, reason in reads.failures.items():
            self.fail([tenant], reason)
        for tenant, seconds in reads.seconds.items():
            self.durations[tenant]["read"] = seconds
        return reads

    async def stored(self) -> tuple[Plan | None, SiteIndex | None]:
        """The stored plan this run applies (or re-plans), checked; see engine/stored_apply.py."""
        if not (tenants := self.alive()):
            return None, None
        self.enter(Phase.PLANNING, tenants)
        options = self.spec.options
        found = await load_stored_plan(
            self.ctx, self.site, self.run_id, tenants, options, self.replan
        )
        COLLECTOR.settle()
        self.tallies, self.kept = found.tallies, found.kept
        if found.failure is not None:
            self.fail(tenants, found.failure)
        return found.plan, found.index

    async def replan(self, options: PlanOptions) -> Plan | None:
        """Read and plan again as a sync does: the re-plan of drifted records."""
        reads = await self.read()
        return (await self.plan(reads.snapshots, options))[0]

    async def keep(self, plan: Plan) -> None:
        """Store a simulation's plan with the run, unless the stored-plan phase did (a re-plan)."""
        if not self.kept:
            problem = await keep_simulation(self.ctx.registry, self.run_id, self.alive(), plan)
            if problem is not None:
                self.fail(self.alive(), problem)

    def safety_stop(self, stop: SafetyStop) -> None:
        """Fail every tenant; each message says which tenant the stop is about."""
        for tenant, reason in stop_reasons(stop, self.alive(), self.site.name).items():
            self.fail([tenant], reason)

    async def plan(
        self, snapshots: Mapping[str, TenantSnapshot], options: PlanOptions
    ) -> tuple[Plan | None, SiteIndex | None]:
        tenants = self.alive()
        if not tenants:
            return None, None
        self.enter(Phase.PLANNING, tenants)
        started = time.monotonic()
        chosen = {t: snapshots[t] for t in tenants}
        try:
            index = await self.site_index()
            field = pronote_field(self.ctx.farm.pronote, self.site)
            if field is not None:
                chosen = await self.registry(with_pronote_fields, chosen, self.ctx.registry, field)
        except RegistryError as error:
            self.fail(tenants, f"registry: {error}")
            return None, None

        def build() -> Plan:
            snapshot = merge_site(list(chosen.values()))
            return plan_site(self.site.name, snapshot, index, options, self.site.rules())

        plan = await compute(build)
        # The records read, the index and the plan live until the job ends.
        COLLECTOR.settle()
        seconds = time.monotonic() - started
        for tenant in tenants:
            self.durations[tenant]["plan"] = seconds
        self.tallies = self.spread(plan)
        return plan, index

    def spread(
        self,
        plan: Plan,
        *,
        planned: Sequence[Operation] = (),
        applied: Sequence[Applied] = (),
        refused: Sequence[Refused] = (),
        skipped: Sequence[Skipped] = (),
    ) -> dict[str, TenantTally]:
        """The tenants' tallies of ``plan``: what was planned (a simulation) or done."""
        return tally(
            self.alive(),
            planned=planned,
            applied=applied,
            refused=refused,
            skipped=skipped,
            rejections=plan.refusals,
            source_warnings=plan.warnings,
            notes=[*plan.notes, *blocked_notes(plan), *simulation_notes(plan, self.site)],
            verbose=plan.options.verbose,
        )

    async def apply(self, plan: Plan, index: SiteIndex) -> None:
        tenants = self.alive()
        self.enter(Phase.APPLYING, tenants)
        started = time.monotonic()
        total = len(plan.operations)
        for tenant in tenants:
            self.publish(EventKind.PROGRESS, tenant, done=0, total=total)

        def progress(done: int, total: int) -> None:
            for tenant in tenants:
                self.publish(EventKind.PROGRESS, tenant, done=done, total=total)

        result: ApplyResult | None = None
        applier: Applier | None = None
        try:
            async with self.ctx.clients(self.site) as client:
                missing = await site_problem(client, self.site, plan)
                if missing:
                    self.fail(tenants, missing)
                    return
                applier = Applier(
                    client,
                    index,
                    self.record,
                    stop=self.ctx.stop,
                    progress=progress,
                    rules=self.site.rules(),
                    credentials=self.credentials_file(),
                )
                result = await applier.apply(plan)
        except SecretError as error:
            self.fail(tenants, f"site {self.site.name} token: {error}")
        except MoodleError as error:
            self.fail(tenants, f"Moodle refused the site check: {error}")
        except RegistryError as error:
            if applier is not None:
                # The report counts what was recorded before the registry failed.
                done = applier.result
                self.tallies = self.spread(
                    plan, applied=done.applied, refused=done.refused, skipped=done.skipped
                )
            self.registry_error = str(error)
            left = unrecorded_words(self.site.name, self.unrecorded)
            self.fail(tenants, f"registry: {error}; unrecorded: {left}")
        finally:
            seconds = time.monotonic() - started
            for tenant in tenants:
                self.durations[tenant]["apply"] = seconds
        if result is None:
            return
        self.tallies = self.spread(
            plan, applied=result.applied, refused=result.refused, skipped=result.skipped
        )
        if result.error is not None:
            self.fail(tenants, f"stopped writing to the site: {result.error}")
        elif result.stopped:
            self.fail(
                tenants, "interrupted: the batches Moodle confirmed are recorded", Phase.INTERRUPTED
            )
        elif result.refused:
            self.partial = True

    def credentials_file(self) -> CredentialsFile | None:
        """Where this run writes new manual accounts' passwords, when the site says so."""
        if self.site.new_passwords is not PasswordDelivery.FILE:
            return None
        folder = self.ctx.farm.root / "var" / "credentials"
        return CredentialsFile(folder / f"{self.site.name}-{self.run_id}.csv")

    async def record(self, confirmation: Confirmation) -> None:
        # In a worker thread, rows built there too: the event loop keeps serving calls.
        write = partial(
            self.ctx.registry.record_confirmation, self.site.name, confirmation, run_id=self.run_id
        )
        try:
            await anyio.to_thread.run_sync(write)
        except RegistryError:
            self.unrecorded.append(confirmation)
            raise

    async def finish(self, started: float) -> JobOutcome:
        outcomes: dict[str, TenantOutcome] = {}
        unrecorded_reports: dict[str, TenantReport] = {}
        refused = sum(len(t.errors) for t in self.tallies.values())
        for tenant in self.tenants:
            phase, reason = self.final.get(tenant, (Phase.SUCCEEDED, ""))
            item = self.tallies.get(tenant, TenantTally())
            durations = {**self.durations[tenant], "total": time.monotonic() - started}
            report, reason = final_report(
                tenant, self.site.name, phase, reason, item, durations, simulated=self.simulated
            )
            if unrecorded_reports:
                # The registry refused the last one: the coordinator records the rest later.
                unrecorded_reports[tenant] = report
            else:
                try:
                    await self.registry(self.ctx.registry.record_tenant_report, self.run_id, report)
                except RegistryError as error:
                    log.error("report not recorded", tenant=tenant, error=str(error))
                    self.registry_error = self.registry_error or str(error)
                    unrecorded_reports[tenant] = report
            counts = item.flat()
            outcomes[tenant] = TenantOutcome(tenant, phase, reason, counts)
            if item.warnings:
                first = item.warnings[0]
                self.publish(
                    EventKind.WARNING,
                    tenant,
                    message=f"{len(item.warnings)} warning(s), first: {first.message}",
                )
            self.publish(EventKind.PHASE, tenant, phase=phase, counts=counts, message=reason)
        log.info("job done", site=self.site.name, run=self.run_id, refused=refused)
        return JobOutcome(
            self.site.name,
            outcomes,
            registry_error=self.registry_error,
            unrecorded=(unrecorded_words(self.site.name, self.unrecorded),)
            if self.unrecorded
            else (),
            unrecorded_reports=unrecorded_reports,
        )
