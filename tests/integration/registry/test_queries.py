"""Per-tenant run queries for status pages and schedules, and the newest event id."""

from __future__ import annotations

from farm.registry import NewEvent, Registry, RunId, RunStatus, RunTrigger, TenantReport
from farm.registry import TenantStatus as S


def run(
    registry: Registry,
    results: dict[str, S],
    *,
    task: str | None = None,
    simulated: bool = False,
    finish: bool = True,
) -> RunId:
    selection: dict[str, object] = {"tenants": list(results)}
    if task is not None:
        selection["task"] = task
    run_id = registry.start_run(
        trigger=RunTrigger.SCHEDULE if task else RunTrigger.BATCH,
        selection=selection,
        simulated=simulated,
    )
    for tenant, status in results.items():
        registry.record_tenant_report(
            run_id,
            TenantReport(
                tenant=tenant, site="lycee", status=status, reason=status.value, simulated=simulated
            ),
        )
    if finish:
        registry.finish_run(run_id, RunStatus.SUCCEEDED)
    return run_id


def test_last_run_and_last_success_of_each_tenant(registry: Registry) -> None:
    first = run(registry, {"A": S.SUCCEEDED, "B": S.SUCCEEDED, "C": S.FAILED})
    second = run(registry, {"B": S.FAILED})
    third = run(registry, {"A": S.SUCCEEDED, "C": S.SUCCEEDED}, simulated=True)
    running = run(registry, {"A": S.SUCCEEDED}, finish=False)

    last = registry.last_tenant_runs()
    assert {t: r.run_id for t, r in last.items()} == {"A": running, "B": second, "C": third}
    assert last["B"].status is S.FAILED
    assert last["B"].reason == "failed"
    assert last["A"].run_status is RunStatus.RUNNING
    assert last["A"].finished_at is None
    assert last["C"].simulated

    successes = registry.last_tenant_runs(succeeded=True)
    # A's newest success is still running; the simulated success of C is not one.
    assert {t: r.run_id for t, r in successes.items()} == {"A": running, "B": first}
    assert successes["B"].at == successes["B"].finished_at

    only = registry.last_tenant_runs(["B", "Z"], succeeded=True)
    assert list(only) == ["B"]


def test_last_run_of_each_tenant_and_task(registry: Registry) -> None:
    everything = run(registry, {"A": S.SUCCEEDED, "B": S.SUCCEEDED})
    users = run(registry, {"A": S.SUCCEEDED}, task="users")
    run(registry, {"A": S.FAILED, "B": S.SUCCEEDED}, task="cohorts")
    cohorts = run(registry, {"B": S.SUCCEEDED}, task="cohorts")

    found = registry.last_tenant_runs_by_task()

    assert {key: r.run_id for key, r in found.items()} == {
        ("A", None): everything,
        ("B", None): everything,
        ("A", "users"): users,
        ("A", "cohorts"): cohorts - 1,
        ("B", "cohorts"): cohorts,
    }
    assert found[("A", "cohorts")].status is S.FAILED
    assert found[("A", "users")].task == "users"
    assert set(registry.last_tenant_runs_by_task(["B"])) == {("B", None), ("B", "cohorts")}


def test_no_history_answers_empty(registry: Registry) -> None:
    assert registry.last_tenant_runs() == {}
    assert registry.last_tenant_runs_by_task() == {}
    assert registry.max_event_id() == 0


def test_max_event_id_is_the_newest_event(registry: Registry) -> None:
    run_id = run(registry, {"A": S.SUCCEEDED})
    ids = registry.append_events(
        [NewEvent(kind="phase", payload={"n": n}, run_id=run_id) for n in range(1205)]
    )
    assert registry.max_event_id() == ids[-1]
    assert registry.events_since(registry.max_event_id()) == []
