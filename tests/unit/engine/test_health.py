"""Invariant 7: a failure stays visible until a run covering the same ground succeeds (issue 13).

Each test records runs in a real registry as the coordinator would (the
run's options, then each tenant's report) and asks :mod:`farm.engine.status`.
Before issue 13, a tenant's state was its last run's: every "stays failed"
assertion below failed (the delta, the --user run, the unrelated task or a
skipped run turned the tenant ``succeeded``/``ok``), and ``level`` looked at
the age of the last success only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from farm.config.schema import StatusThresholds
from farm.engine.events import Phase
from farm.engine.health import Level, State, outcome_state, state_matches
from farm.engine.status import exit_code, tenant_states, worst_first
from farm.ground import Ground
from farm.registry import (
    RefusedRecord,
    Registry,
    RunStatus,
    RunTrigger,
    TenantReport,
    TenantStatus,
)
from tests.integration.registry.farms import build_farm

THRESHOLDS = StatusThresholds(warning_after=timedelta(hours=26), critical_after=timedelta(hours=50))
A, B = "0290009C", "0291595B"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}", check=False, create=True)
    opened.upgrade()
    try:
        yield opened
    finally:
        opened.close()


def run(
    registry: Registry,
    results: Mapping[str, TenantStatus],
    options: Mapping[str, Any] | None = None,
    *,
    task: str | None = None,
    errors: int = 0,
    simulated: bool = False,
) -> int:
    selection: dict[str, Any] = {"tenants": list(results)}
    if task:
        selection["task"] = task
    run_id = registry.start_run(
        trigger=RunTrigger.SCHEDULE if task else RunTrigger.BATCH,
        selection=selection,
        options=dict(options or {}),
        simulated=simulated,
    )
    for tenant, status in results.items():
        registry.record_tenant_report(
            run_id,
            TenantReport(
                tenant=tenant,
                site="lycee",
                status=status,
                reason=None if status is TenantStatus.SUCCEEDED else f"{status.value} here",
                errors=tuple(RefusedRecord(f"k{i}", "refused") for i in range(errors)),
                simulated=simulated,
            ),
        )
    registry.finish_run(run_id, RunStatus.SUCCEEDED)
    return run_id


def states(registry: Registry, tmp_path: Path, now: datetime | None = None) -> dict[str, Any]:
    farm = build_farm(tmp_path, {"lycee": {A: "A", B: "B"}})
    found = tenant_states(registry, list(farm.tenants.values()), THRESHOLDS, now=now)
    return {s.tenant: s for s in found}


F, OK_, P, I_, S = (
    TenantStatus.FAILED,
    TenantStatus.SUCCEEDED,
    TenantStatus.PARTIAL,
    TenantStatus.INTERRUPTED,
    TenantStatus.SKIPPED,
)


def test_a_delta_does_not_clear_a_failed_full_sync(registry: Registry, tmp_path: Path) -> None:
    run(registry, {A: OK_, B: OK_})
    failed = run(registry, {A: F, B: OK_})
    run(registry, {A: OK_, B: OK_}, {"delta": True}, task="delta")

    found = states(registry, tmp_path)
    assert found[A].state is State.FAILED
    assert found[A].level is Level.CRITICAL
    assert found[A].result == "succeeded"  # its last run, shown as such
    assert [p.run_id for p in found[A].problems] == [failed]
    assert found[B].state is State.SUCCEEDED
    assert found[B].level is Level.OK
    why = found[A].why(THRESHOLDS, ZoneInfo("Europe/Paris"))
    assert f"failed in run {failed} (full sync" in why[0]
    assert why[-1] == f"look closer: farm report {failed} --tenant {A}"

    run(registry, {A: OK_})  # a full sync succeeds: it covers everything
    assert states(registry, tmp_path)[A].state is State.SUCCEEDED
    assert states(registry, tmp_path)[A].problems == ()


def test_a_one_person_run_does_not_clear_a_failed_full_sync(
    registry: Registry, tmp_path: Path
) -> None:
    run(registry, {A: F})
    run(registry, {A: OK_}, {"person": "jdupont"})
    assert states(registry, tmp_path)[A].state is State.FAILED


def test_an_undo_does_not_clear_a_failed_full_sync(registry: Registry, tmp_path: Path) -> None:
    run(registry, {A: F})
    run(registry, {A: OK_}, {"undo_of": 1})
    assert states(registry, tmp_path)[A].state is State.FAILED
    assert Ground.of_options({"undo_of": 1}).describe() == "undo of run 1"
    run(registry, {A: OK_})
    assert states(registry, tmp_path)[A].state is State.SUCCEEDED


def test_an_unrelated_task_does_not_clear_a_failed_task(registry: Registry, tmp_path: Path) -> None:
    run(registry, {A: OK_})
    run(registry, {A: F}, {"entities": ["users"]}, task="users")
    run(registry, {A: OK_}, {"entities": ["cohorts"]}, task="cohorts")
    assert states(registry, tmp_path)[A].state is State.FAILED
    run(registry, {A: OK_}, {"entities": ["users"]}, task="users")
    assert states(registry, tmp_path)[A].state is State.SUCCEEDED


def test_a_skipped_or_simulated_run_settles_nothing(registry: Registry, tmp_path: Path) -> None:
    run(registry, {A: OK_})
    run(registry, {A: F})
    run(registry, {A: S})
    run(registry, {A: OK_}, {"simulate": True}, simulated=True)
    assert states(registry, tmp_path)[A].state is State.FAILED


def test_refused_records_make_partial_a_warning(registry: Registry, tmp_path: Path) -> None:
    run(registry, {A: OK_, B: OK_})
    run(registry, {A: P, B: I_}, errors=1)
    run(registry, {A: OK_}, {"delta": True})
    found = states(registry, tmp_path)
    assert found[A].state is State.PARTIAL
    assert found[A].level is Level.WARNING
    assert found[B].state is State.INTERRUPTED
    assert found[B].level is Level.WARNING
    assert exit_code(found.values()) == 1


def test_never_and_failed_are_critical_and_listed_first(registry: Registry, tmp_path: Path) -> None:
    run(registry, {A: OK_})
    found = states(registry, tmp_path)
    assert found[B].state is State.NEVER
    assert found[B].level is Level.CRITICAL
    assert exit_code(found.values()) == 2
    assert [s.tenant for s in worst_first(found.values())] == [B, A]
    assert exit_code([found[A]]) == 0


def test_age_still_counts_after_a_clean_history(registry: Registry, tmp_path: Path) -> None:
    run(registry, {A: OK_, B: OK_})
    later = datetime.now(UTC) + timedelta(hours=30)
    found = states(registry, tmp_path, later)
    assert found[A].state is State.SUCCEEDED
    assert found[A].level is Level.WARNING
    assert (
        "last success 1d06h ago (warning after 1d02h)"
        in found[A].why(THRESHOLDS, ZoneInfo("UTC"))[0]
    )


def test_a_newer_wider_failure_speaks_for_an_older_narrow_one(
    registry: Registry, tmp_path: Path
) -> None:
    run(registry, {A: F}, {"delta": True})
    full = run(registry, {A: F})
    assert [p.run_id for p in states(registry, tmp_path)[A].problems] == [full]


def test_grounds_cover_as_documented() -> None:
    full = Ground()
    delta = Ground.of_options({"delta": True})
    person = Ground.of_options({"person": "JDupont"})
    users = Ground.of_options({"entities": ["users"]})
    students = Ground.of_options({"entities": "users,cohorts,groups", "profiles": ["student"]})
    assert full.covers(delta)
    assert full.covers(person)
    assert full.covers(users)
    assert not delta.covers(full)
    assert not person.covers(full)
    assert not users.covers(full)
    assert delta.covers(delta)
    assert not delta.covers(person)
    assert person.covers(Ground.of_options({"person": "jdupont"}))
    assert not person.covers(Ground.of_options({"person": "other"}))
    assert not users.covers(Ground.of_options({"entities": ["cohorts"]}))
    assert not students.covers(Ground.of_options({"entities": "users,cohorts,groups"}))
    assert not Ground.of_options({"mode": "create-only"}).covers(full)
    assert not Ground.of_options({"refresh_only": True}).covers(full)
    for ground in (full, delta, person, users, students):
        assert Ground.parse(ground.text) == ground
    assert full.describe() == "full sync"
    assert delta.describe() == "delta"


def test_one_translation_of_a_job_outcome() -> None:
    assert outcome_state(Phase.SUCCEEDED, {"errors": 2}) is State.PARTIAL
    assert outcome_state(Phase.SUCCEEDED, {}) is State.SUCCEEDED
    assert outcome_state(Phase.READING) is None
    assert state_matches("partial", "not-ok")
    assert state_matches("interrupted", "not-ok")
    assert not state_matches("skipped", "not-ok")
    assert not state_matches("partial", "failed")
