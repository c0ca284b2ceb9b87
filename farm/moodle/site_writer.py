"""What the applier's handlers write through: the site's client, its index, the results.

A handler (:data:`Handler`: ``apply_users``, ``apply_links``) sends one
slice of a step to Moodle and hands back what Moodle said:
:meth:`SiteWriter.confirm` records the confirmed operations (through the
:data:`farm.applied.Recorder` the engine gave) and then moves the writer's
own index forward, :meth:`SiteWriter.refuse` reports one operation with its
reason. The writer knows nothing of steps, slices or concurrency: that is
:class:`farm.moodle.applier.Applier`, which owns a writer and the handler
table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from farm.applied import Applied, Confirmation, Recorder, Refused, Skipped
from farm.index import IndexWrite, LiveIndex, SiteIndex, index_writes
from farm.model import CATEGORY_BY_IDNUMBER, COURSE_BY_SHORTNAME, Kind
from farm.moodle.client import MoodleClient
from farm.moodle.errors import MoodleError, SiteError
from farm.operation import Action, Operation
from farm.passwords import CredentialsFile
from farm.secrets import Secret
from farm.site_rules import SiteRules

Handler = Callable[["SiteWriter", Sequence[Operation]], Awaitable[None]]
"""Send one slice of a step to Moodle, confirming and refusing through the writer."""
Slicer = Callable[[Sequence[Operation], int], tuple[list[list[Operation]], list[Operation]]]
"""Cut a step into slices that may run at once, and the operations to run after them, alone."""


@dataclass
class ApplyResult:
    """What one apply did.

    ``stopped`` is true when ``stop`` was set before the plan ended;
    ``error`` is the site-level failure that ended the run early, if any.
    ``index`` is the index after everything recorded. ``skipped`` are the
    operations left for a later run because the course (or category) they
    need is not on the site.
    """

    index: SiteIndex
    refused: list[Refused] = field(default_factory=list)
    stopped: bool = False
    error: MoodleError | None = None
    skipped: list[Skipped] = field(default_factory=list)
    #: The operations Moodle confirmed, in order, and (by id) those that adopted what
    #: they found: the plan holds the operations, so each costs this list's slot only.
    confirmed: list[Operation] = field(default_factory=list)
    adopted: set[int] = field(default_factory=set)

    @property
    def applied(self) -> list[Applied]:
        """What Moodle confirmed, as the report counts it.

        Moodle's ids and what adoptions found are in the index and the journal.
        """
        adopted = self.adopted
        return [Applied(op, adopted=id(op) in adopted) for op in self.confirmed]

    @property
    def done(self) -> int:
        return len(self.confirmed) + len(self.refused) + len(self.skipped)


class SiteWriter:
    """One apply's writes to one site; see the module docstring.

    ``record`` must write a :class:`~farm.applied.Confirmation` durably
    before returning. ``rules`` are the site's (role ids, password
    delivery); ``credentials`` is where new manual accounts' passwords go
    when the site delivers them by file.
    """

    def __init__(
        self,
        client: MoodleClient,
        index: SiteIndex,
        record: Recorder,
        *,
        rules: SiteRules | None = None,
        credentials: CredentialsFile | None = None,
    ) -> None:
        self.client = client
        # What the site accepts: role ids, how new manual accounts get a password.
        self.rules = rules or SiteRules(site=client.name)
        self._credentials = credentials
        # The writer's own copy, moved forward in place after each recorded batch.
        self.index = LiveIndex(index)
        self._record = record
        self.result = ApplyResult(index)
        # Course ids by course reference; None when Moodle has no such course.
        self.courses: dict[str, int | None] = {}
        # Category ids by category reference; None when Moodle has no such category.
        self.categories: dict[str, int | None] = {}
        # Moodle ids adoption decided to take this run, not recorded yet: key by id, per kind.
        self.claimed: dict[Kind, dict[int, str]] = {}
        self._done: set[int] = set()
        # What a step's preparer found for its slices (the people's lookups), by step.
        self.prepared: dict[tuple[Kind, Action], object] = {}
        # The records' values the handlers read, by id of the operation, until recorded.
        self._values: dict[int, Mapping[str, Any]] = {}
        self._confirming = anyio.Lock()

    async def confirm(self, applied: Sequence[Applied]) -> None:
        """Record operations Moodle confirmed, then move the index forward."""
        if not applied:
            return
        # One confirmation at a time: each reads the index the previous one left.
        async with self._confirming:
            writes: list[IndexWrite] = []
            dropped: set[tuple[Kind, str]] = set()
            for item in applied:
                made = self._values.pop(id(item.operation), None)
                for write in index_writes(self.index, item.operation, item.moodle_id, made):
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
            self.result.confirmed.extend(item.operation for item in applied)
            self.result.adopted.update(id(item.operation) for item in applied if item.adopted)
            self._done.update(id(item.operation) for item in applied)
            for item in applied:
                if item.adopted and item.moodle_id is not None:
                    self.claimed.get(item.operation.kind, {}).pop(item.moodle_id, None)

    def refuse(self, op: Operation, reason: str) -> None:
        self.result.refused.append(Refused(op, reason))
        self._done.add(id(op))
        self._values.pop(id(op), None)

    def skip(self, op: Operation, missing: str) -> None:
        """Leave ``op`` for a later run: ``missing`` (a course) is not on the site."""
        self.result.skipped.append(Skipped(op, missing))
        self._done.add(id(op))
        self._values.pop(id(op), None)

    def values(self, op: Operation) -> Mapping[str, Any]:
        """The record's values, or for a removal those the index kept of it.

        Made once per operation: the index write that records it reuses them.
        """
        if op.record is None:
            return op.previous.values if op.previous is not None else {}
        made = self._values.get(id(op))
        if made is None:
            made = self._values[id(op)] = op.record.values()
        return made

    def settled(self, op: Operation) -> bool:
        """Whether the operation was confirmed or refused already, since :meth:`forget_settled`."""
        return id(op) in self._done

    def forget_settled(self) -> None:
        """Forget which operations were settled: the applier's step is over.

        One id per operation of a whole apply would be kept otherwise (about
        110 bytes per person on a first sync).
        """
        self._done.clear()

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

    def moodle_id(self, kind: Kind, key: str) -> int | None:
        entry = self.index.get(kind, key)
        return None if entry is None else entry.moodle_id

    async def course_id(self, reference: str) -> int | None:
        """The Moodle id of a course, looked up once per run.

        A reference is the course's idnumber, or ``shortname:`` and its
        shortname (the SDET course rules' ``match = "shortname"``).
        """
        if reference not in self.courses:
            field, value = "idnumber", reference
            if reference.startswith(COURSE_BY_SHORTNAME):
                field, value = "shortname", reference[len(COURSE_BY_SHORTNAME) :]
            found = await self.client.get_courses_by_field(field, value)
            self.courses[reference] = found[0].id if found else None
        return self.courses[reference]

    def course_missing(self, reference: str) -> bool:
        """Whether this run looked the course up and Moodle has none."""
        return reference in self.courses and self.courses[reference] is None

    async def category_id(self, reference: str) -> int | None:
        """The Moodle id of a category: a bare id, or ``idnumber:`` and its idnumber.

        A lookup by idnumber is made once per run.
        """
        if reference.isdigit():
            return int(reference)
        if not reference.startswith(CATEGORY_BY_IDNUMBER):
            return None
        if reference not in self.categories:
            idnumber = reference[len(CATEGORY_BY_IDNUMBER) :]
            found = await self.client.get_categories_by_idnumber(idnumber)
            self.categories[reference] = found[0].id if found else None
        return self.categories[reference]


class LinkedIds(Mapping[int, str]):
    """Moodle id -> key: the ids adoption claimed this run, then those the index holds.

    A view over both, not a copy: a slice of creations reads it without
    paying for the site's size (a 50,000-person site once rebuilt the map
    for each slice of 200).
    """

    __slots__ = ("_claimed", "_held")

    def __init__(self, claimed: Mapping[int, str], held: Mapping[int, str]) -> None:
        self._claimed = claimed
        self._held = held

    def __getitem__(self, moodle_id: int) -> str:
        found = self._claimed.get(moodle_id)
        return self._held[moodle_id] if found is None else found

    def __iter__(self) -> Iterator[int]:
        yield from self._claimed
        yield from (i for i in self._held if i not in self._claimed)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def linked(writer: SiteWriter, kind: Kind) -> Mapping[int, str]:
    """Moodle ids the index holds for ``kind``, and those adoption claimed this run."""
    return LinkedIds(writer.claimed.get(kind, {}), writer.index.linked_accounts(kind))
