"""The registry failing in the middle of a run: real faults, real jobs, the Moodle simulator.

A SQLite registry made read-only or full, a PostgreSQL one that stops taking
connections or whose writing session is terminated, just after Moodle
confirmed a batch (see ``tests/registry_faults.py``). Whatever the fault:

- the run returns a result (no exception), every tenant it hit failed with
  the registry's reason, naming what Moodle confirmed that went unrecorded;
- the run is finished in the registry by its own end-of-run retry when the
  registry came back in time, else by the next run, which says so;
- no lease is left behind for the next run to wait for;
- the next run converges: every person once, the index equal to Moodle, the
  unrecorded creations adopted, not created twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from farm.config import Farm
from farm.engine.coordinator import Coordinator, RunResult, SyncRequest
from farm.engine.events import Phase
from farm.engine.unfinished import NOTES
from farm.registry import Registry, RunStatus
from farm.simulators.moodle import MoodleSimulator
from tests.integration.coordinator import farmkit
from tests.registry_faults import AfterCreates, PostgresFaults, SqliteFaults

PEOPLE = 60  # per tenant: two tenants a site, batches of 20


@dataclass
class Fault:
    """A registry and one way to break it: ``arm`` breaks it, ``clear`` mends it."""

    name: str
    url: str
    registry: Registry
    arm: Callable[[], object]
    clear: Callable[[], object]


@pytest.fixture(params=["sqlite-read-only", "sqlite-full", "postgresql-down"])
def fault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fault]:
    """A fresh registry and its fault; the fault is cleared after the test."""
    kind: str = request.param
    if kind.startswith("sqlite"):
        path = tmp_path / "registry.db"
        url = f"sqlite:///{path}"
        registry = farmkit.open_registry(url)
        sqlite = SqliteFaults(path)
        arm = sqlite.read_only if kind == "sqlite-read-only" else sqlite.full
        made = Fault(kind, url, registry, arm, sqlite.clear)
        try:
            yield made
        finally:
            sqlite.clear()
            sqlite.close()
            registry.close()
        return
    url = request.getfixturevalue("postgres_url")
    registry = farmkit.open_registry(url)
    postgres = PostgresFaults(url)
    try:
        yield Fault(kind, url, registry, postgres.refuse_connections, postgres.allow_connections)
    finally:
        postgres.close()
        registry.close()


def fault_of(*names: str) -> pytest.MarkDecorator:
    """Run a test only with the faults named (the ``fault`` fixture's ids)."""
    marks = {"postgresql-down": [pytest.mark.postgres]}
    return pytest.mark.parametrize(
        "fault",
        [pytest.param(n, marks=marks.get(n, [])) for n in names],
        indirect=True,
    )


@dataclass
class World:
    farm: Farm
    sim: MoodleSimulator
    coordinator: Coordinator
    transport: AfterCreates

    @property
    def request(self) -> SyncRequest:
        return SyncRequest(tenants=tuple(self.farm.tenants.values()))

    def accounts(self) -> int:
        """Live accounts over every site; fails on a duplicate idnumber."""
        total = 0
        for site in self.sim.sites.values():
            ids = [u.idnumber for u in site.live_users()]
            assert len(ids) == len(set(ids)), f"duplicate accounts on {site.name}"
            total += len(ids)
        return total

    def indexed(self) -> int:
        return sum(
            len(self.coordinator.registry.index_entries(name, "person")) for name in self.farm.sites
        )


def world(tmp_path: Path, registry: Registry, action: Callable[[], object]) -> World:
    farm = farmkit.build_farm(tmp_path, "http://moodle.test", sites=2)
    sim = farmkit.simulator(farm)
    transport = AfterCreates(sim.transport(), action, n=3)
    coordinator = farmkit.coordinator(
        farm,
        registry,
        farmkit.Recorder(),
        farmkit.static_source(farm, PEOPLE),
        transport=transport,
    )
    return World(farm, sim, coordinator, transport)


def assert_failed_by_the_registry(result: RunResult, fault: Fault) -> None:
    assert result.registry_error is not None
    assert fault.registry.url in result.registry_error  # named, password masked
    hit = [o for o in result.tenants.values() if o.phase is Phase.FAILED]
    assert hit, result.tenants
    assert all(o.reason.startswith("registry: ") for o in hit), hit
    assert any("which the next run adopts" in o.reason for o in hit), hit
    assert any("Moodle confirmed on site site-0" in u for u in result.unrecorded)


def assert_converged(w: World, second: RunResult) -> None:
    """Every person once, the index equal to Moodle, what went unrecorded adopted."""
    assert second.status is RunStatus.SUCCEEDED, second
    assert w.accounts() == w.indexed() == PEOPLE * len(w.farm.tenants)
    adopted = sum(o.counts.get("person.adopt", 0) for o in second.tenants.values())
    assert adopted > 0  # the batches Moodle confirmed that the first run could not record


@fault_of("sqlite-read-only", "postgresql-down")
async def test_a_registry_failing_for_good_leaves_the_run_to_the_next_one(
    tmp_path: Path, token: str, fault: Fault
) -> None:
    w = world(tmp_path, fault.registry, fault.arm)
    w.coordinator.registry_retry = 0.5

    first = await w.coordinator.run(w.request)

    assert first.status is RunStatus.FAILED
    assert_failed_by_the_registry(first, fault)
    assert f"the end of run {first.run_id}, which the next run marks failed" in first.unrecorded
    assert any(u.startswith("the reports of ") for u in first.unrecorded)
    assert len(list((tmp_path / NOTES).glob("*.json"))) == 1

    fault.clear()
    created, recorded = w.accounts(), w.indexed()
    assert recorded < created
    assert fault.registry.get_run(first.run_id).status is RunStatus.RUNNING
    assert fault.registry.leases()  # the first run could not give them back

    with anyio.fail_after(30):
        second = await w.coordinator.run(w.request)

    # The next run finished the first one, said so, and took its leases back at once.
    message = f"run {first.run_id} was left running by a registry failure: marked failed"
    assert second.notes == (message,)
    left = fault.registry.get_run(first.run_id)
    assert left.status is RunStatus.FAILED
    assert (left.reason or "").startswith("left running by a registry failure: ")
    reports = fault.registry.get_report(first.run_id).tenants
    assert {r.tenant for r in reports} == set(w.farm.tenants)
    assert {r.status for r in reports} == {"failed"}
    assert not list((tmp_path / NOTES).glob("*.json"))
    assert {o.phase for o in second.tenants.values()} == {Phase.SUCCEEDED}
    assert fault.registry.leases() == []
    assert_converged(w, second)
    adopted = sum(o.counts.get("person.adopt", 0) for o in second.tenants.values())
    assert adopted == created - recorded


@fault_of("sqlite-full", "sqlite-read-only", "postgresql-down")
async def test_a_registry_back_within_the_retry_finishes_the_run_itself(
    tmp_path: Path, token: str, fault: Fault
) -> None:
    mend = threading.Timer(1.0, fault.clear)

    def arm_then_clear_soon() -> None:
        fault.arm()
        mend.start()

    w = world(tmp_path, fault.registry, arm_then_clear_soon)
    w.coordinator.registry_retry = 20.0

    with anyio.fail_after(60):
        first = await w.coordinator.run(w.request)

    # Recorded by the run itself, leases given back, nothing left for the next run.
    assert first.status in (RunStatus.FAILED, RunStatus.PARTIAL)
    recorded = fault.registry.get_run(first.run_id)
    assert recorded.status is first.status
    assert {r.tenant for r in fault.registry.get_report(first.run_id).tenants} == set(
        w.farm.tenants
    )
    assert fault.registry.leases() == []
    assert not (tmp_path / NOTES).exists() or not list((tmp_path / NOTES).iterdir())
    assert (recorded.reason or "").startswith("registry: ")
    assert_failed_by_the_registry(first, fault)
    assert not any(u.startswith("the end of run") for u in first.unrecorded)
    assert not any(u.startswith("the reports of") for u in first.unrecorded)

    mend.join()
    second = await w.coordinator.run(w.request)

    assert second.notes == ()
    assert_converged(w, second)


@pytest.mark.postgres
async def test_a_postgresql_session_killed_while_recording(
    tmp_path: Path, token: str, postgres_url: str
) -> None:
    registry = farmkit.open_registry(postgres_url)
    postgres = PostgresFaults(postgres_url)
    killers: list[threading.Thread] = []
    try:
        w = world(tmp_path, registry, lambda: killers.append(postgres.kill_next_index_write()))
        w.coordinator.registry_retry = 5.0

        with anyio.fail_after(60):
            first = await w.coordinator.run(w.request)

        assert postgres.killed, "no session was writing to the index"
        # The registry answered again at once: the run finished itself and gave its leases back.
        assert registry.get_run(first.run_id).status is first.status
        assert registry.leases() == []
        hit = [o for o in first.tenants.values() if o.phase is Phase.FAILED]
        assert hit
        assert all(o.reason.startswith("registry: ") for o in hit)
        # The kill cuts every session waiting on the locked index: a job still reading
        # its index fails too, with nothing unrecorded; the writers say what they left.
        assert any("which the next run adopts" in o.reason for o in hit), hit
        assert first.registry_error is not None
        assert "terminating connection due to administrator command" in first.registry_error
        created, recorded = w.accounts(), w.indexed()
        assert recorded < created

        second = await w.coordinator.run(w.request)

        assert second.status is RunStatus.SUCCEEDED
        assert w.accounts() == w.indexed() == PEOPLE * len(w.farm.tenants)
        adopted = sum(o.counts.get("person.adopt", 0) for o in second.tenants.values())
        assert adopted == created - recorded
    finally:
        for killer in killers:
            killer.join(timeout=30)
        postgres.close()
        registry.close()
