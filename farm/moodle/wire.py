"""How a session's requests reach a site: one form POST, its status and its body.

A :class:`~farm.moodle.session.Session` needs nothing more of HTTP than
this, so the library under it is a choice made here, once:

- :class:`AiohttpWire` talks to real sites. aiohttp parses HTTP in C: a
  request costs about a fifth of the CPU httpx spends on it (measured on
  loopback with the answers of a user creation, ``docs/decisions.md``),
  and on a farm's first sync HTTP was the largest single cost of the
  engine. It trusts the environment as httpx does (``HTTPS_PROXY``,
  ``NO_PROXY``, ``SSL_CERT_FILE``) and checks certificates with the same
  CA bundle.
- :class:`HttpxWire` goes through an httpx transport: the Moodle
  simulator's in-process one, or a test's fault injector; and to real sites
  when ``FARM_HTTP=httpx`` (see :func:`wire_for`).

Both keep ``connections`` connections to the site at most, open them on the
first request, and raise :class:`WireError` when a request gets no answer
(refused, reset, closed half-way), with the library's words, and
``TimeoutError`` past ``timeout`` seconds. The session also bounds each call
with ``anyio.fail_after``, which holds over any transport.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

import anyio
import httpx

if TYPE_CHECKING:
    import aiohttp
    import yarl

_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class WireAnswer:
    """A site's answer: its HTTP status and its whole body."""

    status: int
    body: bytes


class WireError(Exception):
    """A request that got no answer; the text names the library's error."""


class Wire(Protocol):
    """One site's connections, as a session uses them."""

    async def post(self, url: str, body: bytes) -> WireAnswer:
        """POST a form-encoded ``body``; the answer, or :class:`WireError`."""
        ...

    async def aclose(self) -> None:
        """Close the connections."""
        ...


@cache
def tls_context() -> ssl.SSLContext:
    """The CA bundle httpx would use (``SSL_CERT_FILE``/``SSL_CERT_DIR`` or certifi's).

    Built once per process: loading it takes tens of milliseconds of CPU,
    for each of a farm's sites otherwise.
    """
    return httpx.create_ssl_context()


class HttpxWire:
    """Requests over httpx: through a transport (in-process simulators, fault injectors),
    or to real sites when ``FARM_HTTP=httpx`` says so."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport | None, connections: int, timeout: float
    ) -> None:
        self._http = httpx.AsyncClient(
            transport=transport,
            verify=tls_context(),
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def post(self, url: str, body: bytes) -> WireAnswer:
        try:
            response = await self._http.post(url, content=body, headers={"content-type": _FORM})
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.TransportError as exc:
            raise WireError(f"{type(exc).__name__}: {exc}") from None
        return WireAnswer(response.status_code, response.content)

    async def aclose(self) -> None:
        await self._http.aclose()


_Proxy = tuple["yarl.URL | None", "aiohttp.BasicAuth | None"]


def _env_proxy(url: str) -> _Proxy:
    """The proxy the environment gives for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``), if any."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        return get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, None


class AiohttpWire:
    """Requests to a real site over aiohttp (see the module docstring)."""

    def __init__(self, connections: int, timeout: float) -> None:
        self._connections = connections
        self._timeout = timeout
        # Made on the first request: an aiohttp session belongs to the running loop.
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, _Proxy] = {}

    def _open(self) -> aiohttp.ClientSession:
        # Imported here: commands that never reach a site do not pay for it.
        import aiohttp

        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connections,
                limit_per_host=self._connections,
                ssl=tls_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # The environment's proxy is looked up once per URL (_proxy), not
                # by aiohttp in a thread for every request.
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                # No cookies: Moodle's web services are stateless, and a farm's
                # sites must not share what one of them sets.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _proxy(self, url: str) -> _Proxy:
        found = self._proxies.get(url)
        if found is None:
            # Reads the environment and ~/.netrc (proxy credentials), as httpx would.
            found = self._proxies[url] = await anyio.to_thread.run_sync(_env_proxy, url)
        return found

    async def post(self, url: str, body: bytes) -> WireAnswer:
        import aiohttp

        session = self._open()
        proxy, proxy_auth = await self._proxy(url)
        try:
            async with session.post(
                url,
                data=body,
                headers={"Content-Type": _FORM},
                proxy=proxy,
                proxy_auth=proxy_auth,
                # As httpx: a redirect is the site's answer (an http:// URL sent to
                # https://, say), never followed as a GET that Moodle would not know.
                allow_redirects=False,
            ) as response:
                return WireAnswer(response.status, await response.read())
        except TimeoutError:
            # aiohttp's own timeouts are ClientErrors too: the session words them.
            raise
        except aiohttp.ClientError as exc:
            raise WireError(f"{type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def wire_for(transport: httpx.AsyncBaseTransport | None, connections: int, timeout: float) -> Wire:
    """:class:`HttpxWire` over ``transport`` when one is given, else :class:`AiohttpWire`.

    ``FARM_HTTP=httpx`` takes httpx for real sites too: the way back, should
    a site's proxy or server ever need it.
    """
    if transport is not None or os.environ.get("FARM_HTTP") == "httpx":
        return HttpxWire(transport, connections, timeout)
    return AiohttpWire(connections, timeout)
