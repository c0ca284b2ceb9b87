"""Stored plans: what a simulation planned for one site, kept to be reviewed and applied. Pure.

``farm sync --simulate`` keeps, with its run, one :class:`StoredPlan` per
site: the operations with their old and new values, the index entry each
was computed from, the safety verdict and the facts it was drawn from.
``farm plan show RUN`` prints it value by value (:func:`field_changes`);
``farm apply RUN`` applies exactly these operations in a new run
(:meth:`StoredPlan.to_plan`), once, after :mod:`farm.drift` found nothing
changed and the safety checks passed again on the index as it is then
(:meth:`StoredPlan.safety`). The JSON form is :mod:`farm.plan_codec`'s.

A plan re-planned after drift (``farm apply RUN --replan-drifted``) is a
stored plan of its own run: the operations that had not drifted, as they
were, and those of the drifted records planned again (:func:`replan`), with
the drift that caused it (``drift``) and the accounts it adopts
(``known``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from farm.drift import ACCOUNT_FIELDS, COHORT_FIELDS, Drift
from farm.index import SiteIndex
from farm.model import Kind, SourceWarning
from farm.operation import RANK, Action, Operation
from farm.options import PlanOptions
from farm.plan import Plan
from farm.safety import SafetyStop, check_safety
from farm.site_rules import Refusal
from farm.snapshot import SiteSnapshot

#: A stored plan older than this is refused as stale by default (``[farm] plan_max_age``).
DEFAULT_MAX_AGE = timedelta(hours=24)

#: Record kinds and keys: what identifies an operation's record within a site.
RecordId = tuple[Kind, str]


class PlanAlreadyApplied(Exception):
    """A stored plan is applied at most once: this one was, by ``applied_by``."""

    def __init__(self, run_id: int, site: str, applied_by: int) -> None:
        super().__init__(
            f"the plan of run {run_id} for site {site} was already applied by run {applied_by}: "
            "simulate again (farm sync --simulate) for a new plan"
        )
        self.run_id = run_id
        self.site = site
        self.applied_by = applied_by


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """One site's plan of a simulated run, as the registry keeps it.

    ``tenants`` are the tenants the plan covers (those whose source was
    read); ``operations`` what would run, empty when ``blocked`` (the
    safety verdict) held them back in ``withheld``. ``complete`` and
    ``people_read`` are the facts the safety checks used. ``known`` maps a
    creation to the Moodle ids already there when the plan was made (only a
    re-planned plan knows any). ``replanned_from`` and ``drift`` say which
    plan a re-plan replaced, and why. The last three fields are the
    registry's: when it was stored, and which run applied it, when.
    """

    run_id: int
    site: str
    tenants: tuple[str, ...]
    options: PlanOptions
    operations: tuple[Operation, ...] = ()
    blocked: SafetyStop | None = None
    withheld: tuple[Operation, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[SourceWarning, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    complete: frozenset[str] = frozenset()
    people_read: Mapping[str, int] = field(default_factory=dict)
    people_matched: int | None = None
    known: Mapping[RecordId, tuple[int, ...]] = field(default_factory=dict)
    replanned_from: int | None = None
    drift: tuple[Drift, ...] = ()
    created_at: datetime | None = None
    applied_by: int | None = None
    applied_at: datetime | None = None

    @classmethod
    def of_plan(cls, run_id: int, tenants: Iterable[str], plan: Plan) -> StoredPlan:
        """What a simulation keeps of ``plan`` for ``tenants``."""
        return cls(
            run_id=run_id,
            site=plan.site,
            tenants=tuple(sorted(set(tenants))),
            options=plan.options,
            operations=plan.operations,
            blocked=plan.blocked,
            withheld=plan.withheld,
            notes=plan.notes,
            warnings=plan.warnings,
            refusals=plan.refusals,
            complete=plan.complete,
            people_read=dict(plan.people_read),
            people_matched=plan.people_matched,
        )

    def shown(self) -> tuple[Operation, ...]:
        """The operations a reviewer reads: those that would run, or the withheld ones."""
        return self.withheld if self.blocked is not None else self.operations

    def age(self, now: datetime) -> timedelta:
        """How long ago the plan was stored (zero before it is)."""
        return timedelta(0) if self.created_at is None else now - self.created_at

    def to_plan(self, *, verbose: bool | None = None) -> Plan:
        """The plan the applier runs: exactly these operations, for real."""
        options = replace(
            self.options,
            simulate=False,
            verbose=self.options.verbose if verbose is None else verbose,
        )
        return Plan(
            site=self.site,
            options=options,
            operations=self.operations,
            notes=self.notes,
            warnings=self.warnings,
            refusals=self.refusals,
            people_matched=self.people_matched,
            complete=self.complete,
            people_read=dict(self.people_read),
        )

    def safety(self, index: SiteIndex) -> SafetyStop | None:
        """The safety checks again, on these operations against ``index`` as it is now."""
        facts = SiteSnapshot(
            tenants=self.complete,
            complete=self.complete,
            records={},
            origins={},
            people_read=dict(self.people_read),
        )
        return check_safety(self.site, facts, index, self.operations, self.options)


def field_changes(op: Operation) -> list[tuple[str, Any, Any]]:
    """``(field, old, new)`` per value an operation changes, as a reviewer reads it.

    A creation or an addition brings each of the record's values (old is
    None); an update, revival or suspension its changes; a removal takes
    the values the index held away (new is None); a re-index changes only
    the record's tenants.
    """
    if op.action is Action.REINDEX:
        old = sorted(op.previous.tenants) if op.previous is not None else []
        return [("tenants", old, sorted(op.tenants))]
    if op.changes:
        return [(name, old, new) for name, (old, new) in op.changes.items()]
    if op.record is not None and op.previous is None:
        return [(name, None, value) for name, value in op.record.values().items()]
    if op.record is None and op.previous is not None:
        return [(name, value, None) for name, value in op.previous.values.items()]
    return []


def replan(
    stored: StoredPlan,
    fresh: Plan,
    drifted: Sequence[Drift],
    moodle: Mapping[RecordId, Mapping[str, Any]],
    found: Mapping[RecordId, tuple[int, ...]],
) -> tuple[tuple[Operation, ...], dict[RecordId, tuple[int, ...]]]:
    """The operations of a plan re-planned after ``drifted``, and the creations' known ids.

    The records that did not drift keep their stored operations. Those that
    did take ``fresh``'s (planned again from the sources and the index as
    they are now), none when they need nothing any more. Where Moodle
    drifted, an operation's old values are Moodle's (``moodle``: what it
    holds now, by record), so the next apply checks against what is there,
    and a field Moodle already holds as the source says is no change any
    more. A creation Moodle already has an account or cohort for keeps the
    ids ``found`` as known: applied, it adopts that one.
    """
    ids = {(d.kind, d.key) for d in drifted}
    kept = [op for op in stored.operations if (op.kind, op.key) not in ids]
    renewed: list[Operation] = []
    known: dict[RecordId, tuple[int, ...]] = {
        rid: held for rid, held in stored.known.items() if rid not in ids
    }
    for op in fresh.operations:
        rid = (op.kind, op.key)
        if rid not in ids:
            continue
        there = moodle.get(rid)
        if there is not None and op.changes:
            op = _rebased(op, there)
        if op.action is Action.CREATE and found.get(rid):
            known[rid] = found[rid]
        renewed.append(op)
    merged = sorted([*kept, *renewed], key=lambda op: (RANK[(op.kind, op.action)], op.key))
    return tuple(merged), known


def _rebased(op: Operation, there: Mapping[str, Any]) -> Operation:
    """``op`` with Moodle's values as its old ones; a re-index when Moodle holds them all."""
    plain = ACCOUNT_FIELDS if op.kind is Kind.PERSON else COHORT_FIELDS
    changes: dict[str, tuple[Any, Any]] = {}
    for name, (old, new) in op.changes.items():
        if name in plain and name in there:
            if there[name] != new:
                changes[name] = (there[name], new)
        elif name == "profile_fields" and "customfields" in there:
            custom = {k: str(v) for k, v in dict(there["customfields"] or {}).items()}
            wanted = dict(new or {})
            if any(custom.get(k, "") != v for k, v in wanted.items()) or any(
                custom.get(k, "") for k in dict(old or {}) if k not in wanted
            ):
                relevant = {k: custom.get(k, "") for k in {*wanted, *dict(old or {})}}
                changes[name] = (relevant, new)
        else:
            changes[name] = (old, new)
    if not changes and op.action is Action.UPDATE:
        # Moodle already holds what the source says: only the index is behind.
        return replace(op, action=Action.REINDEX, changes={})
    return replace(op, changes=changes)
