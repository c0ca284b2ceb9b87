"""Undoing what a run did to accounts, cohorts and groups: one journal line at a time. Pure.

The rules are :mod:`farm.undo`'s; the links are :mod:`farm.undo_links`'s,
inverted after these, since a deleted account or cohort takes its links
with it and a re-created one gets them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from farm.inverse import CreatedPolicy, Inverse, Journalled, category, rebuilt, reindex
from farm.model import IndexEntry, Kind
from farm.operation import Action, Category, Operation

__all__ = ["invert_object"]


def invert_object(state: Inverse, kind: Kind, key: str, line: Journalled) -> None:
    """The inverse of one line about an account, a cohort or a group."""
    entry = state.index.get(kind, key)
    action = line.action
    if action == Action.REINDEX.value:
        reindex(state, kind, key, line, entry)
    elif action == Action.DELETE.value:
        _recreate(state, kind, key, line, entry)
    elif kind is Kind.GROUP:
        state.leave(kind, key, f"{action} of a group: the farm's web service cannot undo it")
    elif entry is None:
        state.leave(kind, key, f"no longer in the index: nothing of run {state.run_id}'s {action}")
    elif action == Action.CREATE.value:
        _take_back_creation(state, kind, key, entry)
    elif action in ("adopt", Action.UPDATE.value):
        restored = {n: v for n, v in dict(line.old or {}).items() if n != "matched_by"}
        if action == "adopt" and line.old is None:
            state.leave(kind, key, "adopted and changed: the journal has no values from before")
        elif not restored:
            state.leave(kind, key, "adopted as it was: nothing to restore (the farm keeps it)")
        elif _as_left(state, kind, key, line, entry):
            _restore(state, kind, key, entry, restored, entry.tenants)
    elif action == Action.SUSPEND.value and kind is Kind.PERSON:
        values = {**entry.values, **dict(line.old or {"suspended": False})}
        _emit_change(state, Action.REVIVE, kind, key, entry, values, frozenset(line.tenants))
    elif action == Action.REVIVE.value and kind is Kind.PERSON:
        if _as_left(state, kind, key, line, entry):
            others = {n: v for n, v in dict(line.old or {}).items() if n != "suspended"}
            _restore(state, kind, key, entry, others, entry.tenants)
            _suspend(state, key, entry)
    else:
        state.leave(kind, key, f"an undo does not take back a {action} of a {kind}")


def _as_left(state: Inverse, kind: Kind, key: str, line: Journalled, entry: IndexEntry) -> bool:
    """Whether the index holds what the line wrote; if not, the record is left alone."""
    if key in state.include:
        return True
    for name, value in dict(line.new or {}).items():
        if entry.values.get(name) != value:
            state.leave(
                kind,
                key,
                f"the index no longer holds what run {state.run_id} wrote: {name} is "
                f"{entry.values.get(name)!r}, the run wrote {value!r}",
                includable=True,
            )
            return False
    return True


def _take_back_creation(state: Inverse, kind: Kind, key: str, entry: IndexEntry) -> None:
    """A created account suspended (or deleted), a created cohort deleted, if it is the run's."""
    if kind is Kind.PERSON and state.created is CreatedPolicy.SUSPEND:
        if entry.suspended:
            state.leave(kind, key, "created by the run, suspended already")
        else:
            _suspend(state, key, entry)
        return
    others = [d for d in state.index.dependents(kind, key) if d not in state.added]
    if others and key not in state.include:
        shown = ", ".join(sorted(k for _, k in others)[:3])
        state.leave(
            kind,
            key,
            f"holds {len(others)} link(s) run {state.run_id} did not add ({shown}): deleting it "
            "would take them away",
            includable=True,
        )
        return
    state.deleted.add((kind, key))
    state.emit(Operation(kind, Action.DELETE, key, Category.REMOVE, None, entry, {}, frozenset()))


def _suspend(state: Inverse, key: str, entry: IndexEntry) -> None:
    """The suspension of an account, its tenants dropped as the planner's suspension does."""
    changes = {"suspended": (entry.values.get("suspended", False), True)}
    state.emit(
        Operation(
            Kind.PERSON, Action.SUSPEND, key, Category.REMOVE, None, entry, changes, frozenset()
        )
    )


def _restore(
    state: Inverse,
    kind: Kind,
    key: str,
    entry: IndexEntry,
    restored: Mapping[str, Any],
    tenants: frozenset[str],
) -> None:
    """An update giving the fields of ``restored`` their values back (none when they have them)."""
    if any(entry.values.get(name) != value for name, value in restored.items()):
        values = {**entry.values, **restored}
        _emit_change(state, Action.UPDATE, kind, key, entry, values, tenants)


def _emit_change(
    state: Inverse,
    action: Action,
    kind: Kind,
    key: str,
    entry: IndexEntry,
    values: Mapping[str, Any],
    tenants: frozenset[str],
) -> None:
    """An update or a revival that gives the record ``values``; its changes from the index's."""
    record = rebuilt(state, kind, key, values, tenants)
    if record is None:
        return
    wanted = record.values()
    changes = {
        name: (entry.values.get(name), value)
        for name, value in wanted.items()
        if entry.values.get(name) != value
    }
    state.emit(Operation(kind, action, key, category(action), record, entry, changes, tenants))


def _recreate(
    state: Inverse, kind: Kind, key: str, line: Journalled, entry: IndexEntry | None
) -> None:
    """A deleted account or cohort created again from the values the index held."""
    if entry is not None:
        state.leave(kind, key, f"deleted by run {state.run_id}, in the index again")
        return
    if kind is Kind.GROUP or line.old is None:
        state.leave(kind, key, "deleted, and the journal has no values to create it from")
        return
    tenants = frozenset(line.tenants)
    record = rebuilt(state, kind, key, line.old, tenants)
    if record is not None:
        state.recreated.add((kind, key))
        state.emit(Operation(kind, Action.CREATE, key, Category.CREATE, record, None, {}, tenants))
