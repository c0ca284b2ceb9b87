"""The SOAP client of one NetYpareo endpoint: WSDL loading, timeouts, retries.

zeep loads a WSDL synchronously, so it is loaded once, in a worker thread,
from the customer's instance or from a pinned local copy; calls then go
through zeep's ``AsyncClient`` over httpx. Every call has a deadline, runs
under the endpoint's limiter (one call in flight by default: the service
falls over under load) and is retried with backoff on 502/503/504,
transport errors, time-outs and malformed bodies. A SOAP fault or a refused
token is not retried, and neither is hostile XML: an answer (or a WSDL) that
declares a DTD or entities, such as a billion-laughs bomb or an external
entity, is refused by the parser and reported as hostile at the first attempt,
never as a truncated body. Whatever still fails becomes a ``SourceError``
naming the endpoint, the tenant and the operation, never the token or the body.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

import anyio
import httpx
import stamina
import structlog
import zeep
import zeep.exceptions
import zeep.helpers
import zeep.proxy
import zeep.transports
from lxml import etree

from farm.sources import SourceError
from farm.sources.netypareo.settings import NetYpareoSettings

log = structlog.get_logger(__name__)

RETRY_STATUSES = frozenset({502, 503, 504})


class UnavailableStatus(Exception):
    """The service (or its reverse proxy) answered 502, 503 or 504."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class RefusedStatus(Exception):
    """The service refused the request (token refused, page missing...)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class HostileXml(Exception):
    """The answer declares a DTD or entities: refused by the parser, never retried."""

    def __init__(self, what: str) -> None:
        super().__init__(f"refused as hostile XML (DTD / entity declarations: {what})")
        self.what = what


#: zeep's refusals (forbid_dtd, forbid_entities, forbid_external); defusedxml's have the same names.
_FORBIDDEN = {
    "DTDForbidden": "a document type declaration",
    "EntitiesForbidden": "an entity declaration",
    "ExternalReferenceForbidden": "an external reference",
}
#: What libxml2 says when it stops expanding entities (billion laughs, quadratic blowup).
_EXPANSION = ("entity amplification", "entity reference loop")
#: A document type declaration in the prolog; SOAP messages must not carry one (SOAP 1.1, 3).
_DOCTYPE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<\?.*?\?>\s*)*<!DOCTYPE", re.S
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def hostile_xml(exc: BaseException) -> str | None:
    """What made the parser refuse the answer as hostile, or None when it is merely broken.

    Recognises libxml2 stopping an entity expansion (billion laughs), zeep's
    (and defusedxml's) refusals of DTDs, entities and external references, and
    any body whose prolog declares a DTD. A truncated or otherwise malformed
    body is not hostile, even when the cut falls inside an entity reference.
    """
    causes = list(_causes(exc))
    for cause in causes:
        # The parser's own words; zeep's TransportError quotes the body, so it is not read.
        if isinstance(cause, etree.LxmlError | zeep.exceptions.XMLSyntaxError):
            message = str(getattr(cause, "msg", None) or getattr(cause, "message", ""))
            if any(marker in message.lower() for marker in _EXPANSION):
                return "entity expansion"
    for cause in causes:
        what = _FORBIDDEN.get(type(cause).__name__)
        if what is not None:
            return what
    for cause in causes:
        content = getattr(cause, "content", None)
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        if isinstance(content, bytes) and _DOCTYPE.match(content[:65536]):
            return "a document type declaration"
    return None


@contextmanager
def _hostile_refused() -> Iterator[None]:
    """Turn the parser's refusal of hostile XML into :class:`HostileXml` (not retried)."""
    try:
        yield
    except Exception as exc:
        what = hostile_xml(exc)
        if what is None:
            raise
        raise HostileXml(what) from None


TRANSIENT: tuple[type[Exception], ...] = (
    UnavailableStatus,
    httpx.TransportError,
    TimeoutError,
    zeep.exceptions.TransportError,
    zeep.exceptions.XMLSyntaxError,
    zeep.exceptions.XMLParseError,
)


async def _check_status(response: httpx.Response) -> None:
    # A 500 carries a SOAP fault that zeep reads; other errors never do.
    status = response.status_code
    if status in RETRY_STATUSES:
        raise UnavailableStatus(status)
    if 400 <= status < 500 or status > 504:
        raise RefusedStatus(status)


def describe(exc: BaseException, timeout: float) -> str:
    """Why a call failed, in words an operator can act on; never the body."""
    if isinstance(exc, UnavailableStatus | RefusedStatus):
        hint = " (token refused)" if exc.status in (401, 403) else ""
        return f"HTTP {exc.status}{hint}"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"no complete answer within {timeout:g} s"
    if isinstance(exc, httpx.TransportError):
        return f"transport error ({type(exc).__name__}: {exc})"
    if isinstance(exc, zeep.exceptions.TransportError):
        if exc.status_code and exc.status_code != 200:
            return f"HTTP {exc.status_code}"
        return "the answer is not well-formed XML (truncated body?)"
    if isinstance(exc, zeep.exceptions.Fault):
        return f"SOAP fault: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def rows(value: Any) -> list[dict[str, Any]]:
    """The items of an answer, whichever way zeep wrapped them."""
    if value is None:
        return []
    if isinstance(value, list):
        return [dict(item) for item in value if isinstance(item, Mapping)]
    if isinstance(value, Mapping):
        if len(value) == 1:
            return rows(next(iter(value.values())))
        return [dict(value)]
    return []


class NetYpareoClient:
    """Calls the operations named in ``settings.operations`` on one endpoint."""

    def __init__(self, name: str, settings: NetYpareoSettings) -> None:
        self.name = name
        self.settings = settings
        self._limiter = anyio.CapacityLimiter(settings.concurrency)
        self._load_lock = anyio.Lock()
        self._client: Any = None
        self._proxy: Any = None
        self._http: httpx.AsyncClient | None = None
        self._wsdl_http: httpx.Client | None = None

    def _headers(self) -> dict[str, str]:
        token = self.settings.token
        if token is None:
            return {}
        try:
            return {self.settings.token_header: token.resolve().reveal()}
        except Exception as exc:
            raise SourceError(f"NetYpareo endpoint {self.name}: {exc}") from None

    def _build(self, headers: dict[str, str]) -> tuple[Any, Any]:
        """Load the WSDL and bind the service; runs in a worker thread."""
        with _hostile_refused():
            return self._bind(headers)

    def _bind(self, headers: dict[str, str]) -> tuple[Any, Any]:
        settings = self.settings
        assert self._http is not None
        assert self._wsdl_http is not None
        transport = zeep.transports.AsyncTransport(  # type: ignore[no-untyped-call]
            client=self._http, wsdl_client=self._wsdl_http, timeout=settings.wsdl_timeout
        )
        # zeep's transport resets the clients' headers: set ours afterwards.
        self._http.headers.update(headers)
        self._wsdl_http.headers.update(headers)
        zeep_settings = zeep.Settings(
            strict=True,
            xml_huge_tree=True,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        client = zeep.AsyncClient(  # type: ignore[no-untyped-call]
            settings.wsdl, transport=transport, settings=zeep_settings
        )
        services = list(client.wsdl.services.values())
        ports = [port for service in services for port in service.ports.values()]
        if not ports:
            raise SourceError(f"NetYpareo endpoint {self.name}: the WSDL declares no service port")
        binding = ports[0].binding
        available = set(binding.all())
        wanted = settings.operations.model_dump(exclude={"site_argument", "group_argument"})
        missing = [f"{key} = {op!r}" for key, op in wanted.items() if op not in available]
        if missing:
            raise SourceError(
                f"NetYpareo endpoint {self.name}: operations not in the WSDL: "
                f"{', '.join(missing)}; the WSDL offers {', '.join(sorted(available))}"
            )
        if settings.endpoint:
            # zeep's create_service builds a synchronous proxy even for AsyncClient.
            proxy = zeep.proxy.AsyncServiceProxy(  # type: ignore[no-untyped-call]
                client, binding, address=settings.endpoint
            )
        else:
            proxy = client.bind(services[0].name, next(iter(services[0].ports)))
        return client, proxy

    async def _service(self) -> Any:
        async with self._load_lock:
            if self._proxy is not None:
                return self._proxy
            # A file: reference reads a file; keep that off the event loop.
            headers = await anyio.to_thread.run_sync(self._headers)
            await self.aclose()
            self._http = httpx.AsyncClient(
                timeout=self.settings.timeout, event_hooks={"response": [_check_status]}
            )
            self._wsdl_http = httpx.Client(timeout=self.settings.wsdl_timeout)
            try:
                async for attempt in self._retrying():
                    with attempt:
                        self._client, self._proxy = await anyio.to_thread.run_sync(
                            partial(self._build, headers)
                        )
            except HostileXml as exc:
                raise SourceError(
                    f"NetYpareo endpoint {self.name}: the WSDL {self.settings.wsdl} was {exc}; "
                    "not retried"
                ) from None
            except TRANSIENT as exc:
                raise SourceError(
                    f"NetYpareo endpoint {self.name}: cannot load the WSDL {self.settings.wsdl}: "
                    f"{describe(exc, self.settings.wsdl_timeout)}"
                ) from None
            except (zeep.exceptions.Error, OSError, ValueError) as exc:
                raise SourceError(
                    f"NetYpareo endpoint {self.name}: unusable WSDL {self.settings.wsdl}: "
                    f"{describe(exc, self.settings.wsdl_timeout)}"
                ) from None
            return self._proxy

    def _retrying(self) -> Any:
        settings = self.settings
        return stamina.retry_context(
            on=TRANSIENT,
            attempts=settings.retries + 1,
            timeout=None,
            wait_initial=settings.retry_wait_initial,
            wait_max=settings.retry_wait_max,
        )

    async def call(
        self, key: str, *, tenant: str, site: str | None = None, group: str | None = None
    ) -> list[dict[str, Any]]:
        """Call the operation mapped to ``key`` (``sites``, ``learners``...); return its items."""
        proxy = await self._service()
        operations = self.settings.operations
        name = getattr(operations, key)
        arguments: dict[str, Any] = {}
        if site is not None:
            arguments[operations.site_argument] = site
        if group is not None:
            arguments[operations.group_argument] = group
        where = f"NetYpareo endpoint {self.name}, tenant {tenant}: {name}({_show(arguments)})"
        timeout = self.settings.timeout
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    async with self._limiter:
                        started = time.perf_counter()
                        with anyio.fail_after(timeout), _hostile_refused():
                            result = await getattr(proxy, name)(**arguments)
        except HostileXml as exc:
            raise SourceError(f"{where} {exc}; not retried") from None
        except TRANSIENT as exc:
            raise SourceError(
                f"{where} failed after {attempts} attempt(s): {describe(exc, timeout)}"
            ) from None
        except (RefusedStatus, zeep.exceptions.Fault) as exc:
            raise SourceError(f"{where} refused: {describe(exc, timeout)}") from None
        except zeep.exceptions.Error as exc:
            raise SourceError(f"{where}: {describe(exc, timeout)}") from None
        except TypeError as exc:
            # zeep checks arguments against the WSDL before sending anything.
            raise SourceError(
                f"{where}: the arguments do not match the WSDL (check operations.site_argument "
                f"and operations.group_argument): {exc}"
            ) from None
        items = rows(zeep.helpers.serialize_object(result, dict))  # type: ignore[no-untyped-call]
        log.debug(
            "netypareo.call",
            endpoint=self.name,
            tenant=tenant,
            operation=name,
            items=len(items),
            attempts=attempts,
            seconds=round(time.perf_counter() - started, 3),
        )
        return items

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._wsdl_http is not None:
            await anyio.to_thread.run_sync(self._wsdl_http.close)
        self._http = self._wsdl_http = None
        self._client = self._proxy = None


def _show(arguments: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in arguments.items())
