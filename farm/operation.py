"""Operations: the steps of a plan, and the order in which they must run.

An operation names one record (kind and key), what to do with it in Moodle,
and what the index should say afterwards. The order puts accounts before
the memberships that need them, creations before additions, and removals
last, with the removal of people at the very end so that a run stopped
half-way has never suspended someone it was still adding to a course.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from farm.model import IndexEntry, Kind, Record


class Action(StrEnum):
    """What an operation does in Moodle.

    ``REINDEX`` writes only the index (the record's tenants or digest
    changed while Moodle already holds the right values): the applier sends
    nothing to Moodle for it.
    """

    CREATE = "create"
    UPDATE = "update"
    REVIVE = "revive"
    SUSPEND = "suspend"
    DELETE = "delete"
    ADD = "add"
    REMOVE = "remove"
    ENROL = "enrol"
    UNENROL = "unenrol"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    REINDEX = "reindex"


class Category(StrEnum):
    """How an operation counts for ``--create-only``, ``--update-only`` and ``--delete-only``."""

    CREATE = "create"
    UPDATE = "update"
    REMOVE = "remove"


#: The order of operation groups in a plan: (kind, action) pairs, first to last.
#: Re-indexing comes at the very end since it touches no Moodle object.
ORDER: tuple[tuple[Kind, Action], ...] = (
    (Kind.PERSON, Action.CREATE),
    (Kind.PERSON, Action.UPDATE),
    (Kind.PERSON, Action.REVIVE),
    (Kind.COHORT, Action.CREATE),
    (Kind.COHORT, Action.UPDATE),
    (Kind.COHORT_MEMBER, Action.ADD),
    (Kind.ENROLMENT, Action.ENROL),
    (Kind.GROUP, Action.CREATE),
    (Kind.GROUP, Action.UPDATE),
    (Kind.GROUP_MEMBER, Action.ADD),
    (Kind.ROLE_ASSIGNMENT, Action.ASSIGN),
    (Kind.GROUP_MEMBER, Action.REMOVE),
    (Kind.ROLE_ASSIGNMENT, Action.UNASSIGN),
    (Kind.ENROLMENT, Action.UNENROL),
    (Kind.COHORT_MEMBER, Action.REMOVE),
    (Kind.COHORT, Action.DELETE),
    (Kind.PERSON, Action.SUSPEND),
    (Kind.PERSON, Action.DELETE),
    *((kind, Action.REINDEX) for kind in Kind),
)

RANK: Mapping[tuple[Kind, Action], int] = {pair: rank for rank, pair in enumerate(ORDER)}

#: The action that adds a record of each kind (creation for objects, addition for links).
ADDING: Mapping[Kind, Action] = {
    Kind.PERSON: Action.CREATE,
    Kind.COHORT: Action.CREATE,
    Kind.GROUP: Action.CREATE,
    Kind.COHORT_MEMBER: Action.ADD,
    Kind.GROUP_MEMBER: Action.ADD,
    Kind.ENROLMENT: Action.ENROL,
    Kind.ROLE_ASSIGNMENT: Action.ASSIGN,
}

#: The action that removes a link of each membership kind.
REMOVING: Mapping[Kind, Action] = {
    Kind.COHORT_MEMBER: Action.REMOVE,
    Kind.GROUP_MEMBER: Action.REMOVE,
    Kind.ENROLMENT: Action.UNENROL,
    Kind.ROLE_ASSIGNMENT: Action.UNASSIGN,
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a plan.

    ``record`` is the source's record (None when the record is gone);
    ``previous`` the index entry before the step (None for a creation), which
    also gives a removal its Moodle id and fields. ``changes`` maps each
    changed field to ``(old, new)``; for a forced update every field is there.
    ``tenants`` is what the index entry's tenants become once Moodle confirms.
    """

    kind: Kind
    action: Action
    key: str
    category: Category
    record: Record | None = None
    previous: IndexEntry | None = None
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    tenants: frozenset[str] = frozenset()

    @property
    def moodle_id(self) -> int | None:
        """The Moodle id the index holds for the record (None for creations and links)."""
        return self.previous.moodle_id if self.previous is not None else None

    @property
    def writes_moodle(self) -> bool:
        return self.action is not Action.REINDEX

    def describe(self) -> str:
        """One report line, e.g. ``update person sdet:F17 (jdupont): email, lastname``."""
        label = f"{self.action} {self.kind} {self.key}"
        username = _username(self)
        if username:
            label += f" ({username})"
        if self.changes:
            label += ": " + ", ".join(sorted(self.changes))
        if self.action is Action.REINDEX:
            tenants = ",".join(sorted(self.tenants)) or "none"
            label += f" [tenants: {tenants}]"
        return label

    def __hash__(self) -> int:
        return hash((self.kind, self.action, self.key))


def _username(operation: Operation) -> str:
    if operation.kind is not Kind.PERSON:
        return ""
    username = getattr(operation.record, "username", None)
    if username is None and operation.previous is not None:
        username = operation.previous.values.get("username")
    return str(username) if username else ""


@dataclass(frozen=True, slots=True)
class Batch:
    """The operations of one (kind, action) group, in key order: what the applier batches."""

    kind: Kind
    action: Action
    operations: tuple[Operation, ...]

    def __len__(self) -> int:
        return len(self.operations)
