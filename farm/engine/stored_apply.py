"""A job's stored-plan phase: apply what a simulation stored, as it was reviewed (invariant 10).

A job whose options say ``apply_plan_of`` (``farm apply RUN``) does not read
its sources nor plan: :func:`load_stored_plan` takes the plan that run
stored for the job's site and checks, before anything is written:

1. that there is one, for exactly the job's tenants, that no run applied it
   yet (:class:`~farm.stored_plan.PlanAlreadyApplied` names the run that
   did), that it did not stop on a safety rule, and that it is not older
   than ``[farm] plan_max_age`` by the registry's clock (unless
   ``force_stale``);
2. drift (:mod:`farm.drift`): the site's index against each operation's
   previous entry, then Moodle, for the records the plan touches
   (:mod:`farm.engine.moodle_drift`). Anything drifted fails the job's
   tenants with each drifted record named (all of them in the report's
   errors, the first ones in the reason);
3. the safety checks again, on the stored operations against the index as
   it is now;

then claims the plan for this run (applied at most once) and hands the job
the plan to apply: exactly the stored operations.

With ``replan_drifted`` the run is a simulation instead: when something
drifted, the job's sources are read again and planned against today's
index, and the drifted records' operations are replaced by the new ones
(:func:`farm.stored_plan.replan`); the result is stored as this run's own
plan, the drift first in its notes, for the operator to review and apply
in turn. Nothing drifted: the plan is stored again as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import ParamSpec, Protocol, TypeVar

import anyio
import anyio.to_thread

from farm.config import Farm, SiteConfig
from farm.drift import Drift, drift_words, index_drift
from farm.engine.moodle_drift import MoodleFindings, moodle_drift
from farm.engine.report import TenantTally, tally
from farm.engine.wiring import ClientProvider
from farm.index import SiteIndex
from farm.moodle import MoodleError
from farm.options import PlanOptions, RunOptions
from farm.plan import Plan
from farm.plan_codec import StoredPlanError
from farm.registry import Registry, RegistryError, UnknownStoredPlan
from farm.secrets import SecretError
from farm.site_rules import Refusal
from farm.stored_plan import PlanAlreadyApplied, StoredPlan, replan

__all__ = ["JobParts", "Replanner", "StoredPhase", "keep_simulation", "load_stored_plan"]

_P = ParamSpec("_P")
#: Reads the job's sources and plans them with these options, as a sync does.
Replanner = Callable[[PlanOptions], Awaitable[Plan | None]]
_T = TypeVar("_T")


@dataclass
class StoredPhase:
    """What the stored-plan phase found: the plan to run, or why not, and the report's errors.

    ``plan`` and ``index`` are None when ``failure`` says why nothing runs;
    ``tallies`` name each drifted record in the tenants' reports; ``kept``
    says the phase stored the run's own plan (a re-plan).
    """

    plan: Plan | None = None
    index: SiteIndex | None = None
    failure: str | None = None
    tallies: dict[str, TenantTally] = field(default_factory=dict)
    kept: bool = False


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 2 else f"{age.total_seconds() / 60:.0f} min"


async def keep_simulation(
    registry: Registry, run_id: int, tenants: Sequence[str], plan: Plan
) -> str | None:
    """Store a simulation's plan with its run; why it could not be, or None."""
    stored = StoredPlan.of_plan(run_id, tenants, plan)
    try:
        await anyio.to_thread.run_sync(registry.store_plan, stored)
    except RegistryError as error:
        return f"registry: the simulated plan was not stored, so it cannot be applied: {error}"
    return None


class JobParts(Protocol):
    """What the phase takes of the job's context (:class:`farm.engine.job.JobContext`)."""

    @property
    def farm(self) -> Farm: ...
    @property
    def registry(self) -> Registry: ...
    @property
    def clients(self) -> ClientProvider: ...
    @property
    def stop(self) -> anyio.Event: ...


async def load_stored_plan(
    ctx: JobParts,
    site: SiteConfig,
    run_id: int,
    tenants: Sequence[str],
    options: RunOptions,
    replanner: Replanner,
) -> StoredPhase:
    """The plan ``options.apply_plan_of`` stored for ``site``, checked; see the module doc.

    ``replanner`` reads the job's sources and plans them as a sync does (None:
    it failed, and said why to the job), for ``replan_drifted``.
    """
    farm, registry, clients, stop = ctx.farm, ctx.registry, ctx.clients, ctx.stop
    source_run = options.apply_plan_of
    assert source_run is not None
    try:
        stored = await _thread(registry.stored_plan, source_run, site.name)
        failure = _refusal(stored, tenants)
        if failure is None and not options.force_stale:
            failure = _staleness(stored, await _thread(registry.registry_time), farm)
        if failure is not None:
            return StoredPhase(failure=failure)
        index = await _thread(registry.site_index, site.name)
    except (UnknownStoredPlan, StoredPlanError, PlanAlreadyApplied) as error:
        return StoredPhase(failure=str(error))
    except RegistryError as error:
        return StoredPhase(failure=f"registry: {error}")
    drifts = index_drift(stored.operations, index)
    try:
        async with clients(site) as client:
            found = await moodle_drift(
                client, stored.operations, stored.known, force=stored.options.force
            )
    except SecretError as error:
        return StoredPhase(failure=f"site {site.name} token: {error}")
    except MoodleError as error:
        return StoredPhase(failure=f"could not read Moodle to check for drift: {error}")
    drifts.extend(found.drift)
    if options.replan_drifted:
        return await _replan(
            registry, replanner, site, run_id, options, stored, index, drifts, found
        )
    if drifts:
        return StoredPhase(
            failure=f"the plan of run {source_run} drifted, nothing was written: "
            + drift_words(drifts),
            tallies=_drift_tallies(stored, drifts),
        )
    plan = stored.to_plan(verbose=options.verbose)
    stopped = stored.safety(index)
    if stopped is not None:
        return StoredPhase(plan=replace(plan, operations=(), blocked=stopped), index=index)
    if stop.is_set():
        return StoredPhase(failure="stopped before applying")
    try:
        await _thread(registry.claim_stored_plan, source_run, site.name, by_run=run_id)
    except (PlanAlreadyApplied, UnknownStoredPlan) as error:
        return StoredPhase(failure=str(error))
    except RegistryError as error:
        return StoredPhase(failure=f"registry: {error}")
    return StoredPhase(plan=plan, index=index)


async def _thread(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


def _refusal(stored: StoredPlan, tenants: Sequence[str]) -> str | None:
    """Why ``stored`` cannot be applied by a job of ``tenants``, before any check."""
    if stored.applied_by is not None:
        return str(PlanAlreadyApplied(stored.run_id, stored.site, stored.applied_by))
    if set(tenants) != set(stored.tenants):
        return (
            f"the plan of run {stored.run_id} for site {stored.site} covers "
            f"{', '.join(stored.tenants) or 'no tenant'}, not {', '.join(tenants)}: "
            "a plan is applied whole"
        )
    if stored.blocked is not None:
        return (
            f"the simulation of run {stored.run_id} stopped on a safety rule, so its plan "
            f"holds nothing to apply ({stored.blocked.reason}); simulate again"
        )
    return None


def _staleness(stored: StoredPlan, now: datetime, farm: Farm) -> str | None:
    age, limit = stored.age(now), farm.settings.plan_max_age
    if age <= limit:
        return None
    return (
        f"the plan of run {stored.run_id} for site {stored.site} is {_hours(age)} old, older "
        f"than plan_max_age ({_hours(limit)}): simulate again, or apply it with --force-stale"
    )


def _drift_tallies(stored: StoredPlan, drifts: Sequence[Drift]) -> dict[str, TenantTally]:
    """Each drifted record as an error of the reports of the tenants that hold it."""
    ops = {(op.kind, op.key): op for op in stored.operations}
    refusals = []
    for drift in drifts:
        op = ops.get((drift.kind, drift.key))
        held: frozenset[str] = frozenset()
        if op is not None:
            held = op.tenants | (op.previous.tenants if op.previous is not None else frozenset())
        reason = f"drifted since the plan: {drift.where}: {drift.message}"
        refusals.append(Refusal(drift.kind, drift.key, held, reason))
    return tally(stored.tenants, rejections=refusals)


async def _replan(
    registry: Registry,
    replanner: Replanner,
    site: SiteConfig,
    run_id: int,
    options: RunOptions,
    stored: StoredPlan,
    index: SiteIndex,
    drifts: list[Drift],
    found: MoodleFindings,
) -> StoredPhase:
    """Plan the drifted records again and store the result as this run's plan."""
    plan_options = replace(stored.options, simulate=True, verbose=options.verbose)
    fresh: Plan | None = None
    if drifts:
        fresh = await replanner(plan_options)
        if fresh is None:
            return StoredPhase(failure="cannot plan the drifted records again")
        operations, known = replan(stored, fresh, drifts, found.holds, found.found)
    else:
        operations, known = stored.operations, dict(stored.known)
    lines = [f"re-planned after drift: {drift}" for drift in drifts] or [
        f"nothing drifted since run {stored.run_id}: its plan is stored again as it was"
    ]
    renewed = replace(
        stored,
        run_id=run_id,
        options=plan_options,
        operations=operations,
        known=known,
        replanned_from=stored.run_id,
        drift=tuple(drifts),
        notes=(*lines, *(fresh.notes if fresh is not None else stored.notes)),
        warnings=fresh.warnings if fresh is not None else stored.warnings,
        refusals=fresh.refusals if fresh is not None else stored.refusals,
        complete=fresh.complete if fresh is not None else stored.complete,
        people_read=dict(fresh.people_read if fresh is not None else stored.people_read),
        created_at=None,
        applied_by=None,
        applied_at=None,
    )
    stopped = renewed.safety(index)
    if stopped is not None:
        renewed = replace(renewed, operations=(), blocked=stopped, withheld=operations)
    try:
        await _thread(registry.store_plan, renewed)
    except RegistryError as error:
        return StoredPhase(failure=f"registry: the re-planned plan was not stored: {error}")
    plan = Plan(
        site=site.name,
        options=plan_options,
        operations=renewed.operations,
        blocked=renewed.blocked,
        withheld=renewed.withheld,
        notes=renewed.notes,
        warnings=renewed.warnings,
        refusals=renewed.refusals,
        people_matched=renewed.people_matched,
        complete=renewed.complete,
        people_read=dict(renewed.people_read),
    )
    return StoredPhase(plan=plan, index=index, kept=True)
