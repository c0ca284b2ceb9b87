"""A flaky or dead NetYpareo: retries that lose nothing, failures that touch no one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from farm.model import TenantSnapshot
from farm.simulators.netypareo.app import hostile_answer
from farm.sources import ReadRequest, SourceError
from farm.sources.netypareo import NetYpareoSource, NetYpareoTenant
from tests.fixtures.netypareo import NETYPAREO_REFERENCE_DATE, ServedNetYpareo

SourceFactory = Callable[..., NetYpareoSource]
TENANTS = [
    NetYpareoTenant("cfa-occ-montpellier", "34", 0),
    NetYpareoTenant("cfa-occ-nimes", "66", 2),
]


@pytest.fixture
async def make_source(netypareo: ServedNetYpareo) -> AsyncIterator[SourceFactory]:
    made: list[NetYpareoSource] = []

    def make(**overrides: Any) -> NetYpareoSource:
        source = NetYpareoSource("occ", netypareo.settings(**overrides), TENANTS)
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()


async def read(source: NetYpareoSource) -> dict[str, TenantSnapshot]:
    request = ReadRequest(
        tenants=tuple(t.id for t in TENANTS),
        run_date=NETYPAREO_REFERENCE_DATE,
    )
    return dict((await source.read(request)).snapshots)


@pytest.fixture
async def healthy(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> dict[str, TenantSnapshot]:
    """What a read gives when nothing goes wrong."""
    snapshots = await read(make_source())
    netypareo.simulator.stats.reset()
    return snapshots


async def test_a_502_burst_is_survived_with_nothing_lost(
    netypareo: ServedNetYpareo, make_source: SourceFactory, healthy: dict[str, TenantSnapshot]
) -> None:
    source = make_source(retries=5)
    await source.refresh_reference()  # loaded, so the burst hits the per-site calls
    netypareo.simulator.faults.fail_next = 5
    snapshots = await read(source)
    assert netypareo.simulator.stats.faults["502"] == 5
    assert snapshots == healthy


async def test_bursts_spread_over_the_read_are_each_retried_where_they_hit(
    netypareo: ServedNetYpareo, make_source: SourceFactory, healthy: dict[str, TenantSnapshot]
) -> None:
    source = make_source(retries=3)
    for status in (502, 503, 504):
        netypareo.simulator.faults.fail_status = status
        netypareo.simulator.faults.fail_next = 3
        assert await read(source) == healthy
        assert netypareo.simulator.stats.faults[str(status)] == 3


async def test_truncated_bodies_are_retried(
    netypareo: ServedNetYpareo, make_source: SourceFactory, healthy: dict[str, TenantSnapshot]
) -> None:
    source = make_source(retries=3)
    await source.refresh_reference()
    netypareo.simulator.faults.truncate_next = 2
    assert await read(source) == healthy
    assert netypareo.simulator.stats.faults["truncated"] == 2


async def test_truncated_bodies_that_persist_fail_with_a_clear_reason(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    source = make_source(retries=2)
    await source.refresh_reference()
    netypareo.simulator.faults.truncate_next = 100
    with pytest.raises(SourceError) as failure:
        await read(source)
    assert "NetYpareo endpoint occ" in str(failure.value)
    assert "after 3 attempt(s): the answer is not well-formed XML (truncated body?)" in str(
        failure.value
    )
    assert "<" not in str(failure.value)  # no body in the reason


@pytest.mark.parametrize("kind", ["billion-laughs", "xxe"])
async def test_a_hostile_answer_is_refused_as_hostile_at_the_first_attempt(
    netypareo: ServedNetYpareo, make_source: SourceFactory, kind: str
) -> None:
    source = make_source(retries=5)
    await source.refresh_reference()
    netypareo.simulator.faults.hostile_kind = kind
    netypareo.simulator.faults.hostile_next = 100
    with pytest.raises(SourceError) as failure:
        await read(source)
    reason = str(failure.value)
    assert reason.startswith(
        "NetYpareo endpoint occ, tenant cfa-occ-montpellier: getSites() refused as hostile XML "
        "(DTD / entity declarations"
    )
    assert reason.endswith("; not retried")
    assert "truncated" not in reason
    assert "lol" not in reason  # nothing of the body
    assert "passwd" not in reason
    assert netypareo.simulator.stats.faults["hostile"] == 1  # one attempt, not six
    assert netypareo.simulator.faults.hostile_next == 99


async def test_a_persistent_502_fails_the_read_naming_endpoint_tenant_and_operation(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    source = make_source(retries=2)
    await source.refresh_reference()
    netypareo.simulator.faults.fail_next = 1000
    with pytest.raises(SourceError) as failure:
        await read(source)
    reason = str(failure.value)
    assert reason == (
        "NetYpareo endpoint occ, tenant cfa-occ-montpellier: getSites() failed after 3 attempt(s): "
        "HTTP 502"
    )
    assert netypareo.simulator.stats.faults["502"] == 3


async def test_an_answer_too_big_for_the_service_fails_the_read_with_no_partial_snapshot(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    source = make_source(retries=1)
    await source.refresh_reference()
    # Sites and groups fit; a group's learners (8) make the PHP worker die.
    netypareo.simulator.faults.max_items = 3
    with pytest.raises(
        SourceError,
        match=r"tenant cfa-occ-montpellier: getApprenantsGroupe\(codeSite=34, codeGroupe=\d+\) "
        r"failed after 2 attempt\(s\): HTTP 502",
    ):
        await read(source)


async def test_slow_answers_time_out_then_fail(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    netypareo.simulator.faults.delay = 0.5
    source = make_source(timeout=0.1, retries=1)
    with pytest.raises(SourceError, match=r"after 2 attempt\(s\): no complete answer within 0.1 s"):
        await read(source)


async def test_slow_answers_within_the_timeout_are_fine(
    netypareo: ServedNetYpareo, make_source: SourceFactory, healthy: dict[str, TenantSnapshot]
) -> None:
    netypareo.simulator.faults.delay = 0.02
    assert await read(make_source(timeout=2.0)) == healthy


async def test_a_dead_service_fails_clearly_and_fast(
    make_source: SourceFactory, dead_url: str
) -> None:
    source = make_source(wsdl=f"{dead_url}/ws?wsdl", retries=2)
    with pytest.raises(SourceError) as failure:
        await read(source)
    reason = str(failure.value)
    assert reason.startswith(f"NetYpareo endpoint occ: cannot load the WSDL {dead_url}/ws?wsdl")
    assert "ConnectError" in reason


@pytest.fixture
def pinned_wsdl(netypareo: ServedNetYpareo, tmp_path: Path) -> Path:
    pinned = tmp_path / "netypareo.wsdl"
    pinned.write_text(httpx.get(netypareo.wsdl_url).text, encoding="utf-8")
    return pinned


async def test_a_dead_endpoint_behind_a_pinned_wsdl_fails_clearly(
    make_source: SourceFactory, dead_url: str, pinned_wsdl: Path
) -> None:
    source = make_source(wsdl=str(pinned_wsdl), endpoint=f"{dead_url}/ws", retries=1)
    with pytest.raises(SourceError, match=r"occ, tenant cfa-occ-montpellier: getStatuts\(\) failed "
                       r"after 2 attempt\(s\): transport error \(ConnectError"):  # fmt: skip
        await read(source)


@pytest.fixture
def hostile_wsdl(pinned_wsdl: Path) -> Path:
    """The pinned WSDL with the DTD of a billion-laughs answer in its prolog."""
    text = pinned_wsdl.read_text(encoding="utf-8")
    bomb = hostile_answer("getSites", "billion-laughs").decode().split("\n")[1]  # the DOCTYPE
    pinned_wsdl.write_text(text.replace("?>", f"?>\n{bomb}", 1), encoding="utf-8")
    return pinned_wsdl


async def test_a_hostile_wsdl_is_refused_as_hostile(
    make_source: SourceFactory, hostile_wsdl: Path
) -> None:
    source = make_source(wsdl=str(hostile_wsdl), retries=5)
    with pytest.raises(SourceError) as failure:
        await read(source)
    assert str(failure.value) == (
        f"NetYpareo endpoint occ: the WSDL {hostile_wsdl} was refused as hostile XML "
        "(DTD / entity declarations: a document type declaration); not retried"
    )


async def test_a_service_down_answering_503_fails_the_read(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    source = make_source(retries=2)
    await source.refresh_reference()
    netypareo.simulator.faults.down = True
    with pytest.raises(SourceError, match=r"getSites\(\) failed after 3 attempt\(s\): HTTP 503"):
        await read(source)


async def test_a_refused_token_is_not_retried_and_never_shown(
    netypareo: ServedNetYpareo,
    make_source: SourceFactory,
    pinned_wsdl: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    netypareo.simulator.token = "right-token"
    monkeypatch.setenv("NY_TOKEN", "wrong-token")
    source = make_source(wsdl=str(pinned_wsdl), token="env:NY_TOKEN", retries=5)
    with pytest.raises(SourceError) as failure:
        await read(source)
    assert str(failure.value).endswith("getStatuts() refused: HTTP 401 (token refused)")
    assert "wrong-token" not in str(failure.value)
    assert netypareo.simulator.stats.calls["getStatuts"] == 0


async def test_the_right_token_is_sent_on_the_wsdl_and_every_call(
    netypareo: ServedNetYpareo,
    make_source: SourceFactory,
    monkeypatch: pytest.MonkeyPatch,
    healthy: dict[str, TenantSnapshot],
) -> None:
    netypareo.simulator.token = "right-token"
    monkeypatch.setenv("NY_TOKEN", "right-token")
    assert await read(make_source(token="env:NY_TOKEN")) == healthy


async def test_a_soap_fault_is_not_retried(
    netypareo: ServedNetYpareo, make_source: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The site is listed but its groups are refused, as for a site the token may not read.
    monkeypatch.delitem(netypareo.simulator.data.groups, "66")
    source = make_source(retries=5)
    with pytest.raises(
        SourceError,
        match=r"tenant cfa-occ-nimes: getGroupes\(codeSite=66\) refused: SOAP fault: Site inconnu",
    ):
        await read(source)
    assert netypareo.simulator.stats.calls["getGroupes"] == 2  # site 34 once, site 66 once


async def test_argument_names_the_wsdl_does_not_know_are_named(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    source = make_source(operations={"site_argument": "codeDuSite"})
    with pytest.raises(
        SourceError, match=r"getGroupes\(codeDuSite=34\): the arguments do not match"
    ):
        await read(source)
    assert netypareo.simulator.stats.calls["getGroupes"] == 0
