"""Drift: what changed, since a plan was computed, in what the plan was computed from. Pure.

A stored plan (:mod:`farm.stored_plan`) is applied only if nothing it was
computed from has drifted (invariant 10). Two things are compared, record by
record, and each difference is one :class:`Drift` naming the record and the
field:

- the index (:func:`index_drift`): each operation's previous entry (Moodle
  id, digest, values, tenants) must be the entry the site's index holds
  now, and a creation's record must still be absent from it; a run that
  wrote the record since (a targeted sync, another tenant of a cité
  scolaire) makes the plan's old values wrong;
- Moodle, for the records the plan touches: for an account the plan
  updates, revives or suspends, each field the plan changes must still hold
  its old value (:func:`account_drift`), and likewise for a cohort's name
  and description (:func:`cohort_drift`); for a creation, no account or
  cohort with that idnumber (or username) may be there but the ones known
  when the plan was made (:func:`creation_drift`). Someone who edited the
  account by hand since would otherwise see their change overwritten
  without anybody having reviewed it.

A forced plan (``--force``) exists to repair hand edits: its Moodle values
are not compared, only the presence of the account. The functions take what
Moodle holds as plain mappings (the engine reads them through the client),
so everything here is tested without a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from farm.index import SiteIndex
from farm.model import Kind
from farm.operation import Action, Operation

#: Where a drift was found.
INDEX = "index"
MOODLE = "moodle"

#: Record values that are plain fields of a Moodle account (the rest are the farm's own).
ACCOUNT_FIELDS = ("username", "firstname", "lastname", "email", "auth", "idnumber", "suspended")
#: Record values of a cohort that Moodle keeps as they were sent.
COHORT_FIELDS = ("idnumber", "name", "description")

#: The actions whose account Moodle must still hold as the plan saw it.
ACCOUNT_CHECKED = frozenset({Action.UPDATE, Action.REVIVE, Action.SUSPEND})


@dataclass(frozen=True, slots=True)
class Drift:
    """One record (and field) that is no longer what the plan was computed from.

    ``where`` is ``index`` or ``moodle``; ``field`` the value that differs
    (None when the whole record appeared or went); ``expected`` what the plan
    was computed from and ``found`` what is there now. ``label`` is a
    person's username, for the operator.
    """

    kind: Kind
    key: str
    where: str
    message: str
    field: str | None = None
    expected: Any = None
    found: Any = None
    label: str = ""

    def __str__(self) -> str:
        who = f" ({self.label})" if self.label else ""
        return f"{self.kind} {self.key}{who}: {self.where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "label": self.label,
            "where": self.where,
            "field": self.field,
            "expected": self.expected,
            "found": self.found,
            "message": self.message,
        }


def _label(op: Operation) -> str:
    if op.kind is not Kind.PERSON:
        return ""
    username = getattr(op.record, "username", None)
    if username is None and op.previous is not None:
        username = op.previous.values.get("username")
    return str(username or "")


def _text(value: Any) -> str:
    return "(none)" if value is None else repr(value)


def index_drift(operations: Iterable[Operation], index: SiteIndex) -> list[Drift]:
    """Every operation whose record the index no longer holds as the plan saw it."""
    found: list[Drift] = []
    for op in operations:
        found.extend(_entry_drift(op, index))
    return found


def _entry_drift(op: Operation, index: SiteIndex) -> Iterator[Drift]:
    before, now = op.previous, index.get(op.kind, op.key)
    label = _label(op)
    if before is None:
        if now is not None:
            yield Drift(
                op.kind,
                op.key,
                INDEX,
                f"now holds it (Moodle id {now.moodle_id}): another run wrote it "
                "after the plan, which creates it",
                found=now.moodle_id,
                label=label,
            )
        return
    if now is None:
        yield Drift(
            op.kind,
            op.key,
            INDEX,
            "no longer holds it: another run removed it after the plan",
            expected=before.moodle_id,
            label=label,
        )
        return
    if now.moodle_id != before.moodle_id:
        yield Drift(
            op.kind,
            op.key,
            INDEX,
            f"Moodle id is {now.moodle_id}, the plan was computed from {before.moodle_id}",
            "moodle_id",
            before.moodle_id,
            now.moodle_id,
            label,
        )
    differing = [
        name
        for name in dict.fromkeys([*before.values, *now.values])
        if before.values.get(name) != now.values.get(name)
    ]
    for name in differing:
        old, new = before.values.get(name), now.values.get(name)
        yield Drift(
            op.kind,
            op.key,
            INDEX,
            f"{name} is {_text(new)}, the plan was computed from {_text(old)}",
            name,
            old,
            new,
            label,
        )
    if not differing and now.digest != before.digest:
        yield Drift(
            op.kind,
            op.key,
            INDEX,
            "its digest changed since the plan",
            "digest",
            before.digest,
            now.digest,
            label,
        )
    if now.tenants != before.tenants:
        old_t, new_t = sorted(before.tenants), sorted(now.tenants)
        yield Drift(
            op.kind,
            op.key,
            INDEX,
            f"tenants are {new_t}, the plan was computed from {old_t}",
            "tenants",
            old_t,
            new_t,
            label,
        )


def account_drift(
    op: Operation, account: Mapping[str, Any] | None, *, force: bool = False
) -> list[Drift]:
    """How the account of a person update, revival or suspension drifted in Moodle.

    ``account`` holds the account's fields as Moodle answers them (the
    :data:`ACCOUNT_FIELDS` and ``customfields``), or None when Moodle has no
    live account with the id the index holds.
    """
    label = _label(op)
    if account is None:
        return [
            Drift(
                op.kind,
                op.key,
                MOODLE,
                f"account id {op.moodle_id} is gone from Moodle",
                expected=op.moodle_id,
                label=label,
            )
        ]
    if force:
        return []
    found: list[Drift] = []
    for name, (old, new) in op.changes.items():
        if name in ACCOUNT_FIELDS:
            pairs = [(name, old, account.get(name))]
        elif name == "profile_fields":
            pairs = list(_custom_pairs(old, new, account.get("customfields") or {}))
        else:
            continue  # a farm-side value (profiles): Moodle does not keep it
        for field_name, expected, there in pairs:
            if expected is not None and there != expected:
                found.append(
                    Drift(
                        op.kind,
                        op.key,
                        MOODLE,
                        f"{field_name} is {_text(there)}, the plan expected {_text(expected)}",
                        field_name,
                        expected,
                        there,
                        label,
                    )
                )
    return found


def _custom_pairs(old: Any, new: Any, there: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """The custom profile fields the plan changes: (name, old value, Moodle's value)."""
    before, after = dict(old or {}), dict(new or {})
    for name in sorted({*before, *after}):
        if before.get(name, "") != after.get(name, ""):
            yield f"profile_fields.{name}", before.get(name, ""), str(there.get(name, ""))


def cohort_drift(
    op: Operation, cohort: Mapping[str, Any] | None, *, force: bool = False
) -> list[Drift]:
    """How the cohort of a cohort update drifted in Moodle (None: it is gone)."""
    if cohort is None:
        return [
            Drift(
                op.kind,
                op.key,
                MOODLE,
                f"cohort id {op.moodle_id} is gone from Moodle",
                expected=op.moodle_id,
            )
        ]
    if force:
        return []
    found: list[Drift] = []
    for name, (old, _) in op.changes.items():
        if name in COHORT_FIELDS and old is not None and cohort.get(name) != old:
            found.append(
                Drift(
                    op.kind,
                    op.key,
                    MOODLE,
                    f"{name} is {_text(cohort.get(name))}, the plan expected {_text(old)}",
                    name,
                    old,
                    cohort.get(name),
                )
            )
    return found


def creation_drift(
    op: Operation, found: Iterable[tuple[str, str, int]], known: Iterable[int] = ()
) -> list[Drift]:
    """The accounts or cohorts Moodle holds now for a creation: ``(field, value, id)`` each.

    ``known`` are the ids that were already there when the plan was made (a
    re-planned creation says which account it adopts): they are no drift.
    """
    seen = set(known)
    out: list[Drift] = []
    what = "an account" if op.kind is Kind.PERSON else f"a {op.kind}"
    for field_name, value, moodle_id in found:
        if moodle_id in seen:
            continue
        seen.add(moodle_id)
        out.append(
            Drift(
                op.kind,
                op.key,
                MOODLE,
                f"{what} with {field_name} {value!r} is there now (id {moodle_id}): the plan "
                "creates it, the apply would adopt it instead",
                field_name,
                None,
                moodle_id,
                _label(op),
            )
        )
    return out


def drift_words(drifts: Iterable[Drift], *, shown: int = 10) -> str:
    """The drifted records, one clause each, for a tenant's reason; the first ``shown``."""
    items = list(drifts)
    words = "; ".join(str(d) for d in items[:shown])
    more = len(items) - shown
    return words + (f"; and {more} more (see the report's errors)" if more > 0 else "")
