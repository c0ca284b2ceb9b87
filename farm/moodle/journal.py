"""What a confirmed batch becomes in the registry: index rows and journal lines.

The journal keeps, for every operation Moodle confirmed, the action, the
record key, the Moodle id, and the values before and after: only the
changed fields for an update, the whole record for a creation, the values
the index held for a removal. An adopted account or cohort is journalled as
``adopt``, with what the farm found and changed. Values are record values,
which never hold a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from farm.index import IndexWrite
from farm.moodle.applier import Applied, Confirmation
from farm.operation import Action
from farm.registry.rows import IndexKey, JournalWrite
from farm.registry.rows import IndexWrite as IndexRow


def index_rows(writes: tuple[IndexWrite, ...]) -> tuple[list[IndexRow], list[IndexKey]]:
    """The registry's upserts and deletions for the applier's index writes, in order.

    A key written twice in one batch keeps its last write only: the registry
    applies upserts before deletions.
    """
    last: dict[tuple[str, str], IndexWrite] = {}
    for write in writes:
        last[(write.kind.value, write.key)] = write
    upserts: list[IndexRow] = []
    deletes: list[IndexKey] = []
    for (entity, key), write in last.items():
        entry = write.entry
        if entry is None:
            deletes.append(IndexKey(entity, key))
        else:
            upserts.append(
                IndexRow(
                    entity=entity,
                    key=key,
                    digest=entry.digest,
                    moodle_id=entry.moodle_id,
                    # Shared with the creation's journal line: the registry encodes it once.
                    values=entry.values,
                    tenants=tuple(sorted(entry.tenants)),
                )
            )
    return upserts, deletes


def journal_line(
    applied: Applied, written: Mapping[tuple[str, str], Mapping[str, Any]] | None = None
) -> JournalWrite:
    """The journal line of one confirmed operation.

    ``written`` maps (kind, key) to the values the index writes hold for it,
    the record's values already computed once for the index.
    """
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
        known = None
        if written is not None and op.action is Action.CREATE:
            known = written.get((op.kind.value, op.key))
        new = known if known is not None else op.record.values()
    else:
        old = dict(op.previous.values) if op.previous is not None else None
        new = None
    return JournalWrite(
        entity=op.kind.value, action=action, key=op.key, moodle_id=moodle_id, old=old, new=new
    )


def journal_lines(confirmation: Confirmation) -> list[JournalWrite]:
    written = {
        (w.kind.value, w.key): w.entry.values
        for w in confirmation.writes
        if w.entry is not None and w.entry.values
    }
    return [journal_line(applied, written) for applied in confirmation.applied]
