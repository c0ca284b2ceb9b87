"""The per-site index in memory: what the farm last wrote to one Moodle site.

The registry stores, per site and kind, one row per record key: the Moodle id,
the record's digest, the values last written (a JSON object), the tenants the
record came from and whether the farm suspended it. This module holds the
same facts as plain immutable values for the planner, and the one rule that
turns an operation Moodle confirmed into index writes, so that the in-memory
index of the tests and the registry of the applier change in the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from farm.model import MEMBERSHIP_KINDS, IndexEntry, Kind
from farm.operation import Action, Operation


@dataclass(frozen=True, slots=True)
class IndexWrite:
    """One change to the index: ``entry`` replaces the row, or None drops it."""

    kind: Kind
    key: str
    entry: IndexEntry | None


_NO_ENTRIES: Mapping[str, IndexEntry] = MappingProxyType({})

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
        self._dependents: dict[tuple[Kind, str], tuple[tuple[Kind, str], ...]] | None = None

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
        if self._dependents is None:
            found: dict[tuple[Kind, str], list[tuple[Kind, str]]] = {}
            for dependent_kind in MEMBERSHIP_KINDS:
                owners = _OWNER_FIELD[dependent_kind]
                for dep_key, entry in self._entries[dependent_kind].items():
                    for owner_field in owners:
                        owner_kind = Kind.PERSON if owner_field == "person" else Kind.COHORT
                        owner = entry.values.get(owner_field)
                        if isinstance(owner, str):
                            found.setdefault((owner_kind, owner), []).append(
                                (dependent_kind, dep_key)
                            )
            self._dependents = {owner: tuple(deps) for owner, deps in found.items()}
        return self._dependents.get((kind, key), ())

    def with_writes(self, writes: Iterable[IndexWrite]) -> SiteIndex:
        """A new index with ``writes`` applied in order."""
        copy = SiteIndex()
        copy._entries = {kind: dict(entries) for kind, entries in self._entries.items()}
        for write in writes:
            if write.entry is None:
                copy._entries[write.kind].pop(write.key, None)
            else:
                copy._entries[write.kind][write.key] = write.entry
        return copy


def index_writes(
    index: SiteIndex, operation: Operation, moodle_id: int | None = None
) -> tuple[IndexWrite, ...]:
    """The index writes that record ``operation`` once Moodle confirmed it.

    ``moodle_id`` is the id Moodle answered for a creation (or the account
    an adoption found); other operations reuse the id the index holds. A
    deletion also drops the entries Moodle deleted with the object: the
    person's memberships, or the cohort's members.
    """
    kind, key, action = operation.kind, operation.key, operation.action
    previous = index.get(kind, key)
    if action in (Action.DELETE, Action.REMOVE, Action.UNENROL, Action.UNASSIGN):
        drops = [IndexWrite(kind, key, None)]
        if action is Action.DELETE:
            drops.extend(IndexWrite(k, d, None) for k, d in index.dependents(kind, key))
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
            raise ValueError(f"cannot re-index {kind} {key}: it is not in the index")
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
    entry = IndexEntry(
        kind, key, moodle_id, record.digest(), record.values(), operation.tenants, False
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
    registry, one confirmed batch at a time.
    """
    ids = moodle_ids or {}
    current = index
    pending: list[IndexWrite] = []
    upserts_pending = False
    for operation in operations:
        if operation.action is Action.DELETE and upserts_pending:
            # A cascade reads dependents: entries added earlier must be visible to it.
            current = current.with_writes(pending)
            pending = []
            upserts_pending = False
        writes = index_writes(current, operation, ids.get((operation.kind, operation.key)))
        upserts_pending = upserts_pending or any(w.entry is not None for w in writes)
        pending.extend(writes)
    return current.with_writes(pending)
