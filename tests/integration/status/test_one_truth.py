"""One registry, every view, the same answer state by state (issue 13, "done when").

The registry holds six tenants of the demo farm: failed, partial,
interrupted, skipped, never run, ok. ``farm status`` (table, JSON,
Prometheus, exit code), ``farm runs`` (JSON and table), ``farm report``, the
dashboard's view-model, bar and filters, and ``farm watch``'s lines must
agree. Before issue 13: ``farm status`` said ``ok`` for the partial,
interrupted and skipped tenants and exited 0, the dashboard's bar counted
the interrupted one as failed, ``farm runs --status failed`` said "No failed
runs." with no word about the partial and interrupted ones, and ``farm
watch`` called the partial tenant ``succeeded``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from farm.cli import main
from farm.cli.status import line
from farm.config import load_farm
from farm.engine.events import Event, EventKind, Phase
from farm.registry import (
    RefusedRecord,
    Registry,
    RunId,
    RunStatus,
    RunTrigger,
    TenantReport,
    TenantStatus,
)
from farm.tui.feed import RegistryFeed
from farm.tui.filter import Filter
from farm.tui.view import FarmView

SHIPPED = Path(__file__).resolve().parents[3] / "tenants"
EXPECTED = {
    "0340041K": "failed",
    "0341921D": "partial",
    "0342225J": "interrupted",
    "0310024H": "skipped",
    "0311902Z": "never",
    "0300027S": "succeeded",
}
LEVELS = {
    "failed": "critical",
    "never": "critical",
    "partial": "warning",
    "interrupted": "warning",
    "skipped": "ok",
    "succeeded": "ok",
}


def fill(registry: Registry, farm_sites: dict[str, str]) -> RunId:
    def report(run: RunId, tenant: str, status: TenantStatus, errors: int = 0) -> None:
        registry.record_tenant_report(
            run,
            TenantReport(
                tenant=tenant,
                site=farm_sites[tenant],
                status=status,
                reason=None if status is TenantStatus.SUCCEEDED else f"{status.value}: why",
                errors=tuple(RefusedRecord(f"sdet:{i}", "Invalid e-mail") for i in range(errors)),
            ),
        )

    first = registry.start_run(trigger=RunTrigger.BATCH, selection={"tenants": list(EXPECTED)})
    for tenant in EXPECTED:
        if tenant != "0311902Z":
            report(first, tenant, TenantStatus.SUCCEEDED)
    registry.finish_run(first, RunStatus.SUCCEEDED)
    second = registry.start_run(trigger=RunTrigger.BATCH, selection={"tenants": list(EXPECTED)})
    report(second, "0340041K", TenantStatus.FAILED)
    report(second, "0341921D", TenantStatus.PARTIAL, errors=1)
    report(second, "0342225J", TenantStatus.INTERRUPTED)
    report(second, "0310024H", TenantStatus.SKIPPED)
    registry.finish_run(second, RunStatus.INTERRUPTED)
    # The morning's delta succeeds everywhere it runs: it must change nothing above.
    delta = registry.start_run(
        trigger=RunTrigger.SCHEDULE,
        selection={"tenants": ["0340041K", "0341921D"], "task": "delta"},
        options={"delta": True},
    )
    report(delta, "0340041K", TenantStatus.SUCCEEDED)
    report(delta, "0341921D", TenantStatus.SUCCEEDED)
    registry.finish_run(delta, RunStatus.SUCCEEDED)
    return second


def test_every_view_agrees_state_by_state(tmp_path: Path) -> None:
    farm_dir = tmp_path / "tenants"
    shutil.copytree(SHIPPED, farm_dir, ignore=shutil.ignore_patterns("var"))
    farm = load_farm(farm_dir)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = Registry.open(url, check=False, create=True)
    registry.upgrade()
    registry.load_farm(farm)
    second = fill(registry, {t: farm.tenants[t].site for t in EXPECTED})
    runner = CliRunner()
    cli = ["--farm-dir", str(farm_dir)]
    tenant_args = [arg for t in EXPECTED for arg in ("--tenant", t)]

    # farm status --json, and its exit code: 2, a critical tenant.
    status = runner.invoke(main, [*cli, "status", "--json", "--registry", url, *tenant_args])
    assert status.exit_code == 2, status.output
    shown = {s["tenant"]: s for s in json.loads(status.output)}
    assert {t: s["state"] for t, s in shown.items()} == EXPECTED
    assert {t: s["level"] for t, s in shown.items()} == {t: LEVELS[s] for t, s in EXPECTED.items()}
    assert list(shown)[:2] == ["0340041K", "0311902Z"]  # critical first
    assert shown["0340041K"]["last_run_at"].endswith(("+01:00", "+02:00"))  # Europe/Paris

    # The table says the same states and why, with the farm's zone in the header.
    table = runner.invoke(main, [*cli, "status", "--registry", url, *tenant_args])
    assert "Europe/Paris" in table.output
    assert f"look closer: farm report {second} --tenant 0340041K" in table.output

    # Prometheus: one state sample per tenant, the same level numbers.
    prom = runner.invoke(main, [*cli, "status", "--prometheus", "--registry", url, *tenant_args])
    for tenant, state in EXPECTED.items():
        assert f'tenant="{tenant}",state="{state}"}} 1' in prom.output
    assert (
        'farm_tenant_status_level{farm="Occitanie demo farm",site="cite-clemenceau' in prom.output
    )

    # farm runs: the second run's tenants counted by the same names.
    runs = json.loads(runner.invoke(main, [*cli, "runs", "--json", "--registry", url]).output)
    by_id = {r["id"]: r for r in runs}
    assert by_id[second]["tenants"]["by_state"] == {
        "failed": 1,
        "interrupted": 1,
        "partial": 1,
        "skipped": 1,
    }
    none = runner.invoke(main, [*cli, "runs", "--status", "failed", "--registry", url])
    assert "No failed runs among the last 3 (1 interrupted: farm runs --status not-ok)." in (
        none.output
    )
    not_ok = runner.invoke(main, [*cli, "runs", "--status", "not-ok", "--json", "--registry", url])
    assert [r["id"] for r in json.loads(not_ok.output)] == [second]

    # The dashboard: its rows, bar and filters from the same computation.
    feed = RegistryFeed(registry, farm)
    tenants = [t for t in feed.tenants() if t.id in EXPECTED]
    view = FarmView(
        tenants,
        feed.last_reports([t.id for t in tenants]),
        health=feed.health(tenants),
        where=feed.zone,
    )
    assert {t: r.state.value for t, r in view.rows.items()} == EXPECTED
    bar = view.summary()
    assert (bar.failed, bar.partial, bar.interrupted, bar.skipped, bar.never, bar.succeeded) == (
        1,
        1,
        1,
        1,
        1,
        1,
    )
    for state in set(EXPECTED.values()):
        assert view.visible(Filter.parse(f"state:{state}")) == [
            t for t in sorted(EXPECTED) if EXPECTED[t] == state
        ]
    assert sorted(view.visible(Filter.parse("state:not-ok"))) == sorted(
        t for t, s in EXPECTED.items() if s in ("failed", "partial", "interrupted")
    )

    # farm watch: a job that succeeded with a refused record is partial there too.
    event = Event(
        RunId(second),
        EventKind.PHASE,
        site="cite-clemenceau",
        tenant="0341921D",
        phase=Phase.SUCCEEDED,
        counts={"errors": 1},
    )
    assert " partial" in line(event)
    registry.close()
