"""The plan applier: runs a plan's batches through the Moodle client, recording as it goes.

The applier walks :meth:`farm.plan.Plan.batches` in order and sends each
batch with the client call that fits it (``apply_users``, ``apply_links``).
Whatever Moodle confirms is handed to the ``record`` callback at once, one
client batch at a time, as the index writes :func:`farm.index.index_writes`
gives plus the confirmed operations: the caller writes both to the registry
in one transaction. The applier's own copy of the index moves forward only
after ``record`` returned, so that later batches (memberships need the ids of
accounts created earlier) read exactly what the registry holds.

A crash between Moodle's confirmation and the recording loses the
confirmation, never the change: the rerun plans the same operation again,
and every operation is safe to repeat. Creations look the object up first
and adopt it (an account by idnumber, username then e-mail; a cohort or a
group by idnumber); additions and removals are idempotent in Moodle; a
deletion that Moodle refuses because the object is already gone counts as
done.

Batches are cut into chunks of ``records_per_batch * calls_in_flight``
operations. Between chunks the applier looks at ``stop``; each chunk and
its recording run shielded from cancellation, so an interrupted run records
everything Moodle confirmed. A site-level error (bad token, missing
function, truncated answers) or a transport failure past the client's
retries stops the run; a record Moodle refuses is reported and skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from farm.index import IndexWrite, SiteIndex, index_writes
from farm.model import Kind
from farm.moodle.client import MoodleClient
from farm.moodle.errors import MoodleError, RecordError
from farm.operation import Action, Batch, Operation
from farm.plan import Plan


@dataclass(frozen=True, slots=True)
class Applied:
    """An operation Moodle confirmed.

    ``moodle_id`` is the id Moodle answered for a creation, or the account,
    cohort or group adopted; ``adopted`` says the object already existed,
    and ``found`` holds its values before the farm updated it.
    """

    operation: Operation
    moodle_id: int | None = None
    adopted: bool = False
    found: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """An operation that was not applied, with the reason (Moodle's, or the farm's)."""

    operation: Operation
    reason: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What to record in one registry transaction: confirmed operations and their index writes."""

    applied: tuple[Applied, ...]
    writes: tuple[IndexWrite, ...]


Record = Callable[[Confirmation], Awaitable[None]]
Progress = Callable[[int, int], None]


@dataclass
class ApplyResult:
    """What one apply did.

    ``stopped`` is true when ``stop`` was set before the plan ended;
    ``error`` is the site-level failure that ended the run early, if any.
    ``index`` is the index after everything recorded.
    """

    index: SiteIndex
    applied: list[Applied] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    stopped: bool = False
    error: MoodleError | None = None
    moodle_calls: int = 0

    @property
    def done(self) -> int:
        return len(self.applied) + len(self.refused)


class Applier:
    """Apply one plan to one site; see the module docstring.

    ``record`` must write a :class:`Confirmation` durably before returning.
    ``progress(done, total)`` is called after every chunk.
    """

    def __init__(
        self,
        client: MoodleClient,
        index: SiteIndex,
        record: Record,
        *,
        stop: anyio.Event | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.index = index
        self._record = record
        self._stop = stop
        self._progress = progress
        self.result = ApplyResult(index)
        # Course ids by course idnumber; None when Moodle has no such course.
        self.courses: dict[str, int | None] = {}
        self._done: set[int] = set()

    async def apply(self, plan: Plan) -> ApplyResult:
        """Apply ``plan``; never raises for Moodle failures (see :class:`ApplyResult`)."""
        if plan.blocked is not None:
            raise ValueError(f"plan of {plan.site} is blocked: {plan.blocked.reason}")
        if plan.simulate:
            raise ValueError(f"plan of {plan.site} is a simulation: it must not be applied")
        total = len(plan.operations)
        calls_before = self.client.calls
        try:
            for batch in plan.batches():
                for chunk in self._chunks(batch):
                    if self._stop is not None and self._stop.is_set():
                        self.result.stopped = True
                        return self.result
                    with anyio.CancelScope(shield=True):
                        await self._run_chunk(batch.kind, batch.action, chunk)
                    if self._progress is not None:
                        self._progress(self.result.done, total)
                    if self.result.error is not None:
                        return self.result
        finally:
            self.result.index = self.index
            self.result.moodle_calls = self.client.calls - calls_before
        return self.result

    def _chunks(self, batch: Batch) -> Iterator[tuple[Operation, ...]]:
        limits = self.client.limits
        size = max(1, limits.records_per_batch * limits.calls_in_flight)
        ops = batch.operations
        for start in range(0, len(ops), size):
            yield ops[start : start + size]

    async def _run_chunk(self, kind: Kind, action: Action, chunk: Sequence[Operation]) -> None:
        # Imported here: the handler modules import this one for its types.
        from farm.moodle.apply_links import LINK_HANDLERS
        from farm.moodle.apply_users import USER_HANDLERS

        if action is Action.REINDEX:
            await self.confirm([Applied(op) for op in chunk])
            return
        handler = USER_HANDLERS.get((kind, action)) or LINK_HANDLERS.get((kind, action))
        if handler is None:
            for op in chunk:
                self.refuse(op, f"the farm cannot {action} a {kind} in Moodle")
            return
        try:
            await handler(self, chunk)
        except RecordError as error:
            # A lookup the chunk needed was refused: none of it was sent.
            for op in chunk:
                if not self._settled(op):
                    self.refuse(op, error.reason)
        except MoodleError as error:
            self.result.error = error

    def _settled(self, op: Operation) -> bool:
        return id(op) in self._done

    # -- what handlers call -------------------------------------------------------

    async def confirm(self, applied: Sequence[Applied]) -> None:
        """Record operations Moodle confirmed, then move the index forward."""
        if not applied:
            return
        writes: list[IndexWrite] = []
        current = self.index
        for item in applied:
            found = index_writes(current, item.operation, item.moodle_id)
            writes.extend(found)
            if item.operation.action is Action.DELETE:
                # A later deletion's cascade must not see entries dropped here.
                current = current.with_writes(found)
        confirmation = Confirmation(tuple(applied), tuple(writes))
        await self._record(confirmation)
        self.index = self.index.with_writes(writes)
        self.result.applied.extend(applied)
        self._done.update(id(item.operation) for item in applied)

    def refuse(self, op: Operation, reason: str) -> None:
        self.result.refused.append(Refused(op, reason))
        self._done.add(id(op))

    def moodle_id(self, kind: Kind, key: str) -> int | None:
        entry = self.index.get(kind, key)
        return None if entry is None else entry.moodle_id

    async def course_id(self, idnumber: str) -> int | None:
        """The Moodle id of the course with this idnumber, looked up once per run."""
        if idnumber not in self.courses:
            found = await self.client.get_courses_by_field("idnumber", idnumber)
            self.courses[idnumber] = found[0].id if found else None
        return self.courses[idnumber]


def values_of(op: Operation) -> Mapping[str, Any]:
    """The record's values, or for a removal those the index kept of it."""
    if op.record is not None:
        return op.record.values()
    return op.previous.values if op.previous is not None else {}
