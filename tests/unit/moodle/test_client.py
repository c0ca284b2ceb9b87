"""The client against the in-process simulator: batches, limits, retries, adoption, secrets."""

from __future__ import annotations

import logging

import pytest
import structlog

from farm.moodle import (
    BatchResult,
    FunctionNotAvailable,
    MoodleClient,
    MoodleLimits,
    NewCohort,
    NewUser,
    TransientError,
)
from farm.secrets import Secret
from farm.simulators.moodle import CostModel, Faults, MoodleSimulator

TOKEN = "s3cr3t-t0ken-a1b2c3d4e5"


def site_and_client(
    limits: MoodleLimits | None = None, **settings: object
) -> tuple[MoodleSimulator, MoodleClient]:
    sim = MoodleSimulator()
    sim.add_site("lycee", token=TOKEN, **settings)  # type: ignore[arg-type]
    client = MoodleClient(
        "lycee", sim.url("lycee"), Secret(TOKEN), limits, transport=sim.transport()
    )
    return sim, client


def people(count: int, start: int = 0) -> list[NewUser]:
    # Single-sign-on accounts: Moodle needs no password for them.
    return [
        NewUser(f"u{i}", "F", "L", f"u{i}@example.org", auth="oauth2")
        for i in range(start, start + count)
    ]


async def test_results_reach_on_batch_one_batch_at_a_time() -> None:
    sim, client = site_and_client(MoodleLimits(records_per_batch=10))
    seen: list[BatchResult[NewUser]] = []

    async def record(batch: BatchResult[NewUser]) -> None:
        seen.append(batch)

    async with client:
        result = await client.create_users(people(35), on_batch=record)
    assert sorted(len(b.confirmed) for b in seen) == [
        5,
        10,
        10,
        10,
    ]
    assert len(result.confirmed) == 35
    site = sim.sites["lycee"]
    assert {c.id for c in result.confirmed} == {u.id for u in site.live_users()}


async def test_calls_in_flight_bound_the_site_concurrency() -> None:
    sim, client = site_and_client(
        MoodleLimits(records_per_batch=5, calls_in_flight=3),
        cost=CostModel(per_call=0.02, workers=50),
    )
    site = sim.sites["lycee"]
    async with client:
        result = await client.create_users(people(60))
    assert len(result.confirmed) == 60
    assert site.peak_in_flight == 3


async def test_the_simulated_site_serves_at_most_its_workers_at_once() -> None:
    sim, client = site_and_client(
        MoodleLimits(records_per_batch=5, calls_in_flight=8),
        cost=CostModel(per_call=0.02, workers=2),
    )
    site = sim.sites["lycee"]
    async with client:
        await client.create_users(people(40))
    assert site.peak_in_flight == 8
    assert site.peak_working == 2


async def test_transient_failures_are_retried_and_nothing_is_lost_or_duplicated() -> None:
    sim, client = site_and_client(
        MoodleLimits(records_per_batch=10, retries=20, timeout=0.5),
        faults=Faults(bad_gateway=0.15, unavailable=0.15, drop=0.1, timeout=0.1, hang_seconds=5),
        seed=7,
    )
    async with client:
        result = await client.create_users(people(200))
    site = sim.sites["lycee"]
    assert client.retries > 0
    assert len(result.confirmed) == 200
    assert result.failed == []
    assert sorted(u.username for u in site.live_users()) == sorted(f"u{i}" for i in range(200))
    assert any(c.adopted for c in result.confirmed)


async def test_a_create_whose_answer_was_lost_is_adopted_not_duplicated() -> None:
    sim, client = site_and_client(
        MoodleLimits(timeout=0.2, retries=3),
        faults=Faults(timeout=1.0, hang_seconds=5, remaining=1),
    )
    site = sim.sites["lycee"]
    async with client:
        result = await client.create_users(people(5))
        site.faults.remaining = 1
        cohorts = await client.create_cohorts([NewCohort("farm-3a", "3A")])
    assert [c.adopted for c in result.confirmed] == [True] * 5
    assert {c.id for c in result.confirmed} == {u.id for u in site.live_users()}
    assert len(site.live_users()) == 5
    assert [c.adopted for c in cohorts.confirmed] == [True]
    assert len(site.cohorts) == 1


async def test_a_retry_never_adopts_someone_elses_account_that_shares_the_username() -> None:
    """Issue 12: a 502 on the second create, then "Username already exists" on its retry."""
    sim, client = site_and_client(MoodleLimits(retries=3))
    site = sim.sites["lycee"]
    first = NewUser("jdupont", "Jean", "Dupont", "jean@example.org", "oauth2", "ID-JEAN")
    second = NewUser("jdupont", "Julie", "Dupont", "julie@example.org", "oauth2", "ID-JULIE")
    async with client:
        await client.create_users([first])
        site.faults = Faults(bad_gateway=1.0, remaining=1)
        result = await client.create_users([second])
    assert result.confirmed == []
    assert [f.item.idnumber for f in result.failed] == ["ID-JULIE"]
    (account,) = site.live_users()
    assert (account.idnumber, account.firstname) == ("ID-JEAN", "Jean")


async def test_a_lookup_batch_moodle_refuses_is_split_and_the_others_are_found() -> None:
    """Issue 12: one username Moodle cannot take (a space) failed every lookup of its batch."""
    _, client = site_and_client()
    async with client:
        await client.create_users(people(6))
        found = await client.get_users_by_field(
            "username", ["u0", "u1", "jean dupont", "u2", "u3", "u4", "u5"]
        )
    assert sorted(u.username for u in found) == ["u0", "u1", "u2", "u3", "u4", "u5"]


async def test_adopt_existing_takes_over_accounts_a_crashed_run_created() -> None:
    sim, client = site_and_client()
    async with client:
        first = await client.create_users(people(4))
        again = await client.create_users(people(6), adopt_existing=True)
    assert {c.id for c in again.confirmed if c.adopted} == {c.id for c in first.confirmed}
    assert sum(not c.adopted for c in again.confirmed) == 2
    assert len(sim.sites["lycee"].live_users()) == 6


async def test_retries_are_bounded_and_end_in_a_transient_error() -> None:
    _, client = site_and_client(MoodleLimits(retries=2), faults=Faults(unavailable=1.0))
    async with client:
        with pytest.raises(TransientError, match="HTTP 503"):
            await client.site_info()
    assert client.calls == 3


async def test_the_token_never_appears_in_logs_reprs_exceptions_or_results(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    structlog.reset_defaults()  # whatever an earlier test configured: log everything
    structlog.configure(logger_factory=structlog.stdlib.LoggerFactory())
    try:
        caplog.set_level(logging.DEBUG)
        _, client = site_and_client(
            MoodleLimits(retries=1, timeout=0.2), faults=Faults(unavailable=0.5, drop=0.5), seed=3
        )
        texts = [repr(client), str(client)]
        async with client:
            with pytest.raises(TransientError) as caught:
                await client.create_users(people(3))
            texts += [str(caught.value), repr(caught.value)]
        bad = MoodleClient(
            "x", "http://127.0.0.1:9", Secret(TOKEN), MoodleLimits(retries=0, timeout=1)
        )
        async with bad:
            with pytest.raises(TransientError) as refused:
                await bad.site_info()
        texts += [str(refused.value), repr(refused.value)]
    finally:
        structlog.reset_defaults()
    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    assert caplog.records
    assert not [t for t in texts if TOKEN in t]


async def test_a_delete_whose_answer_was_lost_counts_as_done_on_retry() -> None:
    sim, client = site_and_client(MoodleLimits(timeout=0.2, retries=2))
    site = sim.sites["lycee"]
    async with client:
        created = await client.create_users(people(6))
        ids = [c.id for c in created.confirmed if c.id is not None]
        site.faults = Faults(timeout=1.0, hang_seconds=5, remaining=1)
        result = await client.delete_users(ids)
    assert sorted(c.item for c in result.confirmed) == sorted(ids)
    assert all(c.adopted for c in result.confirmed)
    assert result.failed == []
    assert site.live_users() == []


async def test_site_errors_stop_the_operation_and_name_the_function() -> None:
    sim, client = site_and_client(MoodleLimits(records_per_batch=5))
    site = sim.sites["lycee"]
    site.tokens[TOKEN] -= {"core_user_create_users"}
    async with client:
        with pytest.raises(FunctionNotAvailable, match="core_user_create_users"):
            await client.create_users(people(50))
    # The first four batches were in flight; the six others never started.
    assert site.calls["core_user_create_users"] == 4
