"""A run's status sums up its tenants, so cron and `farm runs` tell the truth."""

from __future__ import annotations

from farm.engine.coordinator import run_status
from farm.engine.events import Phase
from farm.engine.outcome import TenantOutcome
from farm.registry import RunStatus


def outcome(tenant: str, phase: Phase, errors: int = 0) -> TenantOutcome:
    counts = {"errors": errors} if errors else {}
    return TenantOutcome(tenant=tenant, phase=phase, reason="", counts=counts)


def test_every_tenant_clean_is_a_success() -> None:
    tenants = {t: outcome(t, Phase.SUCCEEDED) for t in ("A", "B")}
    assert run_status(tenants, stopped=False) is RunStatus.SUCCEEDED


def test_a_tenant_with_records_moodle_refused_makes_the_run_partial() -> None:
    tenants = {"A": outcome("A", Phase.SUCCEEDED), "B": outcome("B", Phase.SUCCEEDED, errors=1)}
    assert run_status(tenants, stopped=False) is RunStatus.PARTIAL


def test_some_failed_tenants_make_it_partial_and_all_failed_make_it_failed() -> None:
    mixed = {"A": outcome("A", Phase.SUCCEEDED), "B": outcome("B", Phase.FAILED)}
    failed = {"A": outcome("A", Phase.FAILED), "B": outcome("B", Phase.SKIPPED)}
    assert run_status(mixed, stopped=False) is RunStatus.PARTIAL
    assert run_status(failed, stopped=False) is RunStatus.FAILED


def test_a_stop_or_an_interrupted_tenant_makes_it_interrupted() -> None:
    tenants = {"A": outcome("A", Phase.SUCCEEDED), "B": outcome("B", Phase.INTERRUPTED)}
    assert run_status(tenants, stopped=False) is RunStatus.INTERRUPTED
    assert run_status({"A": outcome("A", Phase.SUCCEEDED)}, stopped=True) is RunStatus.INTERRUPTED
