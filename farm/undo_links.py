"""Undoing what a run did to links: cohort members, enrolments, group members, roles. Pure.

A link the run added is removed, unless its account or cohort is deleted by
the undo (Moodle drops it with them); a link the run removed is added back
once its ends are there, or re-created by the undo. The rules are
:mod:`farm.undo`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from farm.inverse import Inverse, Journalled, rebuilt, reindex
from farm.model import IndexEntry, Kind
from farm.operation import ADDING, REMOVING, Action, Category, Operation
from farm.stored_plan import RecordId

__all__ = ["invert_link"]


def invert_link(state: Inverse, kind: Kind, key: str, line: Journalled) -> None:
    """The inverse of one line about a membership, an enrolment or a role."""
    entry = state.index.get(kind, key)
    if line.action == Action.REINDEX.value:
        reindex(state, kind, key, line, entry)
    elif line.action == ADDING[kind].value:
        values = entry.values if entry is not None else dict(line.new or {})
        if (kind, key) in state.existed:
            state.leave(kind, key, "there before the run, which added it again: nothing to undo")
        elif any(owner in state.deleted for owner in _owners(kind, values)):
            return  # Moodle drops it with its account or cohort
        elif entry is None:
            state.leave(kind, key, "no longer in the index: nothing to remove")
        else:
            state.emit(
                Operation(kind, REMOVING[kind], key, Category.REMOVE, None, entry, {}, frozenset())
            )
    elif line.action == REMOVING[kind].value:
        _add_back(state, kind, key, line, entry)
    else:
        state.leave(kind, key, f"an undo does not take back a {line.action} of a {kind}")


def _add_back(
    state: Inverse, kind: Kind, key: str, line: Journalled, entry: IndexEntry | None
) -> None:
    """A removed link added back from the values the index held, once its ends are there."""
    if entry is not None:
        state.leave(kind, key, f"removed by run {state.run_id}, in the index again")
        return
    values = dict(line.old or {})
    missing = [
        owner
        for owner in _owners(kind, values)
        if state.index.get(*owner) is None and owner not in state.recreated
    ]
    if missing:
        what = ", ".join(f"{k} {key_}" for k, key_ in missing)
        state.leave(kind, key, f"{what} is no longer on the site: it cannot be added back")
        return
    tenants = frozenset(line.tenants)
    record = rebuilt(state, kind, key, values, tenants)
    if record is not None:
        state.emit(Operation(kind, ADDING[kind], key, Category.CREATE, record, None, {}, tenants))


def _owners(kind: Kind, values: Mapping[str, Any]) -> list[RecordId]:
    """The account, cohort and group a link needs (a parent's role needs the child's too)."""
    owners: list[RecordId] = []
    if isinstance(values.get("person"), str):
        owners.append((Kind.PERSON, values["person"]))
    if kind is Kind.COHORT_MEMBER and isinstance(values.get("cohort"), str):
        owners.append((Kind.COHORT, values["cohort"]))
    if kind is Kind.GROUP_MEMBER:
        owners.append((Kind.GROUP, f"{values.get('course')}|{values.get('group')}"))
    if kind is Kind.ROLE_ASSIGNMENT and values.get("context_level") == "user":
        owners.append((Kind.PERSON, str(values.get("context"))))
    return owners
