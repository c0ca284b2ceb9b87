"""The wire to real sites (aiohttp) over loopback: faults, proxies, answers that are not JSON.

The simulator's in-process transport goes through httpx; these tests give
the client no transport, so every request crosses a real socket on the wire
a farm uses for its sites.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from farm.moodle import (
    MoodleClient,
    MoodleLimits,
    NewUser,
    SiteError,
    TransientError,
    UnknownError,
)
from farm.moodle.wire import AiohttpWire, HttpxWire, wire_for
from farm.secrets import Secret
from farm.simulators.moodle import Faults
from tests.fixtures.moodle import ServedSimulator

TOKEN = "w1re-t0ken-5a5a5a"
PASSWORD = Secret("Wire-pass-1")
SITE_INFO = json.dumps({"release": "5.0.1 (Build: 20250609)", "functions": []}).encode()


@dataclass
class FakeProxy:
    """A loopback HTTP server that keeps each request line and answers what it is given."""

    port: int = 0
    lines: list[str] = field(default_factory=list)
    answer: bytes = b""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *headers = head.decode("latin-1").split("\r\n")
        self.lines.append(request_line)
        length = next(
            (int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")),
            0,
        )
        await reader.readexactly(length)
        writer.write(self.answer)
        await writer.drain()
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FakeProxy]:
    fake = FakeProxy()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    try:
        yield fake
    finally:
        server.close()
        await server.wait_closed()


def answer(body: bytes, content_type: str = "application/json", *, chunked: bool = False) -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nconnection: close\r\n"
    if not chunked:
        return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body
    middle = len(body) // 2
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:middle], body[middle:])
    )
    return f"{head}transfer-encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_real_sites_get_the_aiohttp_wire_and_farm_http_httpx_takes_httpx_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FARM_HTTP", raising=False)
    assert isinstance(wire_for(None, 4, 30), AiohttpWire)
    monkeypatch.setenv("FARM_HTTP", "httpx")
    assert isinstance(wire_for(None, 4, 30), HttpxWire)


@pytest.mark.usefixtures("no_backoff")
async def test_an_answer_held_past_the_timeout_is_retried_and_the_create_adopted(
    served_moodle: ServedSimulator,
) -> None:
    sim = served_moodle.sim
    site = sim.add_site(
        "slow", token=TOKEN, faults=Faults(timeout=1.0, hang_seconds=5, remaining=1)
    )
    limits = MoodleLimits(timeout=0.3, retries=3)
    people = [NewUser(f"s{i}", "F", "L", f"s{i}@example.org", password=PASSWORD) for i in range(3)]
    async with MoodleClient("slow", sim.url("slow"), Secret(TOKEN), limits) as client:
        result = await client.create_users(people)
    assert client.retries == 1
    # The first answer was lost, not the work: the retry found the accounts and took them.
    assert [c.adopted for c in result.confirmed] == [True, True, True]
    assert sorted(u.username for u in site.live_users()) == ["s0", "s1", "s2"]


@pytest.mark.usefixtures("no_backoff")
async def test_a_site_refusing_connections_fails_after_its_retries_naming_why() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with MoodleClient("gone", url, Secret(TOKEN), MoodleLimits(retries=2)) as client:
        with pytest.raises(TransientError, match="ClientConnectorError") as raised:
            await client.site_info()
    assert client.calls == 3
    assert TOKEN not in str(raised.value)


async def test_requests_go_through_the_proxy_the_environment_names(
    proxy: FakeProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy.answer = answer(SITE_INFO, chunked=True)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = "http://moodle.lycee.example"
    async with MoodleClient("proxied", url, Secret(TOKEN)) as client:
        info = await client.site_info()
    assert info.release.startswith("5.0.1")
    assert proxy.lines == [f"POST {url}/webservice/rest/server.php HTTP/1.1"]


async def test_no_proxy_sends_a_site_straight_to_it(
    served_moodle: ServedSimulator, proxy: FakeProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = served_moodle.sim
    sim.add_site("direct", token=TOKEN)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with MoodleClient("direct", sim.url("direct"), Secret(TOKEN)) as client:
        await client.site_info()
    assert proxy.lines == []


async def test_a_page_that_is_not_json_is_an_error_quoting_its_start(
    proxy: FakeProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a captive portal or a proxy's error page answers, with HTTP 200.
    proxy.answer = answer(b"<html><body>Acces refuse</body></html>", "text/html")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    async with MoodleClient("portal", "http://moodle.example", Secret(TOKEN)) as client:
        with pytest.raises(UnknownError, match="not JSON: '<html><body>Acces refuse"):
            await client.site_info()


async def test_a_redirect_is_reported_with_the_url_not_followed(
    proxy: FakeProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A site configured as http:// whose server sends every request to https://.
    proxy.answer = (
        b"HTTP/1.1 301 Moved Permanently\r\nlocation: https://moodle.example/\r\n"
        b"content-length: 0\r\nconnection: close\r\n\r\n"
    )
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    url = f"http://127.0.0.1:{proxy.port}"
    async with MoodleClient("moved", url, Secret(TOKEN)) as client:
        with pytest.raises(SiteError, match=r"HTTP 301 from .*: is the site URL right\?"):
            await client.site_info()
    assert len(proxy.lines) == 1
