"""One undo pass: what it reads, what it emits and leaves alone, and the records it rebuilds. Pure.

:func:`farm.undo.invert` walks a run's journal lines with one
:class:`Inverse`; the steps (:mod:`farm.undo_objects` for accounts, cohorts
and groups, :mod:`farm.undo_links` for the links between them) emit the
inverse operations into it, or leave records alone with the reason. Records
are rebuilt from journalled or indexed values by the stored plans' codec
(:mod:`farm.plan_codec`), so an undo's operations are plan operations like
any other.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from farm.index import SiteIndex
from farm.model import IndexEntry, Kind, Record
from farm.operation import ADDING, Action, Category, Operation
from farm.plan_codec import StoredPlanError, record_from_json
from farm.stored_plan import RecordId

__all__ = ["CreatedPolicy", "Inverse", "Journalled", "LeftAlone", "category", "rebuilt", "reindex"]


class CreatedPolicy(StrEnum):
    """What an undo does to an account the run created (``--created``)."""

    SUSPEND = "suspend"
    DELETE = "delete"


class Journalled(Protocol):
    """What an undo reads of one journal line (the registry's ``JournalEntry`` is one)."""

    @property
    def seq(self) -> int: ...
    @property
    def entity(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def old(self) -> Mapping[str, Any] | None: ...
    @property
    def new(self) -> Mapping[str, Any] | None: ...
    @property
    def tenants(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class LeftAlone:
    """A record of the run that the undo does not take back, and why.

    ``includable`` says listing its key (``--include KEY``) takes it back
    anyway; ``later`` names the runs that changed it since.
    """

    kind: Kind
    key: str
    reason: str
    label: str = ""
    includable: bool = False
    later: tuple[int, ...] = ()

    def __str__(self) -> str:
        who = f" ({self.label})" if self.label else ""
        hint = f"; --include {self.key} undoes it anyway" if self.includable else ""
        return f"{self.kind} {self.key}{who}: {self.reason}{hint}"


@dataclass
class Inverse:
    """One pass of :func:`invert`: what it reads, and what it found so far."""

    run_id: int
    index: SiteIndex
    later: Mapping[RecordId, Sequence[int]]
    existed: Collection[RecordId]
    include: Collection[str]
    created: CreatedPolicy
    added: set[RecordId] = field(default_factory=set)
    deleted: set[RecordId] = field(default_factory=set)
    recreated: set[RecordId] = field(default_factory=set)
    operations: dict[tuple[Kind, Action, str], Operation] = field(default_factory=dict)
    left: list[LeftAlone] = field(default_factory=list)

    def leave(self, kind: Kind, key: str, reason: str, *, includable: bool = False) -> None:
        runs = tuple(self.later.get((kind, key), ()))
        self.left.append(LeftAlone(kind, key, reason, self._label(kind, key), includable, runs))

    def emit(self, op: Operation) -> None:
        self.operations[(op.kind, op.action, op.key)] = op

    def _label(self, kind: Kind, key: str) -> str:
        entry = self.index.get(kind, key)
        username = entry.values.get("username") if entry is not None else None
        return str(username) if kind is Kind.PERSON and username else ""


def category(action: Action) -> Category:
    """How an inverse operation counts: creations and additions, updates, removals."""
    if action in (Action.CREATE, *ADDING.values()):
        return Category.CREATE
    if action in (Action.UPDATE, Action.REVIVE):
        return Category.UPDATE
    return Category.REMOVE


def rebuilt(
    state: Inverse, kind: Kind, key: str, values: Mapping[str, Any], tenants: Collection[str]
) -> Record | None:
    """The record ``values`` describe (a person's key and tenants added); None, left alone."""
    data = dict(values)
    if kind is Kind.PERSON:
        data["source_key"] = key
        data["establishments"] = sorted(tenants)
    try:
        return record_from_json(kind, data, f"{kind} {key}")
    except StoredPlanError as error:
        state.leave(kind, key, f"its journalled values cannot be read back: {error}")
        return None


def reindex(
    state: Inverse, kind: Kind, key: str, line: Journalled, entry: IndexEntry | None
) -> None:
    """The inverse of a re-index: the record's tenants as they were before the run."""
    before = frozenset(dict(line.old or {}).get("tenants") or ())
    after = frozenset(dict(line.new or {}).get("tenants") or ())
    if entry is None:
        state.leave(kind, key, "no longer in the index: its tenants cannot be put back")
        return
    if entry.tenants != after and key not in state.include:
        state.leave(
            kind,
            key,
            f"its tenants are {sorted(entry.tenants)}, run {state.run_id} left {sorted(after)}",
            includable=True,
        )
        return
    if entry.tenants != before:
        counted = Category.UPDATE if before >= entry.tenants else Category.REMOVE
        state.emit(Operation(kind, Action.REINDEX, key, counted, None, entry, {}, before))
