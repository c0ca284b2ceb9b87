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

Each step of the plan (one kind and action) is cut into slices of
``2 * records_per_batch`` operations, and ``calls_in_flight`` slices run at
once, a new one starting as soon as one ends: with two client batches per
slice there is always a batch waiting for each of the site's call slots,
even while another slice is recording, and no slice waits for its
neighbours (there is no barrier inside a step). A step ends only when all
its slices did, so every creation of a step is recorded before the next
step starts. Before a slice starts the applier looks at ``stop``; a slice
and its recording run shielded from cancellation, so an interrupted run
records everything Moodle confirmed. Confirmations are recorded one at a
time, in the order Moodle gave them, each in its own registry transaction.

A handler may ask for some operations to run after the others, alone
(:data:`Slicer`): person creations whose idnumber, username or e-mail
collides with another creation of the step are decided together, after
the rest, so that no slice adopts an account another slice just created.

A site-level error (bad token, missing function, truncated answers) or a
transport failure past the client's retries stops the run: slices in flight
finish, no new slice starts. A record Moodle refuses is reported and
skipped. A failure of ``record`` (the registry) stops the run too and is
raised by :meth:`Applier.apply` as it was raised, never wrapped in an
exception group.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from farm.index import IndexWrite, LiveIndex, SiteIndex, index_writes
from farm.model import Kind
from farm.moodle.client import MoodleClient
from farm.moodle.errors import MoodleError, RecordError, SiteError
from farm.operation import Action, Operation
from farm.passwords import CredentialsFile
from farm.plan import Plan
from farm.secrets import Secret
from farm.site_rules import SiteRules


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
Handler = Callable[["Applier", Sequence[Operation]], Awaitable[None]]
Slicer = Callable[[Sequence[Operation], int], tuple[list[list[Operation]], list[Operation]]]
"""Cut a step into slices that may run at once, and the operations to run after them, alone."""


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
    ``progress(done, total)`` is called after every slice. ``rules`` are the
    site's (role ids, password delivery); ``credentials`` is where new manual
    accounts' passwords go when the site delivers them by file.
    """

    def __init__(
        self,
        client: MoodleClient,
        index: SiteIndex,
        record: Record,
        *,
        stop: anyio.Event | None = None,
        progress: Progress | None = None,
        rules: SiteRules | None = None,
        credentials: CredentialsFile | None = None,
    ) -> None:
        self.client = client
        # What the site accepts: role ids, how new manual accounts get a password.
        self.rules = rules or SiteRules(site=client.name)
        self._credentials = credentials
        # The applier's own copy, moved forward in place after each recorded batch.
        self.index = LiveIndex(index)
        self._record = record
        self._stop = stop
        self._progress = progress
        self.result = ApplyResult(index)
        # Course ids by course idnumber; None when Moodle has no such course.
        self.courses: dict[str, int | None] = {}
        # Moodle ids adoption decided to take this run, not recorded yet: key by id, per kind.
        self.claimed: dict[Kind, dict[int, str]] = {}
        self._done: set[int] = set()
        self._total = 0
        self._confirming = anyio.Lock()
        self._failure: BaseException | None = None

    async def apply(self, plan: Plan) -> ApplyResult:
        """Apply ``plan``; never raises for Moodle failures (see :class:`ApplyResult`).

        A failure of ``record`` is raised once the slices in flight ended.
        """
        if plan.blocked is not None:
            raise ValueError(f"plan of {plan.site} is blocked: {plan.blocked.reason}")
        if plan.simulate:
            raise ValueError(f"plan of {plan.site} is a simulation: it must not be applied")
        self._total = len(plan.operations)
        calls_before = self.client.calls
        try:
            for batch in plan.batches():
                if self._halted():
                    break
                await self._run_step(batch.kind, batch.action, batch.operations)
        finally:
            self.result.index = self.index.frozen()
            self.result.moodle_calls = self.client.calls - calls_before
        if self._failure is not None:
            raise self._failure
        return self.result

    def _halted(self) -> bool:
        """Whether no new slice may start: stop was asked, or the run failed."""
        if self.result.error is not None or self._failure is not None:
            return True
        if self._stop is not None and self._stop.is_set():
            self.result.stopped = True
            return True
        return False

    async def _run_step(self, kind: Kind, action: Action, ops: Sequence[Operation]) -> None:
        # Imported here: the handler modules import this one for its types.
        from farm.moodle.apply_links import LINK_HANDLERS
        from farm.moodle.apply_users import USER_HANDLERS, USER_SLICERS

        handler: Handler | None
        if action is Action.REINDEX:
            handler = _reindex
        else:
            handler = USER_HANDLERS.get((kind, action)) or LINK_HANDLERS.get((kind, action))
        if handler is None:
            for op in ops:
                self.refuse(op, f"the farm cannot {action} a {kind} in Moodle")
            return
        size = max(1, 2 * self.client.limits.records_per_batch)
        slicer = USER_SLICERS.get((kind, action), _slices)
        slices, alone = slicer(ops, size)
        await self._run_slices(handler, slices)
        if alone:
            await self._run_slices(handler, [alone])

    async def _run_slices(self, handler: Handler, slices: Sequence[Sequence[Operation]]) -> None:
        """Run the slices, ``calls_in_flight`` at once, each starting as soon as a slot is free."""
        slots = anyio.Semaphore(max(1, self.client.limits.calls_in_flight))

        async def run(chunk: Sequence[Operation]) -> None:
            try:
                await self._run_slice(handler, chunk)
            finally:
                slots.release()

        async with anyio.create_task_group() as group:
            for chunk in slices:
                await slots.acquire()
                if self._halted():
                    slots.release()
                    break
                group.start_soon(run, chunk)

    async def _run_slice(self, handler: Handler, chunk: Sequence[Operation]) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await handler(self, chunk)
            except RecordError as error:
                # A lookup the slice needed was refused: none of it was sent.
                for op in chunk:
                    if not self._settled(op):
                        self.refuse(op, error.reason)
            except MoodleError as error:
                self.result.error = self.result.error or error
            except BaseExceptionGroup as group:
                self._fail(_first(group))
            except Exception as error:
                self._fail(error)
        if self._progress is not None:
            self._progress(self.result.done, self._total)

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, MoodleError):
            self.result.error = self.result.error or error
        elif self._failure is None:
            self._failure = error

    def _settled(self, op: Operation) -> bool:
        return id(op) in self._done

    # -- what handlers call -------------------------------------------------------

    async def confirm(self, applied: Sequence[Applied]) -> None:
        """Record operations Moodle confirmed, then move the index forward."""
        if not applied:
            return
        # One confirmation at a time: each reads the index the previous one left.
        async with self._confirming:
            writes: list[IndexWrite] = []
            dropped: set[tuple[Kind, str]] = set()
            for item in applied:
                for write in index_writes(self.index, item.operation, item.moodle_id):
                    if write.entry is None:
                        # Two deletions may cascade to one membership (its person and
                        # its cohort): drop it once.
                        if (write.kind, write.key) in dropped:
                            continue
                        dropped.add((write.kind, write.key))
                    writes.append(write)
            confirmation = Confirmation(tuple(applied), tuple(writes))
            await self._record(confirmation)
            self.index.write(writes)
            self.result.applied.extend(applied)
            self._done.update(id(item.operation) for item in applied)
            for item in applied:
                if item.adopted and item.moodle_id is not None:
                    self.claimed.get(item.operation.kind, {}).pop(item.moodle_id, None)

    @property
    def has_credentials_file(self) -> bool:
        return self._credentials is not None

    async def keep_credentials(self, rows: Sequence[tuple[str, Secret]]) -> None:
        """Append new accounts' passwords to the run's owner-only credentials file.

        A file that cannot be written stops writing to the site (before the
        accounts are sent): an account whose password nobody has is lost.
        """
        if not rows or self._credentials is None:
            return
        try:
            await anyio.to_thread.run_sync(self._credentials.append, rows)
        except OSError as error:
            raise SiteError(
                f"cannot write the credentials file {self._credentials.path}: {error}; "
                "the accounts it was for were not created",
                site=self.client.name,
            ) from None

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


def linked(applier: Applier, kind: Kind) -> dict[int, str]:
    """Moodle ids the index holds for ``kind``, and those adoption claimed this run."""
    return {**applier.index.linked_accounts(kind), **applier.claimed.get(kind, {})}


def _slices(ops: Sequence[Operation], size: int) -> tuple[list[list[Operation]], list[Operation]]:
    return [list(ops[i : i + size]) for i in range(0, len(ops), size)], []


async def _reindex(applier: Applier, ops: Sequence[Operation]) -> None:
    await applier.confirm([Applied(op) for op in ops])


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error of a task group's exception group, unwrapped."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first(error)
        if not isinstance(error, anyio.get_cancelled_exc_class()):
            return error
    return group.exceptions[0]


def values_of(op: Operation) -> Mapping[str, Any]:
    """The record's values, or for a removal those the index kept of it."""
    if op.record is not None:
        return op.record.values()
    return op.previous.values if op.previous is not None else {}
