"""One planning pass: the lookups and the findings every step of a plan shares.

:func:`farm.plan.plan_site` makes one :class:`Planner` per run; the steps
(:mod:`farm.plan_objects` for people, cohorts and groups,
:mod:`farm.plan_links` for the links between them) emit operations into it
and record what they left alone, which :meth:`Planner.notes_text` turns into
the plan's notes. The rules the steps follow are in :mod:`farm.plan`. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from farm.index import SiteIndex
from farm.model import IndexEntry, Kind, Record
from farm.operation import RANK, Action, Category, Operation
from farm.options import PlanOptions
from farm.snapshot import SiteSnapshot

#: The changes of an operation that changes no field.
NO_CHANGES: Mapping[str, tuple[Any, Any]] = {}


def changes_between(
    old: Mapping[str, Any], new: Mapping[str, Any], every: bool
) -> dict[str, tuple[Any, Any]]:
    """``(old, new)`` per field that differs; per field of ``new`` when ``every`` (forced)."""
    if every:
        return {name: (old.get(name), value) for name, value in new.items()}
    return {name: (old.get(name), value) for name, value in new.items() if old.get(name) != value}


class Planner:
    """One planning pass; holds the lookups every step shares."""

    def __init__(
        self,
        snapshot: SiteSnapshot,
        index: SiteIndex,
        options: PlanOptions,
        digests: Mapping[str, str] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.index = index
        self.options = options
        #: People's digests the site rules made already (:attr:`farm.site_rules.Checked.digests`).
        self.digests: Mapping[str, str] = digests or {}
        self.authoritative = snapshot.complete
        self.groups: dict[tuple[Kind, Action], list[Operation]] = {}
        self.created: dict[Kind, set[str]] = {kind: set() for kind in Kind}
        self.deleted_cohorts: set[str] = set()
        self.emptied_cohorts: set[str] = set()
        #: Cohorts retired under keep or archive: the farm lets them go, members and all.
        self.released_cohorts: set[str] = set()
        #: Of those, the ones renamed and hidden this run.
        self.archived_cohorts: set[str] = set()
        #: Cohorts a source reads again after they were retired (indexed with no tenant).
        self.taken_back: set[str] = set()
        self.unowned: dict[Kind, list[str]] = {}
        self.waiting: dict[Kind, int] = {}
        self.held_kept = 0
        self.person_filter = self._person_filter()

    # -- emitting ----------------------------------------------------------------------

    def emit(self, operation: Operation) -> None:
        self.groups.setdefault((operation.kind, operation.action), []).append(operation)

    def reindex(
        self,
        kind: Kind,
        key: str,
        category: Category,
        record: Record | None,
        entry: IndexEntry,
        tenants: frozenset[str],
    ) -> None:
        """Record new tenants in the index only: nothing changes in Moodle."""
        self.emit(
            Operation(kind, Action.REINDEX, key, category, record, entry, NO_CHANGES, tenants)
        )

    def ordered(self) -> tuple[Operation, ...]:
        """Every emitted operation, groups in run order, keys sorted within a group."""
        result: list[Operation] = []
        for pair in sorted(self.groups, key=RANK.__getitem__):
            result.extend(sorted(self.groups[pair], key=lambda op: op.key))
        return tuple(result)

    # -- lookups -----------------------------------------------------------------------

    def new_tenants(self, old: frozenset[str], found: frozenset[str]) -> frozenset[str]:
        """An entry's tenants after this run: the ones read completely are replaced."""
        if old <= self.authoritative:
            return found
        return (old - self.authoritative) | found

    def resolvable(self, kind: Kind, key: str) -> bool:
        """Whether a link can point at the record: created this run, or already indexed."""
        if key in self.created[kind]:
            return True
        entry = self.index.get(kind, key)
        return entry is not None

    def person_stays(self, key: str) -> bool:
        """Whether the person is still on the site after this run (not leaving, not gone)."""
        if key in self.snapshot.people:
            return True
        entry = self.index.get(Kind.PERSON, key)
        if entry is None:
            return True
        return not entry.suspended and bool(entry.tenants - self.authoritative)

    # -- the people in scope -----------------------------------------------------------

    def _person_filter(self) -> Callable[[str], bool] | None:
        """A predicate on person keys, or None when everyone is in scope."""
        if not self.options.filters_people:
            return None
        wanted = {profile.value for profile in self.options.profiles}
        # Operators type what they see: a uid, a login or an idnumber, in any case.
        chosen = self.options.person.strip().casefold() if self.options.person else None
        people = self.snapshot.people
        entries = self.index.of(Kind.PERSON)

        def in_scope(key: str) -> bool:
            person = people.get(key)
            if person is not None:
                profiles: set[str] = {p.value for p in person.profiles}
                username, idnumber = person.username, person.idnumber
            else:
                entry = entries.get(key)
                if entry is None:
                    return False
                profiles = set(entry.values.get("profiles", ()))
                username = entry.values.get("username", "")
                idnumber = entry.values.get("idnumber", "")
            if wanted and not wanted & profiles:
                return False
            if chosen is None:
                return True
            # The last part of a source key is the source's own id (sdet:UID -> UID).
            names = (key, key.rpartition(":")[2], username, idnumber)
            return chosen in {name.casefold() for name in names}

        return in_scope

    def people_matched(self) -> int | None:
        """How many people ``options.person`` matched, read or indexed (None without it)."""
        if self.options.person is None or self.person_filter is None:
            return None
        keys = set(self.snapshot.people) | set(self.index.of(Kind.PERSON))
        # A person the site's rules refused was matched too: their refusal is the answer.
        keys |= self.snapshot.held
        return sum(1 for key in keys if self.person_filter(key))

    # -- notes -------------------------------------------------------------------------

    def notes_text(self, *, withheld: bool = False) -> Iterator[str]:
        """The notes of the plan; ``withheld`` (a safety stop) leaves out what did not happen."""
        prefix = self.options.cohort_prefix
        for kind, keys in self.unowned.items():
            shown = ", ".join(sorted(keys)[:5]) + (", ..." if len(keys) > 5 else "")
            yield (
                f"{len(keys)} {kind}(s) without the farm prefix {prefix!r} left alone "
                f"(not the farm's; --adopt-cohorts takes them): {shown}"
            )
        if self.held_kept:
            yield (
                f"{self.held_kept} person(s) left as they are: the source could not read "
                f"their entries, or the site could not take them (see the warnings and errors)"
            )
        for kind, n in self.waiting.items():
            yield (
                f"{n} {kind} link(s) wait for an account, cohort or group this run does not create"
            )
        if self.emptied_cohorts and not withheld:
            removed: dict[str, int] = {}
            for op in self.groups.get((Kind.COHORT_MEMBER, Action.REMOVE), ()):
                cohort = op.previous.values.get("cohort") if op.previous is not None else None
                if isinstance(cohort, str):
                    removed[cohort] = removed.get(cohort, 0) + 1
            for key in sorted(self.emptied_cohorts):
                yield (
                    f"cohort emptied (kept: cohort_retirement = empty): {key} "
                    f"({removed.get(key, 0)} member(s) removed)"
                )
        if self.released_cohorts and not withheld:
            yield from self._released_notes()

    def _released_notes(self) -> Iterator[str]:
        """One note for the cohorts kept as they are, one for those archived: a rentrée has many."""
        archived = sorted(self.archived_cohorts)
        kept = sorted(self.released_cohorts - self.archived_cohorts)
        policy = self.options.cohort_retirement.value
        if kept:
            yield (
                f"{len(kept)} cohort(s) released (cohort_retirement = {policy}: left as they are "
                f"in Moodle, members kept; the farm no longer manages them): {_shown(kept)}"
            )
        if archived:
            yield (
                f"{len(archived)} cohort(s) archived (cohort_retirement = archive: renamed with "
                f"{self.options.cohort_archive_suffix!r} and hidden, members kept): "
                f"{_shown(archived)}"
            )


def _shown(keys: list[str], most: int = 5) -> str:
    return ", ".join(keys[:most]) + (", ..." if len(keys) > most else "")
