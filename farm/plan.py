"""Planning: a site's merged snapshot + its index + options -> an ordered plan. Pure.

A record in the snapshot but not in the index is created (or linked); one in
both whose digest differs is updated with the changed fields only; one in
the index whose tenants all read completely without it is removed. Tenants
decide ownership: a record keeps the tenants that still hold it, a run
replaces only the tenants it read completely, so a run of one tenant of a
cité scolaire never removes what another tenant holds, and an incomplete
read (delta, one person) never removes anything.

Links (cohort members, enrolments, group members, role assignments) follow
their person: when a person leaves the site, their links are left as they
are (Moodle deletes them with the account under the delete policy; under
suspend and keep they come back with the person). Likewise Moodle deletes a
cohort's members with the cohort.

A cohort every tenant dropped follows ``cohort_removal``: under ``keep``
(the default) it is emptied, not deleted: its members are removed (those of
people who stay; a leaving person's membership follows them as above), the
cohort stays in Moodle and in the index with no tenant, and when a source
brings it back it is re-indexed, never created again, so it keeps its Moodle
id and what Moodle attached to it (cohort enrolments); its members are added
again. Under ``delete`` it is deleted, its members with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from farm.index import SiteIndex
from farm.model import (
    CohortMembership,
    GroupMembership,
    IndexEntry,
    Kind,
    Record,
    SiteSnapshot,
    SourceWarning,
)
from farm.operation import ADDING, RANK, REMOVING, Action, Batch, Category, Operation
from farm.options import CohortRemovalPolicy, PlanOptions, RemovalPolicy
from farm.safety import SafetyStop, check_safety
from farm.site_rules import Refusal, SiteRules, check_site_rules

_NO_CHANGES: Mapping[str, tuple[Any, Any]] = {}


@dataclass(frozen=True, slots=True)
class Plan:
    """The operations that bring one site in line with its sources, in run order.

    When a safety rule trips, ``blocked`` says why, ``operations`` is empty
    and ``withheld`` holds what would have run, for the report only: a
    blocked plan cannot be applied by mistake. ``notes`` say what the
    planner left alone and why; ``warnings`` come from the sources and the
    merge. ``refusals`` are the records the site's rules refused before any
    call (:mod:`farm.site_rules`): reported like Moodle's refusals.
    """

    site: str
    options: PlanOptions
    operations: tuple[Operation, ...]
    blocked: SafetyStop | None = None
    withheld: tuple[Operation, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[SourceWarning, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    #: With ``options.person``: how many people (read or indexed) it matched.
    people_matched: int | None = None

    @property
    def simulate(self) -> bool:
        return self.options.simulate

    def __len__(self) -> int:
        return len(self.operations)

    def batches(self) -> tuple[Batch, ...]:
        """The operations grouped by (kind, action), groups in run order, keys sorted."""
        return _batches(self.operations)

    def counts(self) -> dict[tuple[Kind, Action], int]:
        """Operations per (kind, action), in run order; the withheld ones when blocked."""
        ops = self.withheld if self.blocked is not None else self.operations
        return {(b.kind, b.action): len(b) for b in _batches(ops)}

    def summary(self) -> dict[str, int]:
        """The counts keyed ``"person.create"``, for reports and events."""
        return {f"{kind}.{action}": n for (kind, action), n in self.counts().items()}

    def report_lines(self) -> list[str]:
        """The plan as an operator reads it; one line per operation when verbose."""
        mark = "[SIMULATION] " if self.simulate else ""
        lines: list[str] = []
        if self.blocked is not None:
            lines.append(f"{mark}{self.site}: stopped: {self.blocked.reason}")
            lines.append(f"{mark}{self.site}: withheld {len(self.withheld)} operations")
        else:
            lines.append(f"{mark}{self.site}: {len(self.operations)} operations")
        lines.extend(f"{mark}  {kind} {action}: {n}" for (kind, action), n in self.counts().items())
        lines.extend(f"{mark}refused: {refusal}" for refusal in self.refusals)
        lines.extend(f"{mark}note: {note}" for note in self.notes)
        lines.extend(f"{mark}warning: {warning}" for warning in self.warnings)
        if self.options.verbose:
            shown = self.withheld if self.blocked is not None else self.operations
            lines.extend(f"{mark}{op.describe()}" for op in shown)
        return lines


def _batches(operations: tuple[Operation, ...]) -> tuple[Batch, ...]:
    batches: list[Batch] = []
    start = 0
    for end in range(1, len(operations) + 1):
        if end == len(operations) or (
            operations[end].kind is not operations[start].kind
            or operations[end].action is not operations[start].action
        ):
            head = operations[start]
            batches.append(Batch(head.kind, head.action, operations[start:end]))
            start = end
    return tuple(batches)


def plan_site(
    site: str,
    snapshot: SiteSnapshot,
    index: SiteIndex,
    options: PlanOptions | None = None,
    rules: SiteRules | None = None,
) -> Plan:
    """Plan one site's run. See the module docstring for the rules.

    ``rules`` are what the site accepts (:func:`farm.site_rules.check_site_rules`
    runs first); by default a stock site whose accounts' auth the sources give.
    """
    options = options or PlanOptions()
    checked = check_site_rules(snapshot, index, rules or SiteRules(site=site))
    snapshot = checked.snapshot
    planner = _Planner(snapshot, index, options)
    planner.plan_people()
    planner.plan_objects(Kind.COHORT)
    planner.plan_objects(Kind.GROUP)
    for kind in (Kind.COHORT_MEMBER, Kind.ENROLMENT, Kind.GROUP_MEMBER, Kind.ROLE_ASSIGNMENT):
        planner.plan_links(kind)
    operations = planner.ordered()
    stop = check_safety(site, snapshot, index, operations, options)
    notes = (*planner.notes_text(withheld=stop is not None), *checked.notes)
    refusals = checked.refusals
    matched = planner.people_matched()
    if stop is not None:
        return Plan(
            site, options, (), stop, operations, notes, snapshot.warnings, refusals, matched
        )
    return Plan(site, options, operations, None, (), notes, snapshot.warnings, refusals, matched)


def _changes(
    old: Mapping[str, Any], new: Mapping[str, Any], every: bool
) -> dict[str, tuple[Any, Any]]:
    if every:
        return {name: (old.get(name), value) for name, value in new.items()}
    return {name: (old.get(name), value) for name, value in new.items() if old.get(name) != value}


class _Planner:
    """One planning pass; holds the lookups every step shares."""

    def __init__(self, snapshot: SiteSnapshot, index: SiteIndex, options: PlanOptions) -> None:
        self.snapshot = snapshot
        self.index = index
        self.options = options
        self.authoritative = snapshot.complete
        self.groups: dict[tuple[Kind, Action], list[Operation]] = {}
        self.created: dict[Kind, set[str]] = {kind: set() for kind in Kind}
        self.deleted_cohorts: set[str] = set()
        self.emptied_cohorts: set[str] = set()
        self.unowned: dict[Kind, list[str]] = {}
        self.waiting: dict[Kind, int] = {}
        self.held_kept = 0
        self.person_filter = self._person_filter()

    # -- helpers -----------------------------------------------------------------

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
            Operation(kind, Action.REINDEX, key, category, record, entry, _NO_CHANGES, tenants)
        )

    def new_tenants(self, old: frozenset[str], found: frozenset[str]) -> frozenset[str]:
        if old <= self.authoritative:
            return found
        return (old - self.authoritative) | found

    def ordered(self) -> tuple[Operation, ...]:
        result: list[Operation] = []
        for pair in sorted(self.groups, key=RANK.__getitem__):
            result.extend(sorted(self.groups[pair], key=lambda op: op.key))
        return tuple(result)

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
                    f"cohort emptied (kept: cohort_removal = keep): {key} "
                    f"({removed.get(key, 0)} member(s) removed)"
                )

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

    def person_stays(self, key: str) -> bool:
        """Whether the person is still on the site after this run (not leaving, not gone)."""
        if key in self.snapshot.people:
            return True
        entry = self.index.get(Kind.PERSON, key)
        if entry is None:
            return True
        return not entry.suspended and bool(entry.tenants - self.authoritative)

    def owned(self, kind: Kind, record: Record) -> bool:
        idnumber: str = getattr(record, "idnumber", "")
        return self.options.adopt_cohorts or idnumber.startswith(self.options.cohort_prefix)

    # -- people, cohorts, groups ---------------------------------------------------

    def plan_people(self) -> None:
        if not self.options.selects(Kind.PERSON):
            return
        self._plan_present(Kind.PERSON, self.person_filter)
        self._plan_absent(Kind.PERSON, self.person_filter)

    def plan_objects(self, kind: Kind) -> None:
        if not self.options.selects(kind):
            return
        self._plan_present(kind, None)
        if not self.options.filters_people:
            self._plan_absent(kind, None)

    def _plan_present(self, kind: Kind, scope: Callable[[str], bool] | None) -> None:
        options = self.options
        force = options.force
        entries = self.index.of(kind)
        origins = self.snapshot.origins_of(kind)
        may_create = options.allows(Category.CREATE, kind)
        may_update = options.allows(Category.UPDATE, kind)
        created = self.created[kind]
        check_owner = kind is not Kind.PERSON
        for key, record in self.snapshot.of(kind).items():
            if scope is not None and not scope(key):
                continue
            found = origins[key]
            entry = entries.get(key)
            if entry is None:
                if check_owner and not self.owned(kind, record):
                    self.unowned.setdefault(kind, []).append(key)
                    continue
                if may_create:
                    created.add(key)
                    self.emit(
                        Operation(
                            kind,
                            Action.CREATE,
                            key,
                            Category.CREATE,
                            record,
                            None,
                            _NO_CHANGES,
                            found,
                        )
                    )
                continue
            if not may_update:
                continue
            tenants = self.new_tenants(entry.tenants, found)
            if entry.suspended:
                changes = _changes(entry.values, record.values(), force)
                self.emit(
                    Operation(
                        kind, Action.REVIVE, key, Category.UPDATE, record, entry, changes, tenants
                    )
                )
            elif force or record.digest() != entry.digest:
                changes = _changes(entry.values, record.values(), force)
                action = Action.UPDATE if changes else Action.REINDEX
                self.emit(
                    Operation(kind, action, key, Category.UPDATE, record, entry, changes, tenants)
                )
            elif tenants != entry.tenants:
                self.reindex(kind, key, Category.UPDATE, record, entry, tenants)

    def _plan_absent(self, kind: Kind, scope: Callable[[str], bool] | None) -> None:
        authoritative = self.authoritative
        if not authoritative or not self.options.allows(Category.REMOVE, kind):
            return
        present = self.snapshot.of(kind)
        held = self.snapshot.held if kind is Kind.PERSON else frozenset()
        policy = self.options.removal
        keep_cohorts = self.options.cohort_removal is CohortRemovalPolicy.KEEP
        for key, entry in self.index.of(kind).items():
            if key in present or entry.suspended or not entry.tenants & authoritative:
                continue
            if key in held:
                self.held_kept += 1
                continue
            if scope is not None and not scope(key):
                continue
            remaining = entry.tenants - authoritative
            if kind is Kind.COHORT and keep_cohorts and not remaining:
                # Emptied, not deleted: _plan_absent_links removes its members.
                self.emptied_cohorts.add(key)
                self.reindex(kind, key, Category.REMOVE, None, entry, remaining)
            elif (
                remaining
                or kind is Kind.GROUP
                or (kind is Kind.PERSON and policy is RemovalPolicy.KEEP)
            ):
                # Groups are never deleted (no web-service function in the farm's service).
                self.reindex(kind, key, Category.REMOVE, None, entry, remaining)
            elif kind is Kind.PERSON and policy is RemovalPolicy.SUSPEND:
                changes = {"suspended": (entry.values.get("suspended", False), True)}
                self.emit(
                    Operation(
                        kind,
                        Action.SUSPEND,
                        key,
                        Category.REMOVE,
                        None,
                        entry,
                        changes,
                        frozenset(),
                    )
                )
            else:
                if kind is Kind.COHORT:
                    self.deleted_cohorts.add(key)
                self.emit(
                    Operation(
                        kind,
                        Action.DELETE,
                        key,
                        Category.REMOVE,
                        None,
                        entry,
                        _NO_CHANGES,
                        frozenset(),
                    )
                )

    # -- links -----------------------------------------------------------------------

    def plan_links(self, kind: Kind) -> None:
        if not self.options.selects(kind):
            return
        self._plan_present_links(kind)
        self._plan_absent_links(kind)

    def _target(self, record: Record) -> tuple[Kind, str] | None:
        if isinstance(record, CohortMembership):
            return Kind.COHORT, record.cohort
        if isinstance(record, GroupMembership):
            return Kind.GROUP, f"{record.course}|{record.group}"
        return None

    def _resolvable(self, kind: Kind, key: str) -> bool:
        if key in self.created[kind]:
            return True
        entry = self.index.get(kind, key)
        return entry is not None

    def _plan_present_links(self, kind: Kind) -> None:
        options = self.options
        scope = self.person_filter
        entries = self.index.of(kind)
        origins = self.snapshot.origins_of(kind)
        adding = ADDING[kind]
        may_add = options.allows(Category.CREATE, kind)
        may_update = options.allows(Category.UPDATE, kind)
        unowned = set(self.unowned.get(Kind.COHORT, ())) | set(self.unowned.get(Kind.GROUP, ()))
        for key, record in self.snapshot.of(kind).items():
            person: str = record.person  # type: ignore[attr-defined]
            if scope is not None and not scope(person):
                continue
            found = origins[key]
            entry = entries.get(key)
            if entry is None:
                if not may_add:
                    continue
                target = self._target(record)
                if target is not None and target[1] in unowned:
                    continue
                if not self._resolvable(Kind.PERSON, person) or (
                    target is not None and not self._resolvable(*target)
                ):
                    self.waiting[kind] = self.waiting.get(kind, 0) + 1
                    continue
                self.emit(
                    Operation(kind, adding, key, Category.CREATE, record, None, _NO_CHANGES, found)
                )
            elif may_update:
                tenants = self.new_tenants(entry.tenants, found)
                if options.force:
                    self.emit(
                        Operation(
                            kind, adding, key, Category.UPDATE, record, entry, _NO_CHANGES, tenants
                        )
                    )
                elif tenants != entry.tenants:
                    self.reindex(kind, key, Category.UPDATE, record, entry, tenants)

    def _plan_absent_links(self, kind: Kind) -> None:
        authoritative = self.authoritative
        if not authoritative or not self.options.allows(Category.REMOVE, kind):
            return
        scope = self.person_filter
        present = self.snapshot.of(kind)
        removing = REMOVING[kind]
        stays: dict[str, bool] = {}
        for key, entry in self.index.of(kind).items():
            if key in present or not entry.tenants & authoritative:
                continue
            person = entry.values.get("person", "")
            if scope is not None and not scope(person):
                continue
            remaining = entry.tenants - authoritative
            if remaining:
                self.emit(
                    Operation(
                        kind,
                        Action.REINDEX,
                        key,
                        Category.REMOVE,
                        None,
                        entry,
                        _NO_CHANGES,
                        remaining,
                    )
                )
                continue
            staying = stays.get(person)
            if staying is None:
                staying = stays[person] = self.person_stays(person)
            if not staying:
                continue
            if kind is Kind.COHORT_MEMBER and entry.values.get("cohort") in self.deleted_cohorts:
                continue
            self.emit(
                Operation(
                    kind, removing, key, Category.REMOVE, None, entry, _NO_CHANGES, frozenset()
                )
            )


__all__ = [
    "Action",
    "Batch",
    "Category",
    "CohortRemovalPolicy",
    "Operation",
    "Plan",
    "PlanOptions",
    "RemovalPolicy",
    "SafetyStop",
    "plan_site",
]
