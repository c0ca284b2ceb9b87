"""One site's connection: the raw call, retries, limits, and the batch engine.

Every request is ``POST {url}/webservice/rest/server.php`` with ``wstoken``,
``wsfunction`` and ``moodlewsrestformat=json`` first, then the bracket-named
parameters, sent over a :mod:`~farm.moodle.wire` (aiohttp to real sites,
an httpx transport when one is given). At most ``calls_in_flight`` requests
run at once per site (an anyio ``CapacityLimiter``); each has ``timeout``
seconds, enforced by the client itself so that it also holds over in-process
transports. Transport errors, timeouts and HTTP 500/502/503/504 are retried
with stamina (exponential backoff, ``retries`` more attempts);
``stamina.set_testing`` removes the waits in tests.

Batches: :meth:`Session.apply` cuts items into batches of at most
``records_per_batch`` records and ``form_fields_per_request`` form fields,
sends them concurrently (each record flattened and quoted once, when the
batches are cut), and reads each answer with a :class:`BatchCall`'s
``read`` function, which checks it names the records sent, in order. A batch
Moodle refuses as a whole is split in halves until each refused record stands
alone with its reason; the good ones still go in. When a create was retried
(its first answer may have been lost) or the caller asks ``adopt_existing``,
refused records are looked up first and adopted when Moodle already has them,
so a retry never creates a duplicate. Results reach ``on_batch`` one batch at
a time, serially, as soon as Moodle confirmed them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio
import httpx
import stamina
import structlog

from farm.moodle.encoding import (
    ItemForm,
    Quoted,
    form_body,
    item_form,
    list_form,
    quoted,
    quoted_params,
)
from farm.moodle.errors import (
    AnswerMismatch,
    FunctionNotAvailable,
    MoodleError,
    RecordError,
    SiteError,
    TransientError,
    UnknownError,
    classify,
    exception_name,
    scrub,
)
from farm.moodle.records import BatchResult, Confirmed, Failed
from farm.moodle.settings import MoodleLimits
from farm.moodle.wire import WireError, wire_for
from farm.secrets import Secret

T = TypeVar("T")
REST_PATH = "/webservice/rest/server.php"
RETRIED_STATUS = frozenset({500, 502, 503, 504})
HEADER_FIELDS = 3  # wstoken, wsfunction, moodlewsrestformat
SITE_INFO = "core_webservice_get_site_info"

log = structlog.get_logger("farm.moodle")

OnBatch = Callable[[BatchResult[T]], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    answer: Any
    retried: bool


@dataclass(frozen=True)
class BatchCall(Generic[T]):
    """How to send a list of items with one function, in batches, and read Moodle's answer."""

    function: str
    key: str
    item_params: Callable[[T], Any]
    read: Callable[[Sequence[T], Any], BatchResult[T]]
    adopt: Callable[[Sequence[T]], Awaitable[dict[int, int]]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Run(Generic[T]):
    call: BatchCall[T]
    adopt_existing: bool
    on_batch: OnBatch[T] | None
    total: BatchResult[T] = field(default_factory=BatchResult)
    fatal: MoodleError | None = None
    # Each item's quoted form fields, built once when cutting batches (by id of the item).
    forms: dict[int, ItemForm] = field(default_factory=dict)

    def item_form(self, item: T) -> ItemForm:
        found = self.forms.get(id(item))
        return item_form(self.call.item_params(item)) if found is None else found


class Session:
    """The connection to one Moodle site. Use it as an async context manager."""

    def __init__(
        self,
        name: str,
        url: str,
        token: Secret,
        limits: MoodleLimits | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.limits = limits or MoodleLimits()
        self._token = token
        self._wire = wire_for(transport, self.limits.calls_in_flight, self.limits.timeout)
        self._limiter = anyio.CapacityLimiter(self.limits.calls_in_flight)
        self._report_lock = anyio.Lock()
        self.calls = 0
        self.retries = 0
        # The functions the token may call, once site info was read (see ``functions``).
        self._functions: frozenset[str] | None = None
        self._functions_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(site={self.name!r}, url={self.url!r})"

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def call(self, function: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call one function with retries; return Moodle's decoded answer or raise."""
        return (await self.call_reply(function, params or {})).answer

    async def functions(self) -> frozenset[str]:
        """The functions the token's service holds, read from site info once per session."""
        async with self._functions_lock:
            if self._functions is None:
                answer = await self.call(SITE_INFO)
                self.remember_functions(answer)
            assert self._functions is not None
            return self._functions

    def remember_functions(self, site_info: Any) -> None:
        """Keep the function list of a ``core_webservice_get_site_info`` answer."""
        listed = site_info.get("functions", []) if isinstance(site_info, dict) else []
        self._functions = frozenset(
            str(f.get("name")) for f in listed if isinstance(f, dict) and f.get("name")
        )

    async def call_reply(self, function: str, params: Mapping[str, Any]) -> Reply:
        return await self._call_quoted(function, quoted_params(params))

    async def _call_quoted(self, function: str, fields: Quoted) -> Reply:
        known = self._functions
        if known is not None and function != SITE_INFO and function not in known:
            raise self._not_available(function)
        try:
            reply = await self._call_reply(function, fields)
        except RecordError as exc:
            # With debugging off an unknown function answers like an unknown record:
            # only the site's function list tells them apart.
            if exception_name(exc.exception or "") != "dml_missing_record_exception":
                raise
            if function != SITE_INFO and function not in await self.functions():
                raise self._not_available(function) from None
            raise
        if function == SITE_INFO:
            self.remember_functions(reply.answer)
        return reply

    def _not_available(self, function: str) -> FunctionNotAvailable:
        return FunctionNotAvailable(
            f"{function} is not in the token's service (site info does not list it)",
            site=self.name,
            function=function,
            errorcode="functionnotlisted",
        )

    async def _call_reply(self, function: str, fields: Quoted) -> Reply:
        if len(fields) + HEADER_FIELDS > self.limits.form_fields_per_request:
            raise RecordError(
                f"the request needs {len(fields) + HEADER_FIELDS} form fields, the site's "
                f"limit form_fields_per_request is {self.limits.form_fields_per_request}",
                site=self.name,
                function=function,
                errorcode="toomanyfields",
            )
        retried = False
        try:
            async for attempt in stamina.retry_context(
                on=TransientError,
                attempts=self.limits.retries + 1,
                timeout=None,
                wait_initial=0.2,
                wait_max=10.0,
            ):
                with attempt:
                    if attempt.num > 1:
                        retried = True
                        self.retries += 1
                    answer = await self._once(function, fields)
        except MoodleError as exc:
            exc.after_retry = retried
            raise
        return Reply(answer, retried)

    async def _once(self, function: str, fields: Quoted) -> Any:
        header = [
            ("wstoken", self._token.reveal()),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
        ]
        endpoint = self.url + REST_PATH
        # Encoded before waiting for a slot, so a freed slot is used at once.
        content = form_body([*quoted(header), *fields])
        async with self._limiter:
            self.calls += 1
            try:
                with anyio.fail_after(self.limits.timeout):
                    response = await self._wire.post(endpoint, content)
            except TimeoutError:
                raise self._transient(
                    function, f"no answer within {self.limits.timeout:g} s"
                ) from None
            except WireError as exc:
                raise self._transient(function, str(exc)) from None
        if response.status in RETRIED_STATUS:
            raise self._transient(function, f"HTTP {response.status}")
        if response.status != 200:
            raise SiteError(
                f"HTTP {response.status} from {endpoint}: is the site URL right?",
                site=self.name,
                function=function,
            )
        try:
            answer = json.loads(response.body)
        except ValueError:
            text = response.body[:200].decode("utf-8", "replace")
            raise UnknownError(
                scrub(f"the answer is not JSON: {text!r}", self._token),
                site=self.name,
                function=function,
            ) from None
        if isinstance(answer, dict) and "exception" in answer and "errorcode" in answer:
            raise classify(answer, site=self.name, function=function, token=self._token)
        return answer

    def _transient(self, function: str, text: str) -> TransientError:
        # INFO, not WARNING: a retry that works is a detail (hidden at the default level,
        # shown by the scheduler); one that fails for good is the caller's error to report.
        log.info(
            "moodle call failed, will retry",
            site=self.name,
            function=function,
            reason=scrub(text, self._token),
        )
        return TransientError(scrub(text, self._token), site=self.name, function=function)

    # Batches.

    def batches(
        self, call: BatchCall[T], items: Sequence[T], forms: dict[int, ItemForm] | None = None
    ) -> list[list[T]]:
        """Cut items into batches under both the record and the form-field limits.

        Each item is flattened and quoted here, once: ``forms``, when given,
        keeps the result (by id of the item) for the requests.
        """
        extra = len(quoted_params(call.extra))
        budget = self.limits.form_fields_per_request - HEADER_FIELDS - extra
        batches: list[list[T]] = []
        current: list[T] = []
        used = 0
        for item in items:
            form = item_form(call.item_params(item))
            if forms is not None:
                forms[id(item)] = form
            cost = len(form)
            if current and (len(current) >= self.limits.records_per_batch or used + cost > budget):
                batches.append(current)
                current, used = [], 0
            current.append(item)
            used += cost
        if current:
            batches.append(current)
        return batches

    async def apply(
        self,
        call: BatchCall[T],
        items: Sequence[T],
        *,
        adopt_existing: bool = False,
        on_batch: OnBatch[T] | None = None,
    ) -> BatchResult[T]:
        """Send all items; return what Moodle confirmed and refused, merged.

        Site-level, transient (after retries) and unknown errors stop the
        whole call: batches in flight finish and are reported, no new batch
        starts, and the first such error is raised.
        """
        run = _Run(call, adopt_existing, on_batch)
        # Batches wait here, not inside the request, so that none starts once the call stops.
        gate = anyio.CapacityLimiter(self.limits.calls_in_flight)
        async with anyio.create_task_group() as group:
            for batch in self.batches(call, items, run.forms):
                group.start_soon(self._send_batch, run, batch, gate)
        if run.fatal is not None:
            raise run.fatal
        return run.total

    async def _send_batch(self, run: _Run[T], batch: list[T], gate: anyio.CapacityLimiter) -> None:
        async with gate:
            if run.fatal is None:
                await self._send_open_batch(run, batch)

    async def _send_open_batch(self, run: _Run[T], batch: list[T]) -> None:
        try:
            result = await self._isolate(run, batch, run.adopt_existing)
        except AnswerMismatch as exc:
            if isinstance(exc.partial, BatchResult):
                await self._report(run, exc.partial)
            run.fatal = run.fatal or exc
            return
        except MoodleError as exc:
            run.fatal = run.fatal or exc
            return
        finally:
            # Sent: its forms are not needed again (a call's batches are each sent once).
            for item in batch:
                run.forms.pop(id(item), None)
        await self._report(run, result)

    async def _report(self, run: _Run[T], result: BatchResult[T]) -> None:
        async with self._report_lock:
            run.total.extend(result)
            if run.on_batch is not None:
                await run.on_batch(result)

    async def _isolate(self, run: _Run[T], batch: list[T], may_adopt: bool) -> BatchResult[T]:
        call = run.call
        fields = quoted_params(call.extra)
        fields += list_form(call.key, [run.item_form(i) for i in batch])
        try:
            reply = await self._call_quoted(call.function, fields)
        except RecordError as exc:
            if call.adopt is not None and (may_adopt or exc.after_retry):
                return await self._adopt(run, batch, exc, call.adopt)
            if len(batch) == 1:
                log.info(
                    "moodle refused a record",
                    site=self.name,
                    function=call.function,
                    reason=exc.reason,
                )
                return BatchResult(failed=[Failed(batch[0], exc)])
            return await self._split(run, batch, may_adopt=False)
        return call.read(batch, reply.answer)

    async def _adopt(
        self,
        run: _Run[T],
        batch: list[T],
        error: RecordError,
        lookup: Callable[[Sequence[T]], Awaitable[dict[int, int]]],
    ) -> BatchResult[T]:
        found = await lookup(batch)
        result: BatchResult[T] = BatchResult(
            confirmed=[
                Confirmed(batch[i], moodle_id, adopted=True) for i, moodle_id in found.items()
            ]
        )
        rest = [item for i, item in enumerate(batch) if i not in found]
        if not rest:
            return result
        if not found and len(rest) == 1:
            result.failed.append(Failed(rest[0], error))
            return result
        # The rest was looked up too: none of it exists, so no further adoption.
        if found:
            result.extend(await self._isolate(run, rest, may_adopt=False))
        else:
            result.extend(await self._split(run, rest, may_adopt=False))
        return result

    async def _split(self, run: _Run[T], batch: list[T], *, may_adopt: bool) -> BatchResult[T]:
        # One half after the other, as Moodle would have taken the batch: it checks
        # e-mail uniqueness by reading before inserting, without a constraint, so two
        # halves sent at once could both create an address the batch holds twice
        # (seen on a real 5.0.6+).
        middle = len(batch) // 2
        halves: list[BatchResult[T]] = [BatchResult(), BatchResult()]
        errors: list[MoodleError] = []
        for index, part in enumerate((batch[:middle], batch[middle:])):
            try:
                halves[index] = await self._isolate(run, part, may_adopt)
            except MoodleError as exc:
                errors.append(exc)
                break
        halves[0].extend(halves[1])
        if errors:
            # Whatever the other half got confirmed is written in Moodle: report it first.
            if halves[0].confirmed or halves[0].failed:
                await self._report(run, halves[0])
            raise errors[0]
        return halves[0]
