"""What Moodle holds now of the records a stored plan touches, and how it drifted.

:func:`moodle_drift` reads, through the client's face and nothing else, the
accounts a plan updates, revives or suspends (``core_user_get_users_by_field``
by id), the accounts a creation could collide with (by idnumber and
username), and, for the cohorts, those it updates and every cohort when it
creates one (``core_cohort_get_cohorts``, one call). It hands them to
:mod:`farm.drift` as plain values. Links (members, enrolments, groups,
roles) are not read: Moodle adds and removes them idempotently, and their
index entries are compared with the index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from farm.drift import ACCOUNT_CHECKED, Drift, account_drift, cohort_drift, creation_drift
from farm.model import Cohort, Kind, Person
from farm.moodle import MoodleClient, MoodleCohort, MoodleUser
from farm.operation import Action, Operation
from farm.stored_plan import RecordId


@dataclass
class MoodleFindings:
    """The drift found, what Moodle holds of each drifted record, and what creations met.

    ``holds`` maps a drifted record to its Moodle values (for a re-plan);
    ``found`` a creation to the ids Moodle already has for it.
    """

    drift: list[Drift] = field(default_factory=list)
    holds: dict[RecordId, Mapping[str, Any]] = field(default_factory=dict)
    found: dict[RecordId, tuple[int, ...]] = field(default_factory=dict)


def _account(user: MoodleUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "email": user.email,
        "auth": user.auth,
        "idnumber": user.idnumber,
        "suspended": user.suspended,
        "customfields": dict(user.customfields),
    }


def _cohort(cohort: MoodleCohort) -> dict[str, Any]:
    return {"idnumber": cohort.idnumber, "name": cohort.name, "description": cohort.description}


async def moodle_drift(
    client: MoodleClient,
    operations: Sequence[Operation],
    known: Mapping[RecordId, tuple[int, ...]],
    *,
    force: bool,
) -> MoodleFindings:
    """How the records ``operations`` touch drifted in Moodle; see the module docstring."""
    findings = MoodleFindings()
    await _accounts(client, operations, findings, force=force)
    await _creations(client, operations, known, findings)
    await _cohorts(client, operations, known, findings, force=force)
    return findings


def _note(findings: MoodleFindings, op: Operation, drift: list[Drift], holds: Any) -> None:
    if drift:
        findings.drift.extend(drift)
        if holds is not None:
            findings.holds[(op.kind, op.key)] = holds


async def _accounts(
    client: MoodleClient, operations: Sequence[Operation], findings: MoodleFindings, *, force: bool
) -> None:
    checked = [
        op
        for op in operations
        if op.kind is Kind.PERSON and op.action in ACCOUNT_CHECKED and op.moodle_id is not None
    ]
    if not checked:
        return
    users = await client.get_users_by_field("id", sorted({str(op.moodle_id) for op in checked}))
    by_id = {user.id: _account(user) for user in users}
    for op in checked:
        account = by_id.get(op.moodle_id) if op.moodle_id is not None else None
        _note(findings, op, account_drift(op, account, force=force), account)


async def _creations(
    client: MoodleClient,
    operations: Sequence[Operation],
    known: Mapping[RecordId, tuple[int, ...]],
    findings: MoodleFindings,
) -> None:
    created = [
        op
        for op in operations
        if op.kind is Kind.PERSON and op.action is Action.CREATE and isinstance(op.record, Person)
    ]
    if not created:
        return
    people = [op.record for op in created if isinstance(op.record, Person)]
    idnumbers = sorted({p.idnumber for p in people if p.idnumber})
    usernames = sorted({p.username for p in people})
    by_idnumber: dict[str, list[int]] = {}
    for user in await client.get_users_by_field("idnumber", idnumbers):
        by_idnumber.setdefault(user.idnumber, []).append(user.id)
    by_username: dict[str, list[int]] = {}
    for user in await client.get_users_by_field("username", usernames):
        by_username.setdefault(user.username, []).append(user.id)
    for op in created:
        person = op.record
        assert isinstance(person, Person)
        met = [("idnumber", person.idnumber, i) for i in by_idnumber.get(person.idnumber, [])]
        met += [("username", person.username, i) for i in by_username.get(person.username, [])]
        rid = (op.kind, op.key)
        if met:
            findings.found[rid] = tuple(dict.fromkeys(i for _, _, i in met))
        findings.drift.extend(creation_drift(op, met, known.get(rid, ())))


async def _cohorts(
    client: MoodleClient,
    operations: Sequence[Operation],
    known: Mapping[RecordId, tuple[int, ...]],
    findings: MoodleFindings,
    *,
    force: bool,
) -> None:
    updated = [
        op
        for op in operations
        if op.kind is Kind.COHORT and op.action is Action.UPDATE and op.moodle_id is not None
    ]
    created = [
        op
        for op in operations
        if op.kind is Kind.COHORT and op.action is Action.CREATE and isinstance(op.record, Cohort)
    ]
    if not updated and not created:
        return
    # One call either way: no ids means every cohort of the site.
    ids = [] if created else sorted({op.moodle_id for op in updated if op.moodle_id is not None})
    cohorts = await client.get_cohorts(ids)
    by_id = {c.id: _cohort(c) for c in cohorts}
    by_idnumber: dict[str, list[int]] = {}
    for cohort in cohorts:
        by_idnumber.setdefault(cohort.idnumber, []).append(cohort.id)
    for op in updated:
        there = by_id.get(op.moodle_id) if op.moodle_id is not None else None
        _note(findings, op, cohort_drift(op, there, force=force), there)
    for op in created:
        record = op.record
        assert isinstance(record, Cohort)
        met = [("idnumber", record.idnumber, i) for i in by_idnumber.get(record.idnumber, [])]
        rid = (op.kind, op.key)
        if met:
            findings.found[rid] = tuple(i for _, _, i in met)
        findings.drift.extend(creation_drift(op, met, known.get(rid, ())))
