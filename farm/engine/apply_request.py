"""What ``farm apply RUN`` and the dashboard's simulate -> apply ask of the coordinator.

:func:`apply_request` turns a simulated run into the :class:`SyncRequest` of
the run that applies the plans it stored: the same tenants, the simulated
run's own options (so the new run covers the same ground: a ``--user``
simulation is applied as a targeted run) with ``apply_plan_of`` set, and
``applies`` in the selection to link the two runs. It refuses, with
:class:`ApplyRefused` and before any run is recorded, what the jobs would
refuse anyway: an unknown run, one that was not a simulation or stored no
plan, plans already applied (naming the run that applied them), plans
older than ``[farm] plan_max_age`` (unless ``force_stale``), and tenants the
farm no longer has on that site.

:func:`apply_run` is the call a view makes: the request, then
:meth:`Coordinator.run` with it, through the same executor, leases, reports,
journal and events as any sync. The jobs check drift and safety again
(:mod:`farm.engine.stored_apply`); a plan two runs race for is applied by
one of them only.

With ``replan_drifted`` the new run is a simulation: it plans the drifted
records again and stores its own plan, to be reviewed and applied in turn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import anyio.to_thread

from farm.config import Farm, TenantConfig
from farm.engine.coordinator import Coordinator, RunResult, SyncRequest
from farm.engine.executor import Executor
from farm.options import RunOptions
from farm.plan_codec import StoredPlanError
from farm.registry import Registry, RunId, RunTrigger, UnknownRun
from farm.stored_plan import StoredPlan

__all__ = ["ApplyRefused", "apply_request", "apply_run"]


class ApplyRefused(ValueError):
    """The stored plan cannot be applied; nothing was started. The message says why."""


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 2 else f"{age.total_seconds() / 60:.0f} min"


def apply_request(
    farm: Farm,
    registry: Registry,
    run_id: int,
    *,
    force_stale: bool = False,
    replan_drifted: bool = False,
    verbose: bool = False,
) -> SyncRequest:
    """The request that applies run ``run_id``'s stored plans; see the module docstring.

    Blocking (registry calls): run it in a worker thread from async code.
    """
    try:
        run = registry.get_run(RunId(run_id))
    except UnknownRun:
        raise ApplyRefused(f"there is no run {run_id}") from None
    if not run.simulated:
        raise ApplyRefused(
            f"run {run_id} was not a simulation: only `farm sync --simulate` stores a plan to apply"
        )
    try:
        plans = registry.stored_plans(run_id)
    except StoredPlanError as error:
        raise ApplyRefused(f"the plan of run {run_id} cannot be read: {error}") from None
    if not plans:
        raise ApplyRefused(
            f"run {run_id} stored no plan: none of its tenants was read and planned "
            "(see farm report " + str(run_id) + ")"
        )
    pending = [p for p in plans if p.applied_by is None]
    if not pending:
        by = ", ".join(f"site {p.site} by run {p.applied_by}" for p in plans)
        raise ApplyRefused(f"the plan of run {run_id} was already applied: {by}")
    if not force_stale:
        _refuse_stale(farm, registry, pending)
    tenants = _tenants(farm, pending)
    given = {k: v for k, v in run.options.items() if k != "simulate"}
    try:
        options = RunOptions.from_mapping(given)
    except ValueError as error:
        raise ApplyRefused(f"the options of run {run_id} are no longer valid: {error}") from None
    options = replace(
        options,
        simulate=replan_drifted,
        verbose=options.verbose or verbose,
        apply_plan_of=run_id,
        force_stale=force_stale,
        replan_drifted=replan_drifted,
    )
    selection: dict[str, object] = {
        "replans" if replan_drifted else "applies": run_id,
        "tenants_asked": [t.id for t in tenants],
    }
    if run.selection.get("user"):
        selection["user"] = run.selection["user"]
    trigger = RunTrigger.TARGETED if run.trigger is RunTrigger.TARGETED else RunTrigger.BATCH
    return SyncRequest(tenants=tenants, options=options, trigger=trigger, selection=selection)


def _refuse_stale(farm: Farm, registry: Registry, plans: list[StoredPlan]) -> None:
    now = registry.registry_time()
    limit = farm.settings.plan_max_age
    stale = [p for p in plans if p.age(now) > limit]
    if stale:
        ages = ", ".join(f"site {p.site}: {_age(p.age(now))}" for p in stale)
        raise ApplyRefused(
            f"the plan of run {stale[0].run_id} is older than plan_max_age ({_age(limit)}): "
            f"{ages}; simulate again, or apply it with --force-stale"
        )


def _tenants(farm: Farm, plans: list[StoredPlan]) -> tuple[TenantConfig, ...]:
    chosen: list[TenantConfig] = []
    for plan in plans:
        for tenant_id in plan.tenants:
            tenant = farm.tenants.get(tenant_id)
            if tenant is None:
                raise ApplyRefused(
                    f"tenant {tenant_id} of the plan for site {plan.site} is no longer in the "
                    "farm's configuration: simulate again"
                )
            if tenant.site != plan.site:
                raise ApplyRefused(
                    f"tenant {tenant_id} is now on site {tenant.site}, the plan was for site "
                    f"{plan.site}: simulate again"
                )
            chosen.append(tenant)
    return tuple(chosen)


async def apply_run(
    coordinator: Coordinator,
    run_id: int,
    *,
    force_stale: bool = False,
    replan_drifted: bool = False,
    verbose: bool = False,
    executor: Executor | None = None,
) -> RunResult:
    """Apply run ``run_id``'s stored plans as a new run, to its end.

    Raises :class:`ApplyRefused` before anything is recorded when the plans
    cannot be applied (see the module docstring); drift and safety are the
    jobs' to check, and fail the tenants with their reasons.
    """
    request = await anyio.to_thread.run_sync(
        lambda: apply_request(
            coordinator.farm,
            coordinator.registry,
            run_id,
            force_stale=force_stale,
            replan_drifted=replan_drifted,
            verbose=verbose,
        )
    )
    return await coordinator.run(request, executor)
