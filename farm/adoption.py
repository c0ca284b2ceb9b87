"""Adoption: existing Moodle accounts and cohorts are taken over, never duplicated.

Before creating, the applier looks the planned records up in Moodle (users
by idnumber, username and e-mail; cohorts and groups by idnumber) and hands
what it found to these functions, which decide for each record: adopt an
existing object, create a new one, or report an ambiguity for an operator
to settle. They never guess.

Moodle facts this relies on: usernames are lowercase; idnumber is not
unique, so two accounts may share one; e-mail uniqueness is checked without
case on creation while lookups by e-mail are case-sensitive, so the applier
should look e-mails up as given and lowercased, and this module compares
them without case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from farm.model import Person
from farm.operation import Action, Operation


class Outcome(StrEnum):
    ADOPT = "adopt"
    CREATE = "create"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class MoodleAccount:
    """An account as ``core_user_get_users_by_field`` describes it."""

    id: int
    username: str
    idnumber: str = ""
    email: str = ""
    firstname: str = ""
    lastname: str = ""
    auth: str = "manual"
    suspended: bool = False


@dataclass(frozen=True, slots=True)
class Adoption:
    """The decision for one planned creation.

    For ``ADOPT``, ``moodle_id`` is the account to take over, ``matched_by``
    says how it was found (``idnumber``, ``username`` or ``email``) and
    ``changes`` the fields the applier must update so that the account says
    what the source says (custom profile fields are always included). For
    ``AMBIGUOUS``, ``reason`` names the accounts.
    """

    key: str
    outcome: Outcome
    moodle_id: int | None = None
    matched_by: str | None = None
    reason: str = ""
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)


_ACCOUNT_FIELDS = ("username", "idnumber", "email", "firstname", "lastname", "auth", "suspended")


def _describe(accounts: Iterable[MoodleAccount]) -> str:
    return ", ".join(f"id {a.id} ({a.username})" for a in sorted(accounts, key=lambda a: a.id))


def adopt_people(
    creations: Sequence[Operation],
    accounts: Iterable[MoodleAccount],
    linked: Mapping[int, str],
) -> tuple[Adoption, ...]:
    """Decide, for each planned person creation, whether to adopt, create or report.

    ``accounts`` are every account the lookups returned (duplicates are
    fine); ``linked`` maps the Moodle ids the index already holds to their
    source keys (:meth:`farm.index.SiteIndex.linked_accounts`), since an
    account the farm holds for someone else is never adopted. The ladder:
    idnumber, then username, then e-mail; the first rung with a match
    decides. A rung with two accounts, an account another source key holds,
    an account another planned creation also matched, or a username or
    e-mail match that carries another idnumber, is ambiguous.
    """
    unique = {account.id: account for account in accounts}
    by_idnumber: dict[str, list[MoodleAccount]] = {}
    by_username: dict[str, list[MoodleAccount]] = {}
    by_email: dict[str, list[MoodleAccount]] = {}
    for account in unique.values():
        if account.idnumber:
            by_idnumber.setdefault(account.idnumber, []).append(account)
        by_username.setdefault(account.username.lower(), []).append(account)
        if account.email:
            by_email.setdefault(account.email.casefold(), []).append(account)

    decisions: list[Adoption] = []
    for op in creations:
        if op.action is not Action.CREATE or not isinstance(op.record, Person):
            raise ValueError(f"adopt_people takes person creations, got {op.action} {op.kind}")
        decisions.append(_decide(op.record, by_idnumber, by_username, by_email, linked))

    # One account adopted by two creations would merge two people: report both.
    claimed: dict[int, list[int]] = {}
    for position, decision in enumerate(decisions):
        if decision.outcome is Outcome.ADOPT and decision.moodle_id is not None:
            claimed.setdefault(decision.moodle_id, []).append(position)
    for moodle_id, positions in claimed.items():
        if len(positions) > 1:
            keys = ", ".join(sorted(decisions[p].key for p in positions))
            for p in positions:
                decisions[p] = Adoption(
                    decisions[p].key,
                    Outcome.AMBIGUOUS,
                    reason=f"account id {moodle_id} matches several people of the source: {keys}",
                )
    return tuple(decisions)


def _decide(
    person: Person,
    by_idnumber: Mapping[str, list[MoodleAccount]],
    by_username: Mapping[str, list[MoodleAccount]],
    by_email: Mapping[str, list[MoodleAccount]],
    linked: Mapping[int, str],
) -> Adoption:
    key = person.source_key
    rungs = (
        ("idnumber", by_idnumber.get(person.idnumber, []) if person.idnumber else []),
        ("username", by_username.get(person.username.lower(), [])),
        ("email", by_email.get(person.email.casefold(), []) if person.email else []),
    )
    for rung, matches in rungs:
        if not matches:
            continue
        if len(matches) > 1:
            return Adoption(
                key,
                Outcome.AMBIGUOUS,
                reason=f"{len(matches)} accounts share the {rung}: {_describe(matches)}",
            )
        account = matches[0]
        holder = linked.get(account.id)
        if holder is not None and holder != key:
            return Adoption(
                key,
                Outcome.AMBIGUOUS,
                reason=f"the account with the same {rung}, {_describe([account])}, "
                f"already belongs to {holder}",
            )
        if rung != "idnumber" and account.idnumber and account.idnumber != person.idnumber:
            return Adoption(
                key,
                Outcome.AMBIGUOUS,
                reason=f"the account with the same {rung}, {_describe([account])}, "
                f"has another idnumber ({account.idnumber})",
            )
        wanted = person.values()
        changes = {
            name: (getattr(account, name), wanted[name])
            for name in _ACCOUNT_FIELDS
            if getattr(account, name) != wanted[name]
        }
        if wanted["profile_fields"]:
            # Lookups do not give custom fields reliably (an empty one vanishes): send them all.
            changes["profile_fields"] = (None, wanted["profile_fields"])
        return Adoption(key, Outcome.ADOPT, account.id, rung, changes=changes)
    return Adoption(key, Outcome.CREATE)


def adopt_by_idnumber(
    creations: Sequence[Operation], found: Mapping[str, int], linked: Mapping[int, str]
) -> tuple[Adoption, ...]:
    """Decide for planned cohort or group creations, given the Moodle ids found by idnumber.

    Cohort idnumbers are unique in Moodle, group idnumbers unique per course;
    ``found`` maps the idnumber (for groups ``course|idnumber``, the record
    key) to the Moodle id. An object the farm already holds under another key
    is ambiguous. The planner only plans creations of objects that carry the
    farm's prefix (or all of them with --adopt-cohorts), so an adopted object
    is one the farm owns.
    """
    decisions: list[Adoption] = []
    for op in creations:
        moodle_id = found.get(op.key)
        if moodle_id is None:
            decisions.append(Adoption(op.key, Outcome.CREATE))
            continue
        holder = linked.get(moodle_id)
        if holder is not None and holder != op.key:
            decisions.append(
                Adoption(
                    op.key,
                    Outcome.AMBIGUOUS,
                    reason=f"{op.kind} id {moodle_id} already belongs to {holder}",
                )
            )
            continue
        decisions.append(Adoption(op.key, Outcome.ADOPT, moodle_id, "idnumber"))
    return tuple(decisions)
