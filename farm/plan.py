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

A cohort every tenant dropped is retired under ``cohort_retirement``
(:class:`farm.options.CohortRetirementPolicy`). Under ``keep`` (the
default) it is released: nothing is written to Moodle, its members stay,
and the index forgets its tenants and theirs, so later runs leave it alone;
under ``archive`` it is released the same way, renamed with the archive
suffix and hidden. Under ``empty`` its members are removed (those of people
who stay; a leaving person's membership follows them as above) and the
cohort stays in Moodle and in the index with no tenant. Whichever of those
three, when a source brings the cohort back it is re-indexed (updated, if
it was renamed), never created again, so it keeps its Moodle id and what
Moodle attached to it (cohort enrolments); the members the source lists are
added, the others removed. Under ``delete`` it is deleted, its members with
it.

This module is the planner's face: :func:`plan_site` runs one pass
(:class:`farm.planner.Planner`) through its steps, people, cohorts and
groups first (:mod:`farm.plan_objects`), then their links
(:mod:`farm.plan_links`), and returns a :class:`Plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from farm.cohort_scope import narrow
from farm.index import SiteIndex
from farm.model import Kind, SourceWarning
from farm.operation import Action, Batch, Category, Operation
from farm.options import CohortRetirementPolicy, PlanOptions, RemovalPolicy
from farm.plan_links import plan_links
from farm.plan_objects import plan_objects, plan_people
from farm.planner import Planner
from farm.safety import SafetyStop, check_safety
from farm.site_rules import Refusal, SiteRules, check_site_rules
from farm.snapshot import SiteSnapshot


@dataclass(frozen=True, slots=True)
class Plan:
    """The operations that bring one site in line with its sources, in run order.

    When a safety rule trips, ``blocked`` says why, ``operations`` is empty
    and ``withheld`` holds what would have run, for the report only: a
    blocked plan cannot be applied by mistake. ``notes`` say what the
    planner left alone and why; ``warnings`` come from the sources and the
    merge. ``refusals`` are the records the site's rules refused before any
    call (:mod:`farm.site_rules`): reported like Moodle's refusals.
    ``complete`` and ``people_read`` are what the safety checks looked at
    (the tenants read completely, the people each source returned): a stored
    plan keeps them to be checked again when it is applied
    (:mod:`farm.stored_plan`).
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
    complete: frozenset[str] = frozenset()
    people_read: Mapping[str, int] = field(default_factory=dict)

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

    ``options.cohort_scope`` narrows the read and the index to the cohorts
    it matches first (:mod:`farm.cohort_scope`). ``rules`` are what the
    site accepts (:func:`farm.site_rules.check_site_rules` runs first); by
    default a stock site whose accounts' auth the sources give.
    """
    options = options or PlanOptions()
    if options.cohort_scope is not None:
        # A task of one cohort family: the others are neither planned nor removed.
        snapshot, index = narrow(options.cohort_scope, options.cohort_prefix, snapshot, index)
    checked = check_site_rules(snapshot, index, rules or SiteRules(site=site))
    snapshot = checked.snapshot
    planner = Planner(snapshot, index, options, checked.digests)
    plan_people(planner)
    plan_objects(planner, Kind.COHORT)
    plan_objects(planner, Kind.GROUP)
    for kind in (Kind.COHORT_MEMBER, Kind.ENROLMENT, Kind.GROUP_MEMBER, Kind.ROLE_ASSIGNMENT):
        plan_links(planner, kind)
    operations = planner.ordered()
    stop = check_safety(site, snapshot, index, operations, options)
    notes = (*planner.notes_text(withheld=stop is not None), *checked.notes)
    refusals = checked.refusals
    matched = planner.people_matched()
    complete, read = snapshot.complete, dict(snapshot.people_read)
    warnings = snapshot.warnings
    if stop is not None:
        return Plan(
            site, options, (), stop, operations, notes, warnings, refusals, matched, complete, read
        )
    return Plan(
        site, options, operations, None, (), notes, warnings, refusals, matched, complete, read
    )


__all__ = [
    "Action",
    "Batch",
    "Category",
    "CohortRetirementPolicy",
    "Operation",
    "Plan",
    "PlanOptions",
    "RemovalPolicy",
    "SafetyStop",
    "plan_site",
]
