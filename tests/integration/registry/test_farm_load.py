"""Loading the TOML farm into the registry: idempotent, and it says what changed."""

from __future__ import annotations

from pathlib import Path

from farm.registry import Registry, RunTrigger, TenantReport, TenantStatus
from tests.integration.registry.farms import build_farm

A, B, C = "0750001A", "0750002B", "0750003C"


def test_first_load_adds_sites_and_tenants_and_a_second_load_changes_nothing(
    registry: Registry, tmp_path: Path
) -> None:
    farm = build_farm(tmp_path, {"lyc-a": {A: "Lycée A", B: "Lycée B"}, "clg": {C: "Collège C"}})
    first = registry.load_farm(farm)
    assert first.lines() == [
        "site clg: added",
        "site lyc-a: added",
        f"tenant {A}: added on site lyc-a",
        f"tenant {B}: added on site lyc-a",
        f"tenant {C}: added on site clg",
    ]
    again = registry.load_farm(farm)
    assert not again.changed
    assert again.lines() == []
    assert [t.id for t in registry.registered_tenants()] == [A, B, C]
    site = registry.registered_sites()[1]
    assert (site.name, site.url, site.file) == ("lyc-a", "https://lyc-a.example.org", "lyc-a.toml")


def test_a_moved_tenant_is_reported_and_its_history_kept(
    registry: Registry, tmp_path: Path
) -> None:
    registry.load_farm(build_farm(tmp_path, {"lyc-a": {A: "Lycée A", B: "Lycée B"}, "clg": {}}))
    run = registry.start_run(trigger=RunTrigger.BATCH)
    registry.record_tenant_report(
        run, TenantReport(tenant=B, site="lyc-a", status=TenantStatus.SUCCEEDED)
    )

    changes = registry.load_farm(
        build_farm(tmp_path, {"lyc-a": {A: "Lycée A"}, "clg": {B: "Lycée B"}})
    )

    assert changes.lines() == [f"tenant {B}: moved from site lyc-a to site clg"]
    tenant = {t.id: t for t in registry.registered_tenants()}[B]
    assert tenant.site == "clg"
    assert [(h.change, dict(h.detail)) for h in registry.tenant_history(B)] == [
        ("added", {"site": "lyc-a"}),
        ("moved", {"site": "clg", "from_site": "lyc-a"}),
    ]
    # The old run still says where the tenant was then.
    assert registry.get_report(run, B).tenants[0].site == "lyc-a"


def test_a_removed_tenant_is_kept_marked_removed_and_can_come_back(
    registry: Registry, tmp_path: Path
) -> None:
    registry.load_farm(build_farm(tmp_path, {"lyc-a": {A: "Lycée A", B: "Lycée B"}}))
    run = registry.start_run(trigger=RunTrigger.BATCH)
    registry.record_tenant_report(
        run, TenantReport(tenant=B, site="lyc-a", status=TenantStatus.FAILED, reason="LDAP down")
    )

    removed = registry.load_farm(build_farm(tmp_path, {"lyc-a": {A: "Lycée A"}}))

    assert removed.lines() == [f"tenant {B}: removed from site lyc-a (its history is kept)"]
    assert [t.id for t in registry.registered_tenants()] == [A]
    kept = {t.id: t for t in registry.registered_tenants(include_removed=True)}[B]
    assert kept.removed_at is not None
    assert registry.get_report(run, B).tenants[0].reason == "LDAP down"
    assert not registry.load_farm(build_farm(tmp_path, {"lyc-a": {A: "Lycée A"}})).changed

    back = registry.load_farm(build_farm(tmp_path, {"lyc-a": {A: "Lycée A", B: "Lycée B"}}))
    assert back.lines() == [f"tenant {B}: restored on site lyc-a"]
    assert [h.change for h in registry.tenant_history(B)] == ["added", "removed", "restored"]


def test_renamed_tenants_and_removed_sites_are_reported(registry: Registry, tmp_path: Path) -> None:
    registry.load_farm(build_farm(tmp_path, {"lyc-a": {A: "Lycée A"}, "old": {C: "Collège C"}}))
    changes = registry.load_farm(build_farm(tmp_path, {"lyc-a": {A: "Lycée Arago"}}))
    assert changes.lines() == [
        "site old: removed",
        f"tenant {A}: updated on site lyc-a (name)",
        f"tenant {C}: removed from site old (its history is kept)",
    ]
    assert [s.name for s in registry.registered_sites()] == ["lyc-a"]
    assert [s.name for s in registry.registered_sites(include_removed=True)] == ["lyc-a", "old"]


def test_a_dry_run_reports_changes_and_writes_nothing(registry: Registry, tmp_path: Path) -> None:
    farm = build_farm(tmp_path, {"lyc-a": {A: "Lycée A"}})
    dry = registry.load_farm(farm, dry_run=True)
    assert dry.lines() == ["site lyc-a: added", f"tenant {A}: added on site lyc-a"]
    assert registry.registered_sites() == []
    assert registry.registered_tenants() == []
    assert registry.load_farm(farm) == dry
