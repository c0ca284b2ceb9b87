"""The ground a run covers for a tenant, and when one run's ground covers another's. Pure.

Invariant 7 says a failure stays visible "until a run covering the same
ground succeeds". The ground of a run is read from its options (as the run
stores them, whatever started it: ``farm sync``, a scheduled task, the
dashboard):

- ``entities``: the kinds of record it planned (``users``, ``cohorts``,
  ``roles``, ``groups``, ``enrolments``; all of them by default);
- ``profiles``: the people it read (empty: everyone);
- ``scope``: ``complete`` (a full read of the source), ``delta`` (only what
  changed since the last bookmark), ``person:X`` (``--user X``) or
  ``undo:N`` (``farm undo N``: it read no source, it took a run back);
- ``mode``: ``all``, or one category of operations (``create-only``...);
- ``refresh_only``: whether it was forbidden to create;
- ``task``: the scheduled task the run did (``users``, NetYpareo's
  ``pdgroups``...), when it did one.

A ground **covers** another when it did at least that work: every entity
and every profile of the other, a scope at least as wide (complete covers
delta, every person and every undo; delta covers delta; a person covers
only the same person, an undo only the same undo), the mode ``all`` or the
same mode, and no ``refresh_only`` unless the other had it too. So a
successful ``delta``, ``--user`` or undo run never clears a failed full
sync, a successful ``users`` task clears a failed ``users`` task but not a
failed ``cohorts`` one, and a successful full sync clears everything.
``force``, ``verbose`` and removal settings do not change the ground.

Two tasks never cover each other, whatever their options: NetYpareo's
``groups`` and ``pdgroups`` both plan cohorts, each of its own family, and
``caches`` plans nothing (no entity), which only a run of the same task or a
full sync covers.

A ground is stored on each tenant report as :meth:`Ground.text`, so that the
registry can group reports by ground in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from farm.model import Entity
from farm.options import RunOptions

ALL_ENTITIES: Final = frozenset(e.value for e in Entity)
COMPLETE: Final = "complete"
DELTA: Final = "delta"
_PERSON = "person:"
_UNDO = "undo:"


def _names(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(part) for part in value)
    return frozenset()


@dataclass(frozen=True, slots=True)
class Ground:
    """What one run read and planned for a tenant; see the module docstring."""

    entities: frozenset[str] = ALL_ENTITIES
    profiles: frozenset[str] = frozenset()
    scope: str = COMPLETE
    mode: str = "all"
    refresh_only: bool = False
    task: str | None = None

    @classmethod
    def of_options(cls, options: Mapping[str, Any]) -> Ground:
        """The ground of a run from its options (a JobSpec's, as the run row keeps them)."""
        given = options.get("entities")
        entities = ALL_ENTITIES if given is None or given == "" else _names(given)
        person = options.get("person")
        if options.get("undo_of"):
            scope = _UNDO + str(options["undo_of"])
        elif person:
            scope = _PERSON + str(person).strip().lower()
        elif options.get("delta"):
            scope = DELTA
        else:
            scope = COMPLETE
        task = options.get("task")
        return cls(
            # No entity at all is a task that plans nothing (caches), not a full sync.
            entities=frozenset(entities) if task else frozenset(entities) or ALL_ENTITIES,
            profiles=_names(options.get("profiles")),
            scope=scope,
            mode=str(options.get("mode") or "all"),
            refresh_only=bool(options.get("refresh_only")),
            task=str(task) if task else None,
        )

    @classmethod
    def of_run(cls, options: RunOptions) -> Ground:
        """The ground of a run with these options."""
        return cls.of_options(options.to_json())

    @classmethod
    def parse(cls, text: str | None) -> Ground:
        """The ground :meth:`text` wrote; an empty or unknown text is a full sync's ground."""
        if not text:
            return cls()
        parts = dict(part.partition("=")[::2] for part in text.split(";"))
        entities = parts.get("entities", "*")
        profiles = parts.get("profiles", "*")
        return cls(
            entities=ALL_ENTITIES
            if entities == "*"
            else frozenset(name for name in entities.split(",") if name),
            profiles=frozenset() if profiles == "*" else frozenset(profiles.split(",")),
            scope=parts.get("scope", COMPLETE),
            mode=parts.get("mode", "all"),
            refresh_only=parts.get("refresh") == "1",
            task=parts.get("task") or None,
        )

    @property
    def text(self) -> str:
        """A stable one-line form: equal grounds have equal texts."""
        entities = "*" if self.entities >= ALL_ENTITIES else ",".join(sorted(self.entities))
        profiles = ",".join(sorted(self.profiles)) or "*"
        text = (
            f"entities={entities};profiles={profiles};scope={self.scope};mode={self.mode};"
            f"refresh={int(self.refresh_only)}"
        )
        # Only when set: the grounds of runs without a task keep the text they had.
        return f"{text};task={self.task}" if self.task else text

    @property
    def full(self) -> bool:
        """A complete read of every entity and everyone, every operation: a plain ``farm sync``."""
        return replace(self, task=None).covers(Ground())

    def covers(self, other: Ground) -> bool:
        """Whether a success on this ground proves ``other``'s work is done too."""
        if self.task is not None and other.task is not None and self.task != other.task:
            return False
        if not other.entities and self.task != other.task and not self.full:
            return False
        if not self.entities >= other.entities:
            return False
        if self.profiles and not (other.profiles and self.profiles >= other.profiles):
            return False
        if self.scope != COMPLETE and self.scope != other.scope:
            return False
        if self.mode != "all" and self.mode != other.mode:
            return False
        return not (self.refresh_only and not other.refresh_only)

    def describe(self) -> str:
        """``full sync``, ``delta of users``, ``users, cohorts for student``, ``person jdupont``."""
        if self.scope.startswith(_UNDO):
            what = f"undo of run {self.scope[len(_UNDO) :]}"
        elif self.scope.startswith(_PERSON):
            what = f"person {self.scope[len(_PERSON) :]}"
        elif self.scope == DELTA:
            what = "delta"
        else:
            what = "full sync" if self.entities >= ALL_ENTITIES else ""
        if not self.entities >= ALL_ENTITIES:
            kinds = ", ".join(sorted(self.entities))
            what = f"{what} of {kinds}" if what else kinds
        if self.profiles:
            what += " for " + ", ".join(sorted(self.profiles))
        if self.mode != "all":
            what += f" ({self.mode})"
        if self.refresh_only:
            what += " (refresh only)"
        if self.task is not None:
            what = f"task {self.task}" + (f": {what}" if what and self.entities else "")
        return what
