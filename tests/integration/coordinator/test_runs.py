"""The coordinator in one process: fan-out per site, failures kept inside their site, stop."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio

from farm.engine.coordinator import SyncRequest
from farm.engine.events import Event, EventKind, Phase
from farm.moodle.settings import MoodleLimits
from farm.registry import Registry, RunStatus
from farm.simulators.moodle import CostModel, Faults
from tests.integration.coordinator import farmkit

READS = ("get", "search")


def writes(sim_site: object) -> int:
    calls = getattr(sim_site, "calls")  # noqa: B009  (Counter of function names)
    return sum(n for name, n in calls.items() if not any(w in name for w in READS))


async def test_every_site_syncs_and_a_rerun_writes_nothing(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=3)
    sim = farmkit.simulator(farm)
    source = farmkit.static_source(farm, 30)
    events = farmkit.Recorder()
    run = farmkit.coordinator(farm, registry, events, source, transport=sim.transport())
    request = SyncRequest(tenants=tuple(farm.tenants.values()))

    first = await run.run(request)

    assert first.status is RunStatus.SUCCEEDED
    assert {o.phase for o in first.tenants.values()} == {Phase.SUCCEEDED}
    assert all(len(site.live_users()) == 60 for site in sim.sites.values())
    assert registry.get_run(first.run_id).status is RunStatus.SUCCEEDED
    assert registry.leases() == []
    before = {name: writes(site) for name, site in sim.sites.items()}

    second = await run.run(request)

    assert second.status is RunStatus.SUCCEEDED
    assert {name: writes(site) for name, site in sim.sites.items()} == before
    kinds = [e.kind for e in events.events if e.run_id == second.run_id]
    assert kinds[0] is EventKind.RUN_STARTED
    assert kinds[-1] is EventKind.RUN_FINISHED


async def test_a_failing_site_fails_alone_and_does_not_hold_back_the_others(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    limits = MoodleLimits(records_per_batch=20, calls_in_flight=2, retries=1, timeout=1.0)
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=4, limits=limits)
    sim = farmkit.simulator(farm, CostModel(per_call=0.005))
    # site-01 hangs on every call: its job times out and retries while the others work.
    sim.sites["site-01"].faults = Faults(timeout=1.0, hang_seconds=3.0)
    events = farmkit.Recorder()
    run = farmkit.coordinator(
        farm, registry, events, farmkit.static_source(farm, 30), transport=sim.transport()
    )

    result = await run.run(SyncRequest(tenants=tuple(farm.tenants.values())))

    assert result.status is RunStatus.PARTIAL
    failed = {t for t, o in result.tenants.items() if o.phase is Phase.FAILED}
    assert failed == {t.id for t in farm.sites["site-01"].tenants}
    assert all(o.reason for t, o in result.tenants.items() if t in failed)
    finals = [e for e in events.events if e.phase is not None and e.phase.final]
    # The healthy sites were done before the broken one gave up retrying.
    last_good = max(i for i, e in enumerate(finals) if e.site != "site-01")
    first_bad = min(i for i, e in enumerate(finals) if e.site == "site-01")
    assert last_good < first_bad
    assert registry.leases() == []


async def test_a_busy_tenant_is_refused_naming_its_holder(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=2)
    sim = farmkit.simulator(farm)
    busy = farmkit.tenant_id(0, 1)
    registry.acquire_lease(f"tenant:{busy}", "cron-host:4242:abc", timedelta(minutes=5))
    run = farmkit.coordinator(
        farm,
        registry,
        farmkit.Recorder(),
        farmkit.static_source(farm, 5),
        transport=sim.transport(),
    )

    result = await run.run(SyncRequest(tenants=tuple(farm.tenants.values())))

    assert result.status is RunStatus.PARTIAL
    refused = result.tenants[busy]
    assert refused.phase is Phase.SKIPPED
    assert "held by a run on cron-host (process 4242) since" in refused.reason
    assert "cron-host:4242:abc" not in refused.reason
    # The whole site waits for its tenant; the other site went ahead.
    assert result.tenants[farmkit.tenant_id(0, 0)].phase is Phase.SKIPPED
    assert result.tenants[farmkit.tenant_id(1, 0)].phase is Phase.SUCCEEDED
    assert sim.sites["site-00"].live_users() == []
    report = registry.get_report(result.run_id, busy).tenants[0]
    assert "held by a run on cron-host (process 4242)" in (report.reason or "")
    assert [lease.key for lease in registry.leases()] == [f"tenant:{busy}"]


async def test_stopping_mid_batch_leaves_an_index_equal_to_moodle(
    tmp_path: Path, registry: Registry, token: str
) -> None:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=2)
    sim = farmkit.simulator(farm, CostModel(per_call=0.01))
    events = farmkit.Recorder()
    run = farmkit.coordinator(
        farm, registry, events, farmkit.static_source(farm, 200), transport=sim.transport()
    )
    original = events.publish
    first_run: list[int] = []

    def stop_when_applying(event: Event) -> None:
        original(event)
        if event.kind is EventKind.RUN_STARTED and not first_run:
            first_run.append(event.run_id)
        if event.kind is EventKind.PROGRESS and (event.done or 0) > 0 and event.run_id in first_run:
            run.stop.set()

    events.publish = stop_when_applying  # type: ignore[method-assign]
    request = SyncRequest(tenants=tuple(farm.tenants.values()))

    with anyio.fail_after(60):
        stopped = await run.run(request)

    assert stopped.status is RunStatus.INTERRUPTED
    assert registry.get_run(stopped.run_id).status is RunStatus.INTERRUPTED
    assert Phase.INTERRUPTED in {o.phase for o in stopped.tenants.values()}
    assert registry.leases() == []
    for name, site in sim.sites.items():
        live = {u.idnumber for u in site.live_users()}
        indexed = {e.values.get("idnumber") for e in registry.index_entries(name, "person")}
        assert indexed == live
        assert len(live) < 400  # it did stop early
    # A new run picks up where it stopped: every account once, nothing duplicated.
    run.stop = anyio.Event()
    resumed = await run.run(request)
    assert resumed.status is RunStatus.SUCCEEDED
    for site in sim.sites.values():
        ids = [u.idnumber for u in site.live_users()]
        assert len(ids) == len(set(ids)) == 400
