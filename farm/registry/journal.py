"""What a confirmed batch becomes in the registry: index rows and journal lines.

:func:`index_changes` turns the core's index writes into the rows to upsert
and the keys to forget; :func:`journal_lines` turns the confirmed operations
into the journal's lines. The journal keeps, for every operation Moodle
confirmed, the action, the record key, the Moodle id, and the values before
and after: only the changed fields for an update, the whole record for a
creation, the values the index held for a removal. An adopted account or
cohort is journalled as ``adopt``, with what the farm found and changed.
Values are record values, which never hold a secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from farm.applied import Applied, Confirmation
from farm.index import IndexWrite
from farm.operation import Action


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One index row to upsert, as the registry stores it."""

    entity: str
    key: str
    digest: str
    moodle_id: int | None
    values: Mapping[str, Any]
    tenants: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One journal line to append (``old``/``new`` field values)."""

    entity: str
    action: str
    key: str
    moodle_id: int | None
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


def index_changes(
    writes: Sequence[IndexWrite],
) -> tuple[list[IndexRow], list[tuple[str, str]]]:
    """The rows to upsert and the (entity, key) pairs to forget, in order.

    A key written twice in one batch keeps its last write only: the registry
    applies upserts before deletions.
    """
    last: dict[tuple[str, str], IndexWrite] = {}
    for write in writes:
        last[(write.kind.value, write.key)] = write
    upserts: list[IndexRow] = []
    deletes: list[tuple[str, str]] = []
    for (entity, key), write in last.items():
        entry = write.entry
        if entry is None:
            deletes.append((entity, key))
        else:
            upserts.append(
                IndexRow(
                    entity,
                    key,
                    entry.digest,
                    entry.moodle_id,
                    # Shared with the creation's journal line: the batch encodes it once.
                    entry.values,
                    tuple(sorted(entry.tenants)),
                )
            )
    return upserts, deletes


def journal_lines(confirmation: Confirmation) -> list[JournalLine]:
    """The journal lines of a confirmed batch, one per operation, in Moodle's order."""
    written = {
        (w.kind.value, w.key): w.entry.values
        for w in confirmation.writes
        if w.entry is not None and w.entry.values
    }
    return [_line(applied, written) for applied in confirmation.applied]


def _line(applied: Applied, written: Mapping[tuple[str, str], Mapping[str, Any]]) -> JournalLine:
    op = applied.operation
    action = "adopt" if applied.adopted and op.action is Action.CREATE else op.action.value
    moodle_id = applied.moodle_id if applied.moodle_id is not None else op.moodle_id
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    if op.action is Action.REINDEX:
        old = {"tenants": sorted(op.previous.tenants)} if op.previous is not None else None
        new = {"tenants": sorted(op.tenants)}
    elif op.changes:
        old = {name: before for name, (before, _) in op.changes.items()}
        new = {name: after for name, (_, after) in op.changes.items()}
    elif op.record is not None:
        old = dict(applied.found) if applied.found is not None else None
        # A creation's index entry holds exactly the record's values.
        known = written.get((op.kind.value, op.key)) if op.action is Action.CREATE else None
        new = known if known is not None else op.record.values()
    else:
        old = dict(op.previous.values) if op.previous is not None else None
        new = None
    return JournalLine(op.kind.value, action, op.key, moodle_id, old, new)
