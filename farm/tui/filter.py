"""Which rows a table shows, and in what order: the ``/`` filter and the sort columns.

``state:`` words speak the farm's one vocabulary (:mod:`farm.engine.health`),
as ``farm runs --status`` and ``farm status`` do. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from farm.engine.health import NOT_OK, state_matches
from farm.tui.rows import DashboardRow, RowState, reason_text


@dataclass(frozen=True, slots=True)
class Filter:
    """What ``/`` typed: words that must all match; ``tag:`` and ``state:`` words match exactly."""

    words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Filter:
        words: list[str] = []
        tags: list[str] = []
        states: list[str] = []
        for word in text.lower().split():
            if word.startswith("tag:") and len(word) > 4:
                tags.append(word[4:])
            elif word.startswith("state:") and len(word) > 6:
                states.append(word[6:])
            else:
                words.append(word)
        return cls(tuple(words), tuple(tags), tuple(states))

    @property
    def empty(self) -> bool:
        return not (self.words or self.tags or self.states)

    def matches(self, row: DashboardRow) -> bool:
        if self.states and not any(_state_matches(row.state, s) for s in self.states):
            return False
        lowered = [t.lower() for t in row.tags]
        if not all(tag in lowered for tag in self.tags):
            return False
        haystack = " ".join((row.id, row.name, row.site, *row.tags)).lower()
        return all(word in haystack for word in self.words)


def _state_matches(state: RowState, wanted: str) -> bool:
    # One vocabulary with `farm runs --status` and `farm status`: a state's name matches
    # that state only; "not-ok" is failed, interrupted or partial; "active" is any run going.
    if wanted == "active":
        return state.active
    if wanted == NOT_OK:
        return state_matches(state.value, NOT_OK)
    return state.value == wanted or (
        wanted not in _NAMES and state.value.startswith(wanted)  # "state:fail", "state:part"
    )


_NAMES = frozenset(s.value for s in RowState) | {NOT_OK, "active"}


#: The state column sorts what needs an operator first: on a night with failures, the
#: failed tenants are the first rows, whatever the farm's size.
_WORST_FIRST: tuple[RowState, ...] = (
    RowState.FAILED,
    RowState.INTERRUPTED,
    RowState.PARTIAL,
    RowState.SKIPPED,
    RowState.RUNNING,
    RowState.WAITING,
    RowState.QUEUED,
    RowState.NEVER,
    RowState.SUCCEEDED,
)

#: Columns a table can be sorted by, with the key that sorts them.
SORT_KEYS: Mapping[str, Callable[[DashboardRow], tuple[object, ...]]] = {
    "id": lambda r: (r.id,),
    "name": lambda r: (r.name.lower(), r.id),
    "site": lambda r: (r.site, r.id),
    "state": lambda r: (_WORST_FIRST.index(r.state), r.id),
    "phase": lambda r: (r.phase, r.id),
    "progress": lambda r: (-1.0 if r.progress is None else r.progress, r.id),
    "age": lambda r: (
        -(r.last_run_at.timestamp()) if r.last_run_at else float("inf"),
        r.id,
    ),
    "created": lambda r: (r.created, r.id),
    "updated": lambda r: (r.updated, r.id),
    "suspended": lambda r: (r.suspended, r.id),
    "errors": lambda r: (r.errors, r.id),
    "reason": lambda r: (reason_text(r) == "", reason_text(r), r.id),
}
