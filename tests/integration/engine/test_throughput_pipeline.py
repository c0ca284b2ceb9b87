"""The applier keeps a site's call slots busy, and a registry failure fails the job cleanly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import httpx
import pytest

from farm.engine.events import Phase
from farm.model import Person
from farm.registry import database
from tests.integration.engine.conftest import (
    COLLEGE,
    LYCEE,
    Scenario,
    make_scenario,
    person,
)


def people(n: int, tenant: str = LYCEE) -> list[Person]:
    prefix = "L" if tenant == LYCEE else "C"
    return [person(f"{prefix}{i:04d}", tenant) for i in range(1, n + 1)]


def function_of(request: httpx.Request) -> str:
    for part in request.content.decode().split("&"):
        if part.startswith("wsfunction="):
            return part.split("=", 1)[1]
    return ""


class HeldFirstCreate(httpx.AsyncBaseTransport):
    """Holds the first account-creating call until ``release_after`` other creations answered."""

    def __init__(self, inner: httpx.AsyncBaseTransport, release_after: int) -> None:
        self.inner = inner
        self.release_after = release_after
        self.creates = 0
        self.answered = 0
        self.released = anyio.Event()
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if function_of(request) != "core_user_create_users":
                return await self.inner.handle_async_request(request)
            self.creates += 1
            if self.creates == 1:
                await self.released.wait()
                return await self.inner.handle_async_request(request)
            response = await self.inner.handle_async_request(request)
            self.answered += 1
            if self.answered >= self.release_after:
                self.released.set()
            return response
        finally:
            self.in_flight -= 1


async def test_a_slow_batch_does_not_hold_back_the_rest_of_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = make_scenario(
        tmp_path,
        f"sqlite:///{tmp_path / 'registry.db'}",
        monkeypatch,
        records_per_batch=10,
        calls_in_flight=3,
    )
    scenario.set_people(LYCEE, people(150))
    # The held call ends only once eight other batches went through: with a barrier
    # between groups of batches, the site would stop sending and the run would hang.
    held = HeldFirstCreate(scenario.sim.transport(), release_after=8)
    scenario.transport = held

    with anyio.fail_after(30):
        outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.SUCCEEDED
    assert outcome.tenants[LYCEE].counts["person.create"] == 150
    assert held.creates == 15
    assert held.peak == 3  # every slot used, never more than the site allows
    assert len(scenario.index("person")) == len(scenario.accounts()) == 150
    assert scenario.registry.index_entries("lycee-a", "cohort_member")


async def test_a_registry_failure_while_applying_fails_the_tenants_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    path = tmp_path / "registry.db"
    scenario = make_scenario(tmp_path, f"sqlite:///{path}", monkeypatch)
    scenario.set_people(LYCEE, people(60))
    scenario.set_people(COLLEGE, people(20, COLLEGE))
    # Another process's writer takes the registry after Moodle confirmed the first batches.
    blocker = sqlite3.connect(path, isolation_level=None)
    inner = scenario.sim.transport()

    class LockAfterTwoCreates(httpx.AsyncBaseTransport):
        creates = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)
            if function_of(request) == "core_user_create_users":
                self.creates += 1
                if self.creates == 2:
                    blocker.execute("BEGIN IMMEDIATE")
            return response

    scenario.transport = LockAfterTwoCreates()
    try:
        outcome = await scenario.sync()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    for tenant in (LYCEE, COLLEGE):
        found = outcome.tenants[tenant]
        assert found.phase is Phase.FAILED
        assert found.reason.startswith("registry: ")
        assert "database is locked" in found.reason
        assert "which the next run adopts" in found.reason
    recorded = len(scenario.index("person"))
    assert recorded < len(scenario.site.live_users())

    scenario.transport = None
    again = await scenario.sync()
    assert {o.phase for o in again.tenants.values()} == {Phase.SUCCEEDED}
    assert_converged(scenario, 80)


def assert_converged(scenario: Scenario, people_count: int) -> None:
    accounts = scenario.accounts()  # fails on a duplicate account
    index = scenario.index("person")
    assert len(accounts) == len(index) == people_count
    assert {e.moodle_id for e in index.values()} == {u.id for u in accounts.values()}
