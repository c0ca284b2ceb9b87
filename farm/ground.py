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
- ``refresh_only``: whether it was forbidden to create.

A ground **covers** another when it did at least that work: every entity
and every profile of the other, a scope at least as wide (complete covers
delta, every person and every undo; delta covers delta; a person covers
only the same person, an undo only the same undo), the mode ``all`` or the
same mode, and no ``refresh_only`` unless the other had it too. So a
successful ``delta``, ``--user`` or undo run never clears a failed full
sync, a successful ``users`` task clears a failed ``users`` task but not a
failed ``cohorts`` one, and a successful full sync clears everything.
``force``, ``verbose`` and removal settings do not change the ground.

A ground is stored on each tenant report as :meth:`Ground.text`, so that the
registry can group reports by ground in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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

    @classmethod
    def of_options(cls, options: Mapping[str, Any]) -> Ground:
        """The ground of a run from its options (a JobSpec's, as the run row keeps them)."""
        entities = _names(options.get("entities")) if options.get("entities") else ALL_ENTITIES
        person = options.get("person")
        if options.get("undo_of"):
            scope = _UNDO + str(options["undo_of"])
        elif person:
            scope = _PERSON + str(person).strip().lower()
        elif options.get("delta"):
            scope = DELTA
        else:
            scope = COMPLETE
        return cls(
            entities=frozenset(entities) or ALL_ENTITIES,
            profiles=_names(options.get("profiles")),
            scope=scope,
            mode=str(options.get("mode") or "all"),
            refresh_only=bool(options.get("refresh_only")),
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
            entities=ALL_ENTITIES if entities == "*" else frozenset(entities.split(",")),
            profiles=frozenset() if profiles == "*" else frozenset(profiles.split(",")),
            scope=parts.get("scope", COMPLETE),
            mode=parts.get("mode", "all"),
            refresh_only=parts.get("refresh") == "1",
        )

    @property
    def text(self) -> str:
        """A stable one-line form: equal grounds have equal texts."""
        entities = "*" if self.entities >= ALL_ENTITIES else ",".join(sorted(self.entities))
        profiles = ",".join(sorted(self.profiles)) or "*"
        return (
            f"entities={entities};profiles={profiles};scope={self.scope};mode={self.mode};"
            f"refresh={int(self.refresh_only)}"
        )

    @property
    def full(self) -> bool:
        """A complete read of every entity and everyone, every operation: a plain ``farm sync``."""
        return self.covers(Ground())

    def covers(self, other: Ground) -> bool:
        """Whether a success on this ground proves ``other``'s work is done too."""
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
        return what
