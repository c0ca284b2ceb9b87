"""The ASGI application that hosts many simulated Moodle sites, one per path prefix.

A site named ``lycee-a`` answers at ``{base}/lycee-a/webservice/rest/server.php``
and ``{base}/lycee-a/login/token.php``. Each request goes through the site's
fault injection, then waits for one of the site's workers, is decoded the way
PHP does (``max_input_vars`` truncation included), validated, handled, and
held for the cost model's delay before the answer leaves.

In-process, :meth:`MoodleSimulator.transport` gives an ``httpx`` transport;
over loopback, uvicorn serves the same object (see ``tools/moodle_simulator.py``).

``MoodleSimulator(control=True)`` also answers ``/_control/<site>/...`` (faults,
state, release; see the package docstring), to loopback clients only.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from xml.sax.saxutils import escape

import anyio
import httpx

import farm.simulators.moodle.cohorts
import farm.simulators.moodle.courses
import farm.simulators.moodle.groups
import farm.simulators.moodle.users  # noqa: F401  (each module registers its functions)
from farm.simulators.moodle.catalogue import CALLER_FUNCTIONS, FUNCTIONS, records_in
from farm.simulators.moodle.encoding import parse_form, validate
from farm.simulators.moodle.errors import (
    WSError,
    access_exception,
    invalid_token,
    unknown_function,
)
from farm.simulators.moodle.state import (
    FARM_FUNCTIONS,
    PASSWORD_NOT_CACHED,
    Faults,
    Site,
    TargetedFault,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

REST_PATH = "/webservice/rest/server.php"
LOGIN_PATH = "/login/token.php"
CONTROL_PREFIX = "_control"
#: Clients the control endpoint answers: loopback only.
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_FUNCTION = re.compile(rb"(?:^|&)wsfunction=([^&]*)")
#: Fault rates and durations the control endpoint may set, with their types.
_FAULT_FIELDS: dict[str, type] = {
    "bad_gateway": float,
    "unavailable": float,
    "timeout": float,
    "drop": float,
    "slow": float,
    "slow_seconds": float,
    "hang_seconds": float,
}


class ConnectionDropped(Exception):
    """Raised by the app after the answer started: the connection closes mid-answer."""


class MoodleSimulator:
    """An ASGI app serving any number of simulated Moodle 5.0 sites."""

    def __init__(self, base_url: str = "http://moodle.test", *, control: bool = False) -> None:
        self.base_url = base_url.rstrip("/")
        self.sites: dict[str, Site] = {}
        #: Whether ``/_control/<site>/...`` is served (to loopback clients only).
        self.control = control

    def add_site(
        self,
        name: str,
        *,
        token: str = "simulated-token",  # noqa: S107  (a simulator default)
        functions: Iterable[str] = FARM_FUNCTIONS,
        profile_fields: Mapping[str, str] | Iterable[str] = (),
        **settings: Any,
    ) -> Site:
        """Create a site; ``settings`` are :class:`Site` fields (debug, cost, faults...)."""
        if name in self.sites or "/" in name or name == CONTROL_PREFIX:
            raise ValueError(f"site name {name!r} is taken, reserved or contains '/'")
        fields = (
            dict(profile_fields)
            if isinstance(profile_fields, Mapping)
            else {shortname: shortname for shortname in profile_fields}
        )
        site = Site(
            name=name,
            wwwroot=f"{self.base_url}/{name}",
            tokens={token: frozenset(functions)},
            profile_fields=fields,
            **settings,
        )
        self.sites[name] = site
        return site

    def url(self, name: str) -> str:
        return self.sites[name].wwwroot

    def rebase(self, base_url: str) -> None:
        """Point every site's wwwroot at ``base_url`` (once uvicorn has its port)."""
        self.base_url = base_url.rstrip("/")
        for site in self.sites.values():
            site.wwwroot = f"{self.base_url}/{site.name}"

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process transport: same endpoint and encoding, no socket."""
        return _Transport(app=self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path: str = scope["path"]
        name, _, rest = path.lstrip("/").partition("/")
        if name == CONTROL_PREFIX and self.control and scope["type"] == "http":
            await _control(self, scope, receive, send, rest)
            return
        site = self.sites.get(name)
        if scope["type"] != "http" or site is None or f"/{rest}" not in (REST_PATH, LOGIN_PATH):
            await _respond(send, 404, b"Not found", "text/plain")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await _serve(site, f"/{rest}", body, send)


async def _serve(site: Site, path: str, body: bytes, send: Send) -> None:
    site.in_flight += 1
    site.peak_in_flight = max(site.peak_in_flight, site.in_flight)
    try:
        await _serve_counted(site, path, body, send)
    finally:
        site.in_flight -= 1


def _function_of(path: str, body: bytes) -> str:
    if path == LOGIN_PATH:
        return "login"
    found = _FUNCTION.search(body)
    return urllib.parse.unquote_plus(found.group(1).decode("latin-1")) if found else ""


async def _wait_release(site: Site, seconds: float) -> None:
    """Hold a call until the site is released (``site.release_held()``) or ``seconds`` pass."""
    releases = site.releases
    site.holding += 1
    try:
        with anyio.move_on_after(seconds):
            # Polled, not an Event: a release may come from another thread (a test's own).
            while site.releases == releases:  # noqa: ASYNC110
                await anyio.sleep(0.01)
    finally:
        site.holding -= 1


async def _serve_counted(site: Site, path: str, body: bytes, send: Send) -> None:
    faults, rng = site.faults, site.random
    function = _function_of(path, body)
    target = site.target(function) if site.targeted else None
    if target is not None:
        site.fault_log.append(
            {"function": function, "action": target.action, "call": target.seen, "at": time.time()}
        )
        if target.action in ("502", "503"):
            status = int(target.action)
            await _respond(send, status, f"<h1>{status}</h1>".encode(), "text/html")
            return
        if target.action == "stall":
            await _wait_release(site, target.hold_seconds)
            await _respond(send, 503, b"<h1>503</h1>", "text/html")
            return
    if target is not None:
        # A targeted call meets its own fault only: the rates stay out of the way.
        drop, hang = target.action == "drop", target.action == "hang"
    else:
        roll = rng.random()
        if roll < faults.bad_gateway + faults.unavailable and faults.spend():
            status = 502 if roll < faults.bad_gateway else 503
            site.injected[str(status)] += 1
            await _respond(send, status, f"<h1>{status}</h1>".encode(), "text/html")
            return
        drop = rng.random() < faults.drop and faults.spend()
        hang = not drop and rng.random() < faults.timeout and faults.spend()
        site.injected.update(kind for kind, hit in (("drop", drop), ("timeout", hang)) if hit)
        if rng.random() < faults.slow and faults.spend():
            site.injected["slow"] += 1
            await anyio.sleep(faults.slow_seconds)
    async with site.workers:
        site.working += 1
        site.peak_working = max(site.peak_working, site.working)
        started = time.monotonic()
        params, dropped = parse_form(body, site.max_input_vars)
        if dropped:
            site.dropped_fields.append(dropped)
        if path == LOGIN_PATH:
            answer, records = _login(site, params), 1
        else:
            answer, records = _call(site, params)
        try:
            # The model's delay is the whole time inside Moodle, the simulator's own work included.
            cost = site.cost.delay(records, str(params.get("wsfunction", "")))
            await anyio.sleep(max(0.0, cost - (time.monotonic() - started)))
        finally:
            site.working -= 1
    if hang:
        await anyio.sleep(faults.hang_seconds)
    if target is not None and target.action == "hold":
        await _wait_release(site, target.hold_seconds)
    if path == LOGIN_PATH or params.get("moodlewsrestformat") == "json":
        payload, kind = json.dumps(answer).encode(), "application/json"
    else:
        payload, kind = _xml(answer).encode(), "application/xml"
    if drop:
        await send(_start(200, kind, len(payload)))
        raise ConnectionDropped(f"simulated drop on site {site.name}")
    await _respond(send, 200, payload, kind)


async def _control(
    sim: MoodleSimulator, scope: Scope, receive: Receive, send: Send, rest: str
) -> None:
    """``/_control/<site>/faults`` (GET, POST), ``/state`` (GET), ``/release`` (POST)."""
    client = scope.get("client")
    if not client or client[0] not in LOOPBACK:
        await _respond(send, 403, b"control is for loopback clients only", "text/plain")
        return
    name, _, action = rest.partition("/")
    site = sim.sites.get(name)
    method = scope.get("method", "GET")
    if site is None or (action, method) not in {
        ("faults", "GET"),
        ("faults", "POST"),
        ("state", "GET"),
        ("release", "POST"),
    }:
        await _respond(send, 404, b"Not found", "text/plain")
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        if action == "faults" and method == "POST":
            set_faults(site, json.loads(body or b"{}"))
        elif action == "release":
            site.release_held()
    except (ValueError, TypeError) as error:
        payload = json.dumps({"error": str(error)}).encode()
        await _respond(send, 400, payload, "application/json")
        return
    answer: Any
    if action == "state":
        answer = site.state()
    else:
        answer = {k: v for k, v in site.state().items() if k in ("faults", "targeted", "holding")}
    await _respond(send, 200, json.dumps(answer).encode(), "application/json")


def set_faults(site: Site, values: Any) -> None:
    """Apply a control request: fault rates, ``remaining``, ``seed``, ``targeted``, ``clear``.

    ``{"clear": true}`` first resets every rate and targeted fault;
    ``"targeted"`` is a list of :class:`TargetedFault` fields and replaces the
    site's list (``"add_targeted"`` appends). Unknown keys are refused whole,
    before anything changes.
    """
    if not isinstance(values, dict):
        raise ValueError("faults must be a JSON object")
    known = {*_FAULT_FIELDS, "remaining", "seed", "targeted", "add_targeted", "clear"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
    rates: dict[str, float] = {}
    for key, kind in _FAULT_FIELDS.items():
        if key in values:
            value = values[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} must be a number >= 0")
            if key not in ("slow_seconds", "hang_seconds") and value > 1:
                raise ValueError(f"{key} is a rate between 0 and 1")
            rates[key] = kind(value)
    remaining = values.get("remaining")
    if remaining is not None and (not isinstance(remaining, int) or remaining < 0):
        raise ValueError("remaining must be an integer >= 0 or null")
    targeted = [TargetedFault(**spec) for spec in values.get("targeted", [])]
    added = [TargetedFault(**spec) for spec in values.get("add_targeted", [])]
    if values.get("clear"):
        site.faults = Faults()
        site.targeted = []
    for key, value in rates.items():
        setattr(site.faults, key, value)
    if "remaining" in values:
        site.faults.remaining = remaining
    if "seed" in values:
        site.seed = int(values["seed"])
        site._random = None
    if "targeted" in values:
        site.targeted = targeted
    site.targeted.extend(added)


def _call(site: Site, params: dict[str, Any]) -> tuple[Any, int]:
    try:
        functions = site.tokens.get(str(params.get("wstoken", "")))
        if functions is None:
            raise invalid_token()
        name = str(params.get("wsfunction", ""))
        site.calls[name] += 1
        fn = FUNCTIONS.get(name)
        if fn is None:
            # Debug off, this reads exactly like an unknown user or cohort id.
            raise unknown_function(name)
        if name not in functions:
            raise access_exception(name)
        args = {
            k: v
            for k, v in params.items()
            if k not in ("wstoken", "wsfunction", "moodlewsrestformat")
        }
        valid = validate(fn.params, args)
        token = CALLER_FUNCTIONS.set(functions)
        try:
            answer = fn.handler(site, valid)
            return answer, records_in(fn, valid, answer)
        finally:
            CALLER_FUNCTIONS.reset(token)
    except WSError as error:
        return error.payload(site.debug), 1


def _login(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    def failure(errorcode: str, error: str) -> dict[str, Any]:
        return {
            "error": error,
            "errorcode": errorcode,
            "stacktrace": "* line 0 of /login/token.php" if site.debug else None,
            "debuginfo": errorcode if site.debug else None,
            "reproductionlink": site.wwwroot + "/" if site.debug else None,
        }

    user = site.user_by_username(str(params.get("username", "")))
    # Only a manual account has a password here; an external auth logs in elsewhere.
    if (
        user is None
        or user.deleted
        or user.auth != "manual"
        or user.password in (None, PASSWORD_NOT_CACHED)
        or user.password != params.get("password")
    ):
        return failure("invalidlogin", "Invalid login, please try again")
    if params.get("service") != "farm":
        return failure(
            "servicenotavailable",
            "Web service is not available (it doesn't exist or might be disabled)",
        )
    for token, functions in site.tokens.items():
        if functions == frozenset(FARM_FUNCTIONS):
            return {"token": token, "privatetoken": None}
    return failure("servicenotavailable", "Web service is not available")


def _start(status: int, kind: str, length: int) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", f"{kind}; charset=utf-8".encode()),
            (b"content-length", str(length).encode()),
        ],
    }


async def _respond(send: Send, status: int, payload: bytes, kind: str) -> None:
    await send(_start(status, kind, len(payload)))
    await send({"type": "http.response.body", "body": payload})


def _xml(answer: Any) -> str:
    head = '<?xml version="1.0" encoding="UTF-8" ?>\n'
    if isinstance(answer, dict) and "exception" in answer and "errorcode" in answer:
        inner = "".join(
            f"<{key.upper()}>{escape(str(answer[key]))}</{key.upper()}>"
            for key in ("errorcode", "message", "debuginfo")
            if key in answer
        )
        return f'{head}<EXCEPTION class="{escape(answer["exception"])}">{inner}</EXCEPTION>\n'
    return f"{head}<RESPONSE>\n{_xml_value(answer)}</RESPONSE>\n"


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        keys = "".join(f'<KEY name="{escape(k)}">{_xml_value(v)}</KEY>' for k, v in value.items())
        return f"<SINGLE>{keys}</SINGLE>"
    if isinstance(value, list):
        return f"<MULTIPLE>{''.join(_xml_value(v) for v in value)}</MULTIPLE>"
    if isinstance(value, bool):
        value = int(value)
    return f"<VALUE>{escape(str(value))}</VALUE>"


class _Transport(httpx.ASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from None
