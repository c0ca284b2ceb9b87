"""What ``farm undo RUN`` asks of the registry and the coordinator: a run's inverse, then its apply.

:func:`simulate_undo` builds, per site the run wrote to, the inverse of its
journal (:func:`farm.undo.invert`, on the site's index as it is now) and
records it as a simulated run of its own, marked ``undo_of``: one stored
plan per site (the operations with their old -> new values, the records
left alone in its notes), one report per tenant, its status. Nothing is
written to Moodle. It refuses, with :class:`UndoRefused` and before any run
is recorded, an unknown run, a simulation, a run still running, a run that
wrote nothing (or whose journal was pruned), a site or a tenant the farm no
longer has there, and an ``--include`` key the run did not change.

A record changed again after the run is found in the journal: any line of
another run on the same site since the run's first line (one job writes to
a site at a time, so those lines come after the run's). A forced run's
re-added links are told from new ones by the journal before the run.

:func:`undo_run` is the call a view makes: the simulation, then (``apply``)
its stored plans applied through :func:`farm.engine.apply_request.apply_run`,
as ``farm apply`` does, with its drift and safety checks: a record someone
changed between the simulation and the apply is refused and named. The
applying run has its report and journal, so it can be undone in turn.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

import anyio.to_thread

from farm.config import Farm
from farm.engine.apply_request import apply_run
from farm.engine.coordinator import Coordinator, RunResult, run_status
from farm.engine.events import Phase
from farm.engine.executor import Executor
from farm.engine.outcome import TenantOutcome, final_report
from farm.engine.report import tally
from farm.engine.site_check import stop_reasons
from farm.index import SiteIndex
from farm.model import MEMBERSHIP_KINDS, Kind, SourceWarning
from farm.operation import ADDING
from farm.options import PlanOptions, RunOptions
from farm.registry import JournalEntry, Registry, RunId, RunStatus, RunTrigger, UnknownRun
from farm.stored_plan import RecordId, StoredPlan
from farm.undo import CreatedPolicy, LeftAlone, Undo, invert

__all__ = ["UndoOutcome", "UndoRefused", "UndoSimulation", "simulate_undo", "undo_run"]

_KINDS = frozenset(kind.value for kind in Kind)


class UndoRefused(ValueError):
    """The run cannot be undone; nothing was recorded. The message says why."""


@dataclass(frozen=True)
class UndoSimulation:
    """The simulated undo run: its result, its stored plans, and what each site leaves alone."""

    result: RunResult
    undoes: int
    plans: tuple[StoredPlan, ...]
    left_alone: Mapping[str, tuple[LeftAlone, ...]] = field(default_factory=dict)

    @property
    def run_id(self) -> RunId:
        return self.result.run_id

    @property
    def operations(self) -> int:
        return sum(len(plan.operations) for plan in self.plans)

    @property
    def blocked(self) -> tuple[StoredPlan, ...]:
        """The plans a safety rule stopped: the undo cannot be applied as it is."""
        return tuple(plan for plan in self.plans if plan.blocked is not None)


@dataclass(frozen=True)
class UndoOutcome:
    """What :func:`undo_run` did: the simulation, and the run that applied it (if any)."""

    simulation: UndoSimulation
    applied: RunResult | None = None


def simulate_undo(
    farm: Farm,
    registry: Registry,
    run_id: int,
    *,
    created: CreatedPolicy = CreatedPolicy.SUSPEND,
    include: Collection[str] = (),
    allow_mass_removal: bool = False,
    verbose: bool = False,
) -> UndoSimulation:
    """Record the simulated undo of run ``run_id``; see the module docstring.

    Blocking (registry calls): run it in a worker thread from async code.
    """
    journal, forced = _journal(registry, run_id)
    tenants = _tenants(farm, registry, run_id, journal)
    undos: dict[str, Undo] = {}
    indexes: dict[str, SiteIndex] = {}
    for site, lines in journal.items():
        indexes[site] = index = registry.site_index(site)
        later, existed = _history(registry, run_id, site, lines, forced=forced)
        undos[site] = invert(
            lines,
            index,
            run_id=run_id,
            later=later,
            existed=existed,
            include=include,
            created=created,
        )
    changed = {line.key for lines in journal.values() for line in lines}
    unknown = sorted(set(include) - changed)
    if unknown:
        raise UndoRefused(
            f"--include {', '.join(unknown)}: run {run_id} did not change "
            f"{'it' if len(unknown) == 1 else 'them'} (see farm journal --run {run_id})"
        )
    options = RunOptions(
        simulate=True, undo_of=run_id, allow_mass_removal=allow_mass_removal, verbose=verbose
    )
    everyone = [t for site in journal for t in tenants[site]]
    undo_id = registry.start_run(
        trigger=RunTrigger.BATCH,
        selection={"undoes": run_id, "tenants": everyone, "tenants_asked": everyone},
        options=options.to_json(),
        simulated=True,
    )
    try:
        plans, outcomes = [], {}
        for site, undo in undos.items():
            chosen = farm.plan_options(farm.sites[site], options)
            plan, found = _keep(
                registry, site, chosen, undo_id, tenants[site], undo, journal[site], indexes[site]
            )
            plans.append(plan)
            outcomes.update(found)
        status = run_status(outcomes, stopped=False)
        reason = None if status is RunStatus.SUCCEEDED else "a safety rule stopped the undo"
        registry.finish_run(undo_id, status, reason=reason)
    except BaseException:
        registry.finish_run(undo_id, RunStatus.FAILED, reason="the undo could not be stored")
        raise
    result = RunResult(run_id=undo_id, status=status, tenants=outcomes, reason=reason)
    left = {site: undo.left_alone for site, undo in undos.items()}
    return UndoSimulation(result, run_id, tuple(plans), left)


def _journal(registry: Registry, run_id: int) -> tuple[dict[str, list[JournalEntry]], bool]:
    """The run's journal lines by site, and whether it was forced; checked as the docstring says."""
    try:
        run = registry.get_run(RunId(run_id))
    except UnknownRun:
        raise UndoRefused(f"there is no run {run_id}") from None
    if run.simulated:
        raise UndoRefused(f"run {run_id} was a simulation: it wrote nothing to undo")
    if run.status is RunStatus.RUNNING:
        raise UndoRefused(f"run {run_id} is still running: undo it once it has ended")
    by_site: dict[str, list[JournalEntry]] = {}
    for line in registry.journal(RunId(run_id)):
        by_site.setdefault(line.site, []).append(line)
    if not by_site:
        raise UndoRefused(
            f"run {run_id} wrote nothing to undo: its journal is empty (or was pruned: "
            "see farm journal prune)"
        )
    return by_site, bool(run.options.get("force"))


def _tenants(
    farm: Farm, registry: Registry, run_id: int, journal: Mapping[str, Sequence[JournalEntry]]
) -> dict[str, tuple[str, ...]]:
    """The tenants of each site the run wrote to: its reports', checked against the farm."""
    reported: dict[str, set[str]] = {}
    for report in registry.get_report(RunId(run_id)).tenants:
        reported.setdefault(report.site, set()).add(report.tenant)
    found: dict[str, tuple[str, ...]] = {}
    for site, lines in journal.items():
        if site not in farm.sites:
            raise UndoRefused(
                f"run {run_id} wrote to site {site}, which is no longer in the farm's configuration"
            )
        chosen = reported.get(site) or {t for line in lines for t in line.tenants}
        for tenant_id in sorted(chosen):
            tenant = farm.tenants.get(tenant_id)
            if tenant is None or tenant.site != site:
                where = "no longer in the farm" if tenant is None else f"now on site {tenant.site}"
                raise UndoRefused(
                    f"tenant {tenant_id} of run {run_id} on site {site} is {where}: "
                    "the undo is applied per site, with the tenants the run had there"
                )
        if not chosen:
            raise UndoRefused(f"run {run_id} names no tenant on site {site}")
        found[site] = tuple(sorted(chosen))
    return found


def _history(
    registry: Registry, run_id: int, site: str, lines: Sequence[JournalEntry], *, forced: bool
) -> tuple[dict[RecordId, list[int]], set[RecordId]]:
    """The records other runs changed since the run's first line, and a forced run's re-adds."""
    first = min(line.at for line in lines)
    later: dict[RecordId, list[int]] = {}
    for line in registry.journal_entries(site=site, since=first, oldest_first=True):
        if line.run_id != run_id and line.entity in _KINDS:
            later.setdefault((Kind(line.entity), line.key), []).append(line.run_id)
    existed: set[RecordId] = set()
    if not forced:
        return later, existed
    links = {(line.entity, line.key) for line in lines if line.entity in MEMBERSHIP_KINDS}
    if not links:
        return later, existed
    before = registry.journal_entries(
        site=site, until=first, entities=sorted({entity for entity, _ in links})
    )
    last: dict[tuple[str, str], str] = {}
    for line in before:  # newest first: the first line seen of a key is its last
        last.setdefault((line.entity, line.key), line.action)
    for entity, key in links:
        kind = Kind(entity)
        if last.get((entity, key)) == ADDING[kind].value:
            existed.add((kind, key))
    return later, existed


def _keep(
    registry: Registry,
    site: str,
    options: PlanOptions,
    undo_id: RunId,
    tenants: Sequence[str],
    undo: Undo,
    lines: Sequence[JournalEntry],
    index: SiteIndex,
) -> tuple[StoredPlan, dict[str, TenantOutcome]]:
    """Store one site's undo as the run's plan, and its tenants' reports."""
    stored = StoredPlan(
        run_id=undo_id,
        site=site,
        tenants=tuple(tenants),
        options=options,
        operations=undo.operations,
        notes=undo.notes(),
    )
    stop = stored.safety(index)
    if stop is not None:
        stored = replace(stored, operations=(), blocked=stop, withheld=undo.operations)
    stored = registry.store_plan(stored)
    held = {(Kind(line.entity), line.key): line.tenants for line in lines if line.entity in _KINDS}
    warnings = [
        SourceWarning(tenant, item.key, f"left alone: {item}")
        for item in undo.left_alone
        for tenant in (set(held.get((item.kind, item.key), ())) & set(tenants)) or tenants
    ]
    tallies = tally(
        tenants,
        planned=undo.operations if stop is None else (),
        source_warnings=warnings,
        notes=undo.notes()[:1],
        verbose=options.verbose,
    )
    reasons = stop_reasons(stop, tenants, site) if stop is not None else {}
    outcomes: dict[str, TenantOutcome] = {}
    for tenant in tenants:
        phase = Phase.FAILED if tenant in reasons else Phase.SUCCEEDED
        item = tallies[tenant]
        report, reason = final_report(
            tenant, site, phase, reasons.get(tenant, ""), item, {}, simulated=True
        )
        registry.record_tenant_report(undo_id, report)
        outcomes[tenant] = TenantOutcome(tenant, phase, reason, item.flat())
    return stored, outcomes


async def undo_run(
    coordinator: Coordinator,
    run_id: int,
    *,
    apply: bool = False,
    created: CreatedPolicy = CreatedPolicy.SUSPEND,
    include: Collection[str] = (),
    allow_mass_removal: bool = False,
    verbose: bool = False,
    executor: Executor | None = None,
) -> UndoOutcome:
    """The simulated undo of ``run_id``, then, with ``apply``, the run that applies it.

    Raises :class:`UndoRefused` before anything is recorded (see the module
    docstring). Nothing is applied when a safety rule stopped a site's undo
    (``allow_mass_removal`` lifts the rules) or when there is nothing to do.
    """
    simulation = await anyio.to_thread.run_sync(
        lambda: simulate_undo(
            coordinator.farm,
            coordinator.registry,
            run_id,
            created=created,
            include=include,
            allow_mass_removal=allow_mass_removal,
            verbose=verbose,
        )
    )
    if not apply or simulation.blocked or not simulation.operations:
        return UndoOutcome(simulation)
    applied = await apply_run(coordinator, simulation.run_id, verbose=verbose, executor=executor)
    return UndoOutcome(simulation, applied)
