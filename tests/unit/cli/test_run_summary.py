"""The end of ``farm sync``: problems first, succeeded tenants folded, the command to see why."""

from __future__ import annotations

import pytest

from farm.cli.run_summary import print_summary
from farm.engine.coordinator import RunResult
from farm.engine.events import Phase
from farm.engine.outcome import TenantOutcome
from farm.registry import RunId, RunStatus
from tests.farms import establishment

TENANTS = tuple(establishment(f"09{n:05d}X", f"site-{n}", f"École {n}") for n in range(163))


def result(failed: dict[str, str], partial: tuple[str, ...] = ()) -> RunResult:
    outcomes = {}
    for tenant in TENANTS:
        if tenant.id in failed:
            outcomes[tenant.id] = TenantOutcome(tenant.id, Phase.FAILED, failed[tenant.id], {})
        elif tenant.id in partial:
            outcomes[tenant.id] = TenantOutcome(
                tenant.id, Phase.SUCCEEDED, "1 record(s) not written", {"errors": 1}
            )
        else:
            outcomes[tenant.id] = TenantOutcome(
                tenant.id, Phase.SUCCEEDED, "", {"person.create": 10}
            )
    return RunResult(RunId(12), RunStatus.PARTIAL, outcomes, reason="2 tenants failed")


def test_a_night_of_163_tenants_ends_on_its_failures_and_the_command_to_see_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    last, middle = TENANTS[-1].id, TENANTS[80].id
    print_summary(result({last: "invalid token", middle: "site down"}, (TENANTS[5].id,)), TENANTS)

    lines = capsys.readouterr().out.splitlines()

    assert len(lines) < 10
    # The failed tenants first (in the farm's order), then the partial one.
    assert lines[0].split()[0] == middle
    assert "site down" in lines[0]
    assert lines[1].split()[0] == last
    assert "invalid token" in lines[1]
    assert lines[2].split()[0] == TENANTS[5].id
    assert "partial" in lines[2]
    assert lines[3] == "160 tenants succeeded: person.create 1600"
    assert lines[4] == (
        "run 12: partial (2 tenants failed); tenants: 160 succeeded, 1 partial, 2 failed"
    )
    assert lines[5] == "why: farm report 12 --failed"


def test_a_small_run_keeps_a_line_per_tenant_problems_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    few = TENANTS[:3]
    run = result({few[2].id: "site down"})
    print_summary(RunResult(run.run_id, run.status, run.tenants), few)

    lines = capsys.readouterr().out.splitlines()

    assert [line.split()[0] for line in lines[:3]] == [few[2].id, few[0].id, few[1].id]
    assert lines[-1] == "why: farm report 12 --failed"


def test_a_clean_run_names_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    run = result({})
    print_summary(RunResult(run.run_id, RunStatus.SUCCEEDED, run.tenants), TENANTS)

    out = capsys.readouterr().out

    assert "--failed" not in out
    assert out.splitlines()[-1] == "run 12: succeeded; tenants: 163 succeeded"
