"""The plan applier: runs a plan's batches through the Moodle client, recording as it goes.

The applier walks :meth:`farm.plan.Plan.batches` in order and sends each
batch with the client call that fits it (``apply_users``, ``apply_links``).
Whatever Moodle confirms is handed to the ``record`` callback
(:data:`farm.applied.Recorder`) at once, one client batch at a time, as a
:class:`farm.applied.Confirmation`: the confirmed operations with the index
writes :func:`farm.index.index_writes` gives, which the registry records in
one transaction. The handlers write through a
:class:`~farm.moodle.site_writer.SiteWriter`, whose own copy of the index
moves forward only after ``record`` returned, so that later batches
(memberships need the ids of accounts created earlier) read exactly what the
registry holds.

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

A step may have a preparer, run once over all its operations before its
slices: person creations are looked up at once, in calls of up to ten
batches' worth of values, and each slice decides with what its people's
values found. A handler may ask for some operations to run after the
others, alone (:data:`Slicer`): person creations whose idnumber, username
or e-mail collides with another creation of the step are decided
together, after the rest, so that no slice adopts an account another
slice just created.

A site-level error (bad token, missing function, truncated answers) or a
transport failure past the client's retries stops the run: slices in flight
finish, no new slice starts. A record Moodle refuses is reported and
skipped. A failure of ``record`` (the registry) stops the run too and is
raised by :meth:`Applier.apply` as it was raised, never wrapped in an
exception group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import anyio

from farm.applied import Applied, Recorder
from farm.index import SiteIndex
from farm.model import Kind
from farm.moodle.apply_links import LINK_HANDLERS
from farm.moodle.apply_users import USER_HANDLERS, USER_PREPARERS, USER_SLICERS
from farm.moodle.client import MoodleClient
from farm.moodle.errors import MoodleError, RecordError
from farm.moodle.site_writer import ApplyResult, Handler, SiteWriter, Slicer
from farm.moodle.unenrolments import UNENROL_HANDLERS, UNENROL_SLICERS
from farm.operation import Action, Operation
from farm.passwords import CredentialsFile
from farm.plan import Plan
from farm.site_rules import SiteRules

Progress = Callable[[int, int], None]


async def _reindex(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    await writer.confirm([Applied(op) for op in ops])


#: Which handler applies each step; a step missing here is refused, operation by operation.
HANDLERS: Mapping[tuple[Kind, Action], Handler] = {
    **USER_HANDLERS,
    **LINK_HANDLERS,
    **UNENROL_HANDLERS,
    **{(kind, Action.REINDEX): _reindex for kind in Kind},
}
SLICERS: Mapping[tuple[Kind, Action], Slicer] = {**USER_SLICERS, **UNENROL_SLICERS}
#: What runs once over a step's operations before its slices (the people's lookups).
PREPARERS: Mapping[tuple[Kind, Action], Handler] = USER_PREPARERS


class Applier:
    """Apply one plan to one site; see the module docstring.

    ``record`` must write a :class:`~farm.applied.Confirmation` durably
    before returning. ``progress(done, total)`` is called after every slice.
    ``rules`` are the site's (role ids, password delivery); ``credentials``
    is where new manual accounts' passwords go when the site delivers them
    by file. ``handlers``, ``slicers`` and ``preparers`` default to the farm's.
    """

    def __init__(
        self,
        client: MoodleClient,
        index: SiteIndex,
        record: Recorder,
        *,
        stop: anyio.Event | None = None,
        progress: Progress | None = None,
        rules: SiteRules | None = None,
        credentials: CredentialsFile | None = None,
        handlers: Mapping[tuple[Kind, Action], Handler] = HANDLERS,
        slicers: Mapping[tuple[Kind, Action], Slicer] = SLICERS,
        preparers: Mapping[tuple[Kind, Action], Handler] = PREPARERS,
    ) -> None:
        self.client = client
        self.writer = SiteWriter(client, index, record, rules=rules, credentials=credentials)
        self._handlers = handlers
        self._slicers = slicers
        self._preparers = preparers
        self._stop = stop
        self._progress = progress
        self._total = 0
        self._failure: BaseException | None = None

    @property
    def result(self) -> ApplyResult:
        """What the apply did so far (all of it once :meth:`apply` returned)."""
        return self.writer.result

    async def apply(self, plan: Plan) -> ApplyResult:
        """Apply ``plan``; never raises for Moodle failures (see :class:`ApplyResult`).

        A failure of ``record`` is raised once the slices in flight ended.
        """
        if plan.blocked is not None:
            raise ValueError(f"plan of {plan.site} is blocked: {plan.blocked.reason}")
        if plan.simulate:
            raise ValueError(f"plan of {plan.site} is a simulation: it must not be applied")
        self._total = len(plan.operations)
        try:
            for batch in plan.batches():
                if self._halted():
                    break
                await self._run_step(batch.kind, batch.action, batch.operations)
                # Only a step's own operations are asked about (after its preparer, or
                # its slices' refusals): what earlier steps settled is not kept.
                self.writer.forget_settled()
        finally:
            self.result.index = self.writer.index.frozen()
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
        handler = self._handlers.get((kind, action))
        if handler is None:
            for op in ops:
                self.writer.refuse(op, f"the farm cannot {action} a {kind} in Moodle")
            return
        prepare = self._preparers.get((kind, action))
        if prepare is not None:
            # As a slice would: a refused lookup refuses the step, a site error stops the run.
            await self._run_slice(prepare, ops)
            ops = [op for op in ops if not self.writer.settled(op)]
            if self._halted() or not ops:
                return
        size = max(1, 2 * self.client.limits.records_per_batch)
        slicer = self._slicers.get((kind, action), _slices)
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
                await handler(self.writer, chunk)
            except RecordError as error:
                # A lookup the slice needed was refused: none of it was sent.
                for op in chunk:
                    if not self.writer.settled(op):
                        self.writer.refuse(op, error.reason)
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


def _slices(ops: Sequence[Operation], size: int) -> tuple[list[list[Operation]], list[Operation]]:
    return [list(ops[i : i + size]) for i in range(0, len(ops), size)], []


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error of a task group's exception group, unwrapped."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first(error)
        if not isinstance(error, anyio.get_cancelled_exc_class()):
            return error
    return group.exceptions[0]
