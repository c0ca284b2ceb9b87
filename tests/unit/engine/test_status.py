"""``farm status`` facts: last run, result, age of the last success, thresholds, Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from farm.config.schema import StatusThresholds
from farm.engine.health import Level, level_of
from farm.engine.prometheus import prometheus
from farm.engine.status import tenant_states
from farm.registry import Registry, RunId, RunStatus, RunTrigger, TenantReport, TenantStatus
from tests.integration.registry.farms import build_farm

THRESHOLDS = StatusThresholds(warning_after=timedelta(hours=26), critical_after=timedelta(hours=50))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}", check=False, create=True)
    opened.upgrade()
    try:
        yield opened
    finally:
        opened.close()


def record_run(
    registry: Registry, results: dict[str, TenantStatus], *, simulated: bool = False
) -> int:
    run = registry.start_run(
        trigger=RunTrigger.BATCH, selection={"tenants": list(results)}, simulated=simulated
    )
    for tenant, status in results.items():
        registry.record_tenant_report(
            run, TenantReport(tenant=tenant, site="lycee", status=status, reason=status.value)
        )
    registry.finish_run(run, RunStatus.SUCCEEDED)
    return run


def test_levels_follow_the_thresholds() -> None:
    assert level_of(None, THRESHOLDS) is Level.CRITICAL  # never synced
    assert level_of(timedelta(hours=1), THRESHOLDS) is Level.OK
    assert level_of(timedelta(hours=27), THRESHOLDS) is Level.WARNING
    assert level_of(timedelta(hours=51), THRESHOLDS) is Level.CRITICAL


def test_last_run_and_age_of_last_success(registry: Registry, tmp_path: Path) -> None:
    farm = build_farm(tmp_path, {"lycee": {"0290009C": "A", "0291595B": "B", "0292000X": "C"}})
    good = record_run(
        registry, {"0290009C": TenantStatus.SUCCEEDED, "0291595B": TenantStatus.SUCCEEDED}
    )
    failed = record_run(registry, {"0291595B": TenantStatus.FAILED})
    record_run(registry, {"0292000X": TenantStatus.SUCCEEDED}, simulated=True)
    later = datetime.now(UTC) + timedelta(hours=30)

    states = {
        s.tenant: s
        for s in tenant_states(registry, list(farm.tenants.values()), THRESHOLDS, now=later)
    }

    assert states["0290009C"].last_run == good
    assert states["0290009C"].result == "succeeded"
    assert states["0290009C"].level is Level.WARNING  # 30 h since its last success
    # B failed last time: its line shows that run, its age counts from the success before,
    # and the failure makes it critical (issue 13: not the age alone).
    assert states["0291595B"].last_run == failed
    assert states["0291595B"].result == "failed"
    assert states["0291595B"].last_success_at is not None
    assert states["0291595B"].age_level is Level.WARNING
    assert states["0291595B"].level is Level.CRITICAL
    # C only ever ran simulated: never synced for real.
    assert states["0292000X"].result == "succeeded"
    assert states["0292000X"].state.value == "never"
    assert states["0292000X"].level is Level.CRITICAL
    assert states["0292000X"].to_json(ZoneInfo("UTC"))["age_seconds"] is None


def test_prometheus_text(registry: Registry, tmp_path: Path) -> None:
    farm = build_farm(tmp_path, {"lycee": {"0290009C": "A", "0291595B": "B"}})
    record_run(registry, {"0290009C": TenantStatus.SUCCEEDED})
    states = tenant_states(registry, list(farm.tenants.values()), THRESHOLDS)

    text = prometheus(states, 'demo "farm"')

    assert "# TYPE farm_tenant_status_level gauge" in text
    assert (
        'farm_tenant_status_level{farm="demo \\"farm\\"",site="lycee",tenant="0290009C"} 0' in text
    )
    assert (
        'farm_tenant_status_level{farm="demo \\"farm\\"",site="lycee",tenant="0291595B"} 2' in text
    )
    assert (
        'farm_tenant_last_run_succeeded{farm="demo \\"farm\\"",site="lycee",tenant="0290009C"} 1'
        in text
    )
    stamp = next(
        line for line in text.splitlines() if line.startswith("farm_tenant_last_success_timestamp")
    )
    assert abs(float(stamp.rsplit(" ", 1)[1]) - datetime.now(UTC).timestamp()) < 60


def test_a_run_in_progress_shows_as_running_and_keeps_the_last_success(
    registry: Registry, tmp_path: Path
) -> None:
    farm = build_farm(tmp_path, {"lycee": {"0290009C": "A", "0291595B": "B"}})
    done = record_run(registry, {"0290009C": TenantStatus.SUCCEEDED})
    live = registry.start_run(trigger=RunTrigger.BATCH, selection={"tenants": ["0290009C"]})

    states = {s.tenant: s for s in tenant_states(registry, list(farm.tenants.values()), THRESHOLDS)}

    assert states["0290009C"].last_run == live
    assert states["0290009C"].result == "running"
    assert states["0290009C"].level is Level.OK
    assert states["0290009C"].last_success_at == registry.get_run(RunId(done)).finished_at
    assert states["0291595B"].last_run is None
    assert states["0291595B"].result is None
