"""What a confirmed batch becomes in the registry: index rows and journal lines.

:func:`index_changes` turns the core's index writes into the rows to upsert
and the keys to forget; :func:`journal_lines` turns the confirmed operations
into the journal's lines. The journal keeps, for every operation Moodle
confirmed, the action, the record key, the Moodle id, and the values before
and after: only the changed fields for an update, the whole record for a
creation, the values the index held for a removal. An adopted account or
cohort is journalled as ``adopt``, with what the farm found and changed.
The links Moodle dropped along with a deleted account or cohort get a
removal line each (``remove``, ``unenrol``, ``unassign``), after the batch's
own lines, with the values the index held: an undo puts them back.
Values are record values, which never hold a secret.

Each line also names what it is about, so that the journal can be read by
tenant and by person: its ``tenants`` are the operation's tenants together
with the ones the index entry held before (a removal has no tenants left, a
person moving between two establishments of a cité scolaire concerns both),
and its ``person`` is the source key of the person it changed: the account
itself, or the member of a cohort, group, enrolment or role assignment
(None for a cohort or a group).

:func:`masked` is what every view of the journal reads it through: should a
key naming a secret ever reach a record's values (a ``password`` or
``mot_de_passe`` profile field, say), its value is shown as ``***``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from farm.applied import Applied, Confirmation
from farm.index import IndexWrite
from farm.logs import MASK, SECRET_WORDS
from farm.model import IndexEntry, Kind
from farm.operation import REMOVING, Action, Operation


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One index row to upsert, as the registry stores it."""

    entity: str
    key: str
    digest: str
    moodle_id: int | None
    values: Mapping[str, Any]
    tenants: tuple[str, ...]
    suspended: bool = False


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One journal line to append (``old``/``new`` field values), with what it is about."""

    entity: str
    action: str
    key: str
    moodle_id: int | None
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    tenants: tuple[str, ...] = ()
    person: str | None = None


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
                    entry.suspended,
                )
            )
    return upserts, deletes


def journal_lines(confirmation: Confirmation) -> list[JournalLine]:
    """The journal lines of a confirmed batch, one per operation, in Moodle's order.

    Then one removal line per link a deletion dropped with its account or cohort.
    """
    written = {
        (w.kind.value, w.key): w.entry.values for w in confirmation.writes if w.entry is not None
    }
    lines = [_line(applied, written) for applied in confirmation.applied]
    lines.extend(_cascaded(w.cascaded) for w in confirmation.writes if w.cascaded is not None)
    return lines


def _cascaded(entry: IndexEntry) -> JournalLine:
    """The removal line of a link Moodle dropped with the account or cohort it depends on."""
    person = entry.values.get("person")
    return JournalLine(
        entry.kind.value,
        REMOVING[entry.kind].value,
        entry.key,
        entry.moodle_id,
        dict(entry.values),
        None,
        tuple(sorted(entry.tenants)),
        person if isinstance(person, str) else None,
    )


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
    return JournalLine(
        op.kind.value, action, op.key, moodle_id, old, new, _tenants(op), _person(op)
    )


def _tenants(op: Operation) -> tuple[str, ...]:
    before = op.previous.tenants if op.previous is not None else frozenset()
    return tuple(sorted(op.tenants | before))


def _person(op: Operation) -> str | None:
    if op.kind is Kind.PERSON:
        return op.key
    # A link names its person; a cohort or a group names none.
    person = getattr(op.record, "person", None)
    if person is None and op.previous is not None:
        person = op.previous.values.get("person")
    return person if isinstance(person, str) else None


def masked(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``values`` with the value of every key naming a secret replaced by ``***``, at any depth."""
    return None if values is None else _masked_mapping(values)


def _masked_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: MASK if _secret(name) else _masked_value(value) for name, value in values.items()}


def _masked_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _masked_mapping(value)
    if isinstance(value, list):
        return [_masked_value(item) for item in value]
    return value


#: The log's secret words, and the French ones a profile field could be named with.
_SECRET_WORDS = (*SECRET_WORDS, "pwd", "passe")


def _secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)
