"""The per-site index in memory: what the farm last wrote to one Moodle site.

The registry stores, per site and kind, one row per record key: the Moodle id,
the record's digest, the values last written (a JSON object), the tenants the
record came from and whether the farm suspended it. This module holds the
same facts as plain immutable values for the planner, and the one rule that
turns an operation Moodle confirmed into index writes, so that the in-memory
index of the tests and the registry of the applier change in the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from farm.digest import list_digest
from farm.index_values import JsonValues
from farm.model import MEMBERSHIP_KINDS, IndexEntry, Kind
from farm.operation import Action, Operation


@dataclass(frozen=True, slots=True)
class IndexWrite:
    """One change to the index: ``entry`` replaces the row, or None drops it.

    ``cascaded`` is the entry a deletion dropped along with its person or
    cohort (Moodle removes an account's or a cohort's links with it): the
    journal keeps it as a removal of its own, which an undo puts back.
    """

    kind: Kind
    key: str
    entry: IndexEntry | None
    cascaded: IndexEntry | None = None


_NO_ENTRIES: Mapping[str, IndexEntry] = MappingProxyType({})
_Owners = dict[tuple[Kind, str], dict[tuple[Kind, str], None]]

# Which field of a dependent entry's values names its owner.
_OWNER_FIELD = {
    Kind.COHORT_MEMBER: ("person", "cohort"),
    Kind.ENROLMENT: ("person",),
    Kind.GROUP_MEMBER: ("person",),
    Kind.ROLE_ASSIGNMENT: ("person",),
}


class SiteIndex:
    """The index of one site: per kind, key -> :class:`IndexEntry`. Immutable."""

    __slots__ = ("_dependents", "_entries")

    def __init__(self, entries: Iterable[IndexEntry] = ()) -> None:
        by_kind: dict[Kind, dict[str, IndexEntry]] = {kind: {} for kind in Kind}
        for entry in entries:
            by_kind[entry.kind][entry.key] = entry
        self._entries = by_kind
        # Owner (person or cohort) -> its membership entries, as an ordered set; built lazily.
        self._dependents: _Owners | None = None

    def get(self, kind: Kind, key: str) -> IndexEntry | None:
        return self._entries[kind].get(key)

    def of(self, kind: Kind) -> Mapping[str, IndexEntry]:
        """The entries of one kind by key."""
        return self._entries.get(kind, _NO_ENTRIES)

    def __iter__(self) -> Iterator[IndexEntry]:
        for kind in Kind:
            yield from self._entries[kind].values()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SiteIndex) and self._entries == other._entries

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self._entries.items() if v)
        return f"SiteIndex({counts})"

    def linked_accounts(self, kind: Kind = Kind.PERSON) -> Mapping[int, str]:
        """Moodle id -> key for one kind: which Moodle objects the farm already owns."""
        return {
            entry.moodle_id: key
            for key, entry in self._entries[kind].items()
            if entry.moodle_id is not None
        }

    def dependents(self, kind: Kind, key: str) -> tuple[tuple[Kind, str], ...]:
        """The membership entries that Moodle drops when it deletes this person or cohort."""
        return tuple(self._owners().get((kind, key), ()))

    def _owners(self) -> _Owners:
        """Owner -> its dependents, built once per index and carried over by writes."""
        if self._dependents is None:
            found: _Owners = {}
            for dependent_kind in MEMBERSHIP_KINDS:
                for dep_key, entry in self._entries[dependent_kind].items():
                    for owner in _owners_of(entry):
                        found.setdefault(owner, {})[(dependent_kind, dep_key)] = None
            self._dependents = found
        return self._dependents

    def with_writes(self, writes: Iterable[IndexWrite]) -> SiteIndex:
        """A new index with ``writes`` applied in order; this one is left as it is.

        Costs the size of the kinds written to, not of every kind, and keeps
        the dependents map up to date instead of rebuilding it. A loop that
        moves an index forward many times (an apply, :func:`apply_confirmed`)
        uses a :class:`LiveIndex` instead, which copies nothing per write.
        """
        copy = SiteIndex()
        copy._entries = dict(self._entries)
        copy._dependents = None if self._dependents is None else dict(self._dependents)
        copy._write(writes, set())
        return copy

    def _write(self, writes: Iterable[IndexWrite], fresh: set[object]) -> int:
        """Apply ``writes`` to this object's tables; how many entries it copied.

        The per-kind tables and the owners' sets may belong to another index
        too, but for those named in ``fresh`` (kinds and owners): each is
        copied the first time it changes, then named there.
        """
        entries, owners = self._entries, self._dependents
        copied = 0

        def own(table: dict[Any, Any], key: Any, tag: object) -> Any:
            nonlocal copied
            if tag not in fresh:
                table[key] = dict(table[key])
                fresh.add(tag)
                if table is entries:
                    copied += len(table[key])
            return table[key]

        for write in writes:
            kind = write.kind
            table: dict[str, IndexEntry] = own(entries, kind, kind)
            previous = table.get(write.key)
            if write.entry is None:
                table.pop(write.key, None)
            else:
                table[write.key] = write.entry
            if owners is None or kind not in MEMBERSHIP_KINDS:
                continue
            dependent = (kind, write.key)
            if previous is not None:
                for owner in _owners_of(previous):
                    if owner in owners:
                        deps = own(owners, owner, owner)
                        deps.pop(dependent, None)
                        if not deps:
                            del owners[owner]
                            fresh.discard(owner)
            if write.entry is not None:
                for owner in _owners_of(write.entry):
                    if owner not in owners:
                        owners[owner] = {}
                        fresh.add(owner)
                    own(owners, owner, owner)[dependent] = None
        return copied


class LiveIndex(SiteIndex):
    """An index that one applier owns and moves forward in place, batch after batch.

    Copying a whole index for every confirmed batch would make a long run
    quadratic (4,000 deletions once took 52 s of CPU). It starts on the
    tables of the index it is made from and copies each kind's table (and
    each owner's set of dependents) the first time a write changes it, then
    writes there in place: a run that changes nothing copies nothing, and
    the index it came from never changes. :meth:`frozen` hands out an
    immutable copy. Its dependents and, per kind, its Moodle ids
    (:meth:`linked_accounts`) are built on first use and kept up to date by
    each write, so that a deletion's cascade or an adoption's check costs
    the records it reads, not the site's size.
    """

    __slots__ = ("_fresh", "_linked", "_source", "copied")

    def __init__(self, index: SiteIndex) -> None:
        super().__init__()
        #: Index entries this index copied so far (what a benchmark counts).
        self.copied = 0
        # The tables and owners' sets this index copied already: its own, written in place.
        self._fresh: set[object] = set()
        self._linked: dict[Kind, dict[int, str]] = {}
        self._source = index
        if isinstance(index, LiveIndex):  # its tables change in place: none can be shared
            self._entries = {kind: dict(table) for kind, table in index._entries.items()}
            self._fresh.update(self._entries)
            self.copied = len(index)
        else:
            self._entries = dict(index._entries)
            self._dependents = None if index._dependents is None else dict(index._dependents)

    def linked_accounts(self, kind: Kind = Kind.PERSON) -> Mapping[int, str]:
        """Moodle id -> key for one kind, a read-only view that follows later writes.

        When two keys hold one id (an index that ``farm reconcile`` should
        repair), the one written last is given.
        """
        linked = self._linked.get(kind)
        if linked is None:
            linked = self._linked[kind] = dict(super().linked_accounts(kind))
        return MappingProxyType(linked)

    def write(self, writes: Iterable[IndexWrite]) -> None:
        """Apply ``writes`` here, in order."""
        writes = tuple(writes)
        if self._linked:
            self._link(writes)
        self.copied += self._write(writes, self._fresh)

    def _link(self, writes: Sequence[IndexWrite]) -> None:
        """Move the Moodle-id maps forward; called before the entries change."""
        # A key written twice in one batch: its second write replaces the first.
        written: dict[tuple[Kind, str], IndexEntry | None] = {}
        for write in writes:
            linked = self._linked.get(write.kind)
            if linked is None:
                continue
            here = (write.kind, write.key)
            if here in written:
                previous = written[here]
            else:
                previous = self._entries[write.kind].get(write.key)
            written[here] = write.entry
            held = None if previous is None else previous.moodle_id
            if held is not None and linked.get(held) == write.key:
                del linked[held]
            if write.entry is not None and write.entry.moodle_id is not None:
                linked[write.entry.moodle_id] = write.key

    def frozen(self) -> SiteIndex:
        """An immutable copy of the index as it stands.

        Only the tables written to are copied; with no write at all, the
        index this one was made from is the answer.
        """
        written = [kind for kind in self._entries if kind in self._fresh]
        if not written:
            return self._source
        copy = SiteIndex()
        copy._entries = dict(self._entries)
        for kind in written:
            copy._entries[kind] = dict(self._entries[kind])
            self.copied += len(self._entries[kind])
        return copy


def _owners_of(entry: IndexEntry) -> Iterator[tuple[Kind, str]]:
    """The person and cohort a membership entry depends on."""
    for owner_field in _OWNER_FIELD.get(entry.kind, ()):
        owner = entry.values.get(owner_field)
        if isinstance(owner, str):
            yield (Kind.PERSON if owner_field == "person" else Kind.COHORT, owner)


def index_writes(
    index: SiteIndex,
    operation: Operation,
    moodle_id: int | None = None,
    values: Mapping[str, Any] | None = None,
) -> tuple[IndexWrite, ...]:
    """The index writes that record ``operation`` once Moodle confirmed it.

    ``moodle_id`` is the id Moodle answered for a creation (or the account
    an adoption found); other operations reuse the id the index holds. A
    deletion also drops the entries Moodle deleted with the object: the
    person's memberships, or the cohort's members. ``values`` are the
    record's :meth:`~farm.model.Record.values` when the caller made them
    already (the applier's handlers read them to build the call): the
    digest is made from them; the entry keeps the record itself.
    """
    kind, key, action = operation.kind, operation.key, operation.action
    previous = index.get(kind, key)
    if action in (Action.DELETE, Action.REMOVE, Action.UNENROL, Action.UNASSIGN):
        drops = [IndexWrite(kind, key, None)]
        if action is Action.DELETE:
            drops.extend(
                IndexWrite(k, d, None, index.get(k, d)) for k, d in index.dependents(kind, key)
            )
        return tuple(drops)
    if action is Action.SUSPEND:
        if previous is None:
            raise ValueError(f"cannot suspend {kind} {key}: it is not in the index")
        values = dict(previous.values)
        values["suspended"] = True
        entry = IndexEntry(
            kind, key, previous.moodle_id, previous.digest, values, frozenset(), suspended=True
        )
        return (IndexWrite(kind, key, entry),)
    record = operation.record
    if record is None:
        # A re-index of an absent record: only its tenants change.
        if previous is None:
            # Gone with a deletion confirmed earlier in this run (a person's deletion
            # drops its memberships from the live index): no tenant is left to change.
            return ()
        # Same rule as IndexEntry.restore, so the registry and memory agree.
        suspended = previous.suspended or (
            kind is Kind.PERSON
            and not operation.tenants
            and previous.values.get("suspended") is True
        )
        entry = IndexEntry(
            kind,
            key,
            previous.moodle_id,
            previous.digest,
            previous.values,
            operation.tenants,
            suspended,
        )
        return (IndexWrite(kind, key, entry),)
    if moodle_id is None:
        moodle_id = previous.moodle_id if previous is not None else operation.moodle_id
    if moodle_id is None and kind.has_moodle_id:
        raise ValueError(f"{action} of {kind} {key} needs the Moodle id Moodle answered")
    # The values in field order are the very list the digest is made of: one canonical pass.
    digest = list_digest(record.canonical() if values is None else list(values.values()))
    # The entry keeps the record, not a copy of its values: a third of the memory of
    # the entries a run writes (the plan holds the records until the job ends).
    entry = IndexEntry(
        kind, key, moodle_id, digest, JsonValues.of_record(record), operation.tenants, False
    )
    return (IndexWrite(kind, key, entry),)


def apply_confirmed(
    index: SiteIndex,
    operations: Iterable[Operation],
    moodle_ids: Mapping[tuple[Kind, str], int] | None = None,
) -> SiteIndex:
    """The index after Moodle confirmed ``operations`` (in plan order).

    ``moodle_ids`` gives, by (kind, key), the ids Moodle answered for the
    creations. The applier writes the same :func:`index_writes` to the
    registry, one confirmed batch at a time. Each operation reads the index
    the ones before it left (a deletion's cascade sees the links added
    earlier); the index is copied twice, whatever the number of operations.
    """
    ids = moodle_ids or {}
    live = LiveIndex(index)
    for operation in operations:
        live.write(index_writes(live, operation, ids.get((operation.kind, operation.key))))
    return live.frozen()
