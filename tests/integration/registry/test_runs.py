"""Runs and per-tenant reports, as the coordinator records them and the CLI reads them."""

from __future__ import annotations

import pytest

from farm.registry import (
    RefusedRecord,
    Registry,
    ReportWarning,
    RunStatus,
    RunTrigger,
    TenantReport,
    TenantStatus,
    UnknownRun,
    UnknownTenantReport,
)


def test_a_run_goes_from_running_to_its_final_status(registry: Registry) -> None:
    run = registry.start_run(
        trigger=RunTrigger.TARGETED,
        selection={"tenants": ["0750001A"]},
        options={"entities": ["users"]},
        simulated=True,
    )
    running = registry.get_run(run)
    assert running.status is RunStatus.RUNNING
    assert running.finished_at is None
    assert running.duration is None
    assert running.selection == {"tenants": ["0750001A"]}

    registry.finish_run(run, RunStatus.PARTIAL, reason="1 tenant failed")

    done = registry.get_run(run)
    assert done.status is RunStatus.PARTIAL
    assert done.reason == "1 tenant failed"
    assert done.duration is not None
    assert done.duration.total_seconds() >= 0
    assert done.simulated


def test_reports_round_trip_and_count_tenants_ok_and_failed(registry: Registry) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    ok = TenantReport(
        tenant="0750001A",
        site="lyc-a",
        status=TenantStatus.SUCCEEDED,
        counts={"users": {"create": 12, "update": 3}, "cohorts": {"create": 2}},
        warnings=(ReportWarning("no email", key="person:1234"),),
        durations={"read": 1.5, "apply": 4.25},
    )
    failed = TenantReport(
        tenant="0750002B",
        site="lyc-a",
        status=TenantStatus.FAILED,
        reason="source answered empty",
        errors=(RefusedRecord(key="person:99", reason="Invalid username", entity="users"),),
    )
    registry.record_tenant_report(run, failed)
    registry.record_tenant_report(run, ok)

    report = registry.get_report(run)
    assert report.tenants == (ok, failed)
    assert (report.run.tenants_ok, report.run.tenants_failed, report.run.tenants_total) == (1, 1, 2)
    assert registry.get_report(run, tenant="0750002B").tenants == (failed,)


def test_recording_a_tenant_again_replaces_its_report(registry: Registry) -> None:
    run = registry.start_run(trigger=RunTrigger.BATCH)
    first = TenantReport(tenant="0750001A", site="s", status=TenantStatus.INTERRUPTED)
    second = TenantReport(tenant="0750001A", site="s", status=TenantStatus.SUCCEEDED)
    registry.record_tenant_report(run, first)
    registry.record_tenant_report(run, second)
    assert registry.get_report(run).tenants == (second,)


def test_runs_are_listed_latest_first_and_filtered_by_status(registry: Registry) -> None:
    ids = [registry.start_run(trigger=RunTrigger.SCHEDULE) for _ in range(4)]
    registry.finish_run(ids[0], RunStatus.SUCCEEDED)
    registry.finish_run(ids[2], RunStatus.FAILED)
    assert [r.id for r in registry.list_runs()] == ids[::-1]
    assert [r.id for r in registry.list_runs(limit=2)] == [ids[3], ids[2]]
    assert [r.id for r in registry.list_runs(status=RunStatus.RUNNING)] == [ids[3], ids[1]]
    assert [r.id for r in registry.list_runs(before=ids[2])] == [ids[1], ids[0]]


def test_unknown_runs_and_tenants_are_named(registry: Registry) -> None:
    with pytest.raises(UnknownRun, match="no run 41"):
        registry.get_report(41)  # type: ignore[arg-type]
    with pytest.raises(UnknownRun):
        registry.finish_run(41, RunStatus.FAILED)  # type: ignore[arg-type]
    run = registry.start_run(trigger=RunTrigger.BATCH)
    with pytest.raises(UnknownTenantReport, match=f"run {run} has no report for tenant 0750009Z"):
        registry.get_report(run, tenant="0750009Z")
