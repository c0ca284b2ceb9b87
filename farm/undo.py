"""Undo: the inverse of a run, built from its journal, as a plan of the core's operations. Pure.

``farm undo RUN`` takes a run back. The journal keeps, for each operation
Moodle confirmed, its action and the values before and after
(:mod:`farm.registry.journal`); :func:`invert` turns those lines and the
site's index as it is now into the operations that put back what was there
before, in the plan's order, each with the index entry it was computed from
and its old -> new values. The engine stores them as the plan of a
simulated run and applies them as ``farm apply`` does, drift checks
included (:mod:`farm.engine.undo_request`).

What each journalled action becomes:

- an account the run created: suspended, or deleted (``created``:
  :class:`CreatedPolicy`); the links the run gave it are removed (a
  deleted account's go with it);
- an update, or an adoption, of an account or a cohort: the fields it
  changed get their old values back (the farm keeps the adopted account);
- a suspension: a revival, with the tenants the account had; a revival: a
  suspension, and its other changed fields restored;
- a deletion: the account or cohort created again from the values the index
  held (Moodle gives it a new id) and its links added back, those Moodle
  dropped with it included (the journal has a removal line for each);
- a cohort the run created: deleted, its members with it;
- a link added (member, enrolment, group member, role): removed, and a
  link removed: added back; a re-index: the tenants it had.

Only the run's own effects are reversed. A record a later run changed again
(``later``: its runs) is left alone and reported, unless the operator lists
it (``include``); so is a record the index no longer holds as the run left
it, and a cohort or an account to delete that holds links the run did not
add. Some things cannot be taken back and are reported: a group the run
created (the farm's web service cannot delete one), an adoption that
changed nothing, a cohort adopted and renamed (the journal has no name
from before). A link a forced run added again while it was there already
(``existed``) needs nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from farm.index import SiteIndex
from farm.inverse import CreatedPolicy, Inverse, Journalled, LeftAlone
from farm.model import MEMBERSHIP_KINDS, Kind
from farm.operation import ADDING, RANK, Operation
from farm.stored_plan import RecordId
from farm.undo_links import invert_link
from farm.undo_objects import invert_object

__all__ = ["CreatedPolicy", "Journalled", "LeftAlone", "Undo", "invert"]


@dataclass(frozen=True, slots=True)
class Undo:
    """The inverse of one run on one site: the operations, and what is left alone."""

    run_id: int
    operations: tuple[Operation, ...] = ()
    left_alone: tuple[LeftAlone, ...] = ()
    lines: int = 0

    def notes(self) -> tuple[str, ...]:
        """The plan's notes: what this undoes, then each record left alone."""
        head = (
            f"undo of run {self.run_id}: {len(self.operations)} operation(s) from its "
            f"{self.lines} journal line(s)"
        )
        return (head, *(f"left alone: {item}" for item in self.left_alone))


def invert(
    lines: Sequence[Journalled],
    index: SiteIndex,
    *,
    run_id: int,
    later: Mapping[RecordId, Sequence[int]] | None = None,
    existed: Collection[RecordId] = (),
    include: Collection[str] = (),
    created: CreatedPolicy = CreatedPolicy.SUSPEND,
) -> Undo:
    """The inverse of run ``run_id``'s ``lines`` on one site; see the module docstring.

    ``index`` is the site's index now; ``later`` maps a record to the runs
    that changed it after this one; ``include`` the keys to take back even
    so; ``existed`` the links a forced run re-added.
    """
    state = Inverse(run_id, index, later or {}, existed, frozenset(include), created)
    records: dict[RecordId, list[Journalled]] = {}
    for line in sorted(lines, key=lambda item: item.seq):
        try:
            kind = Kind(line.entity)
        except ValueError:
            continue  # a kind this farm does not know: nothing of it can be planned
        records.setdefault((kind, line.key), []).append(line)
    chosen = [(rid, found) for rid, found in records.items() if _free(state, rid)]
    # The links this undo takes back: an account or a cohort holding others is not deleted.
    state.added = {
        (kind, key)
        for (kind, key), found in chosen
        if kind in MEMBERSHIP_KINDS and any(line.action == ADDING[kind].value for line in found)
    }
    # Objects first: their deletions and re-creations decide which links need an operation.
    for (kind, key), found in chosen:
        if kind not in MEMBERSHIP_KINDS:
            for line in reversed(found):
                invert_object(state, kind, key, line)
    for (kind, key), found in chosen:
        if kind in MEMBERSHIP_KINDS:
            for line in reversed(found):
                invert_link(state, kind, key, line)
    ordered = sorted(state.operations.values(), key=lambda op: (RANK[(op.kind, op.action)], op.key))
    return Undo(run_id, tuple(ordered), tuple(state.left), len(lines))


def _free(state: Inverse, rid: RecordId) -> bool:
    """Whether no later run changed the record, or the operator listed it."""
    runs = state.later.get(rid)
    if not runs or rid[1] in state.include:
        return True
    words = ", ".join(str(run) for run in sorted(set(runs)))
    state.leave(*rid, f"changed again by run {words}", includable=True)
    return False
