"""How the headless demo ends: intended refusals exit 0 and say so; anything else exits 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from farm.demo.story import intended, next_steps, verdict
from farm.engine.coordinator import RunResult
from farm.engine.events import Phase
from farm.engine.outcome import TenantOutcome
from farm.registry import (
    RefusedRecord,
    Registry,
    RunStatus,
    RunTrigger,
    TenantReport,
    TenantStatus,
)
from farm.secrets import SecretRef
from tests.farms import establishment, farm_of, site_config

HOMONYM = (
    "jade.rousseau (Jade Rousseau): username 'jade.rousseau' is also the username of "
    "netypareo:cfa-demo:formateur:712 [username]"
)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry.open(f"sqlite:///{tmp_path / 'registry.sqlite'}", check=False, create=True)
    opened.upgrade()
    tenants = [establishment("0900001M", "site-a", "A"), establishment("0900038C", "site-a", "B")]
    site = site_config(
        tmp_path,
        "site-a",
        url="http://127.0.0.1:9",
        token=SecretRef.parse("env:X"),
        tenants=tenants,
    )
    opened.load_farm(farm_of(tmp_path, [site]))
    yield opened
    opened.close()


def night(registry: Registry, refusal: str | None, *, failed: bool = False) -> RunResult:
    """A run of both tenants; the second refused ``refusal`` (or failed)."""
    run = registry.start_run(trigger=RunTrigger.BATCH)
    outcomes = {"0900001M": TenantOutcome("0900001M", Phase.SUCCEEDED, "", {"person.create": 3})}
    registry.record_tenant_report(run, TenantReport("0900001M", "site-a", TenantStatus.SUCCEEDED))
    if failed:
        outcomes["0900038C"] = TenantOutcome("0900038C", Phase.FAILED, "HTTP 503", {})
        report = TenantReport("0900038C", "site-a", TenantStatus.FAILED, reason="HTTP 503")
    else:
        errors = (RefusedRecord("ent:x", refusal, "person"),) if refusal else ()
        counts = {"errors": len(errors)}
        outcomes["0900038C"] = TenantOutcome("0900038C", Phase.SUCCEEDED, "", counts)
        status = TenantStatus.PARTIAL if errors else TenantStatus.SUCCEEDED
        report = TenantReport("0900038C", "site-a", status, errors=errors)
    registry.record_tenant_report(run, report)
    registry.finish_run(run, RunStatus.PARTIAL)
    return RunResult(run, RunStatus.PARTIAL, outcomes)


def test_the_intended_homonym_exits_0_and_says_it_is_intended(registry: Registry) -> None:
    told = verdict(registry, [night(registry, HOMONYM), night(registry, HOMONYM)])

    assert told.status == 0
    assert told.lines == (
        "demo done: every tenant ran; 0900038C partial, as intended "
        "(two people share a login, see 'why partial' above)",
    )


def test_a_refusal_the_demo_did_not_plan_exits_1_naming_it(registry: Registry) -> None:
    told = verdict(registry, [night(registry, "Email address is invalid: x")])

    assert told.status == 1
    assert told.lines[0] == "the demo failed: Moodle refused records it did not plan"
    assert "0900038C: ent:x: Email address is invalid: x" in told.lines[1]


def test_a_tenant_that_did_not_run_exits_1(registry: Registry) -> None:
    told = verdict(registry, [night(registry, None, failed=True)])

    assert told.status == 1
    assert told.lines[1].endswith("0900038C failed: HTTP 503")


def test_an_interrupted_demo_exits_130(registry: Registry) -> None:
    stopped = RunResult(night(registry, None).run_id, RunStatus.INTERRUPTED, {})

    assert verdict(registry, [stopped]).status == 130
    assert verdict(registry, []).status == 130


def test_a_clean_demo_says_every_record_was_written(registry: Registry) -> None:
    assert verdict(registry, [night(registry, None)]).lines == (
        "demo done: every tenant ran, every record was written",
    )


def test_intended_refusals_are_the_shared_values_only() -> None:
    assert intended(HOMONYM) == "username"
    assert intended("e-mail x is also the email of ent:y") == "email"
    assert intended("username 'A b' has characters Moodle refuses") is None


def test_next_steps_name_the_kept_farm_or_how_to_keep_it(tmp_path: Path) -> None:
    kept = next_steps(tmp_path, 1, "cfa-demo-66")
    gone = next_steps(None, 1, "cfa-demo-66")

    assert f"  farm --farm-dir {tmp_path} report 1 --failed" in "\n".join(kept)
    assert "schedule list --tenant cfa-demo-66" in "\n".join(kept)
    assert str(tmp_path) not in "\n".join(gone)
    assert any("farm demo --keep" in line for line in gone)
