"""Taking enrolments away: the whole enrolment, or only its role while another one stays.

The index keeps one enrolment per course, person and role
(:class:`farm.model.Enrolment`), and Moodle one enrolment per course and
person holding every role given with it (``enrol_manual_enrol_users`` with
a second role adds the role). ``enrol_manual_unenrol_users`` takes the
person out of the course with all their roles, so a person whose role in a
course changes (a course rule's ``roles`` edited, say) would lose the course
altogether, the new role's enrolment made a step earlier included, and no
later run would put it back (the index holds it). So an enrolment whose
course and person keep another role in the index is taken away with
``core_role_unassign_roles`` in the course's context; the person stays
enrolled. A course that is gone takes its enrolments with it: those count as
done.

All the enrolments of one course and person are in one slice
(:func:`unenrol_slices`): a slice decides from the index what stays, and two
slices must not both think the other role stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from farm.applied import Applied
from farm.model import Kind
from farm.moodle.records import AssignedRole, BatchResult, Unenrolment
from farm.moodle.site_writer import Handler, SiteWriter, Slicer
from farm.operation import Action, Operation


def _pair(op: Operation) -> tuple[str, str]:
    values = op.previous.values if op.previous is not None else {}
    return str(values.get("course")), str(values.get("person"))


def unenrol_slices(
    ops: Sequence[Operation], size: int
) -> tuple[list[list[Operation]], list[Operation]]:
    """Slices of about ``size`` operations that never part one course and person."""
    slices: list[list[Operation]] = []
    current: list[Operation] = []
    for op in sorted(ops, key=_pair):
        if len(current) >= size and _pair(current[-1]) != _pair(op):
            slices.append(current)
            current = []
        current.append(op)
    if current:
        slices.append(current)
    return slices, []


def _roles_held(writer: SiteWriter, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """The roles the index holds for each (course, person) of ``pairs``."""
    held: dict[tuple[str, str], set[str]] = {pair: set() for pair in pairs}
    # The person's links are the index's dependents of the person: no scan of every enrolment.
    index = writer.index
    for person in {person for _, person in pairs}:
        for kind, key in index.dependents(Kind.PERSON, person):
            entry = index.get(kind, key) if kind is Kind.ENROLMENT else None
            if entry is None:
                continue
            pair = (str(entry.values.get("course")), person)
            if pair in held:
                held[pair].add(str(entry.values.get("role")))
    return held


async def unenrol(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    """Unenrolments, or role unassignments where another role of the course stays."""
    leaving: dict[tuple[str, str], set[str]] = {}
    for op in ops:
        values = op.previous.values if op.previous is not None else {}
        leaving.setdefault(_pair(op), set()).add(str(values.get("role")))
    held = _roles_held(writer, set(leaving))
    gone: list[Applied] = []
    sent: dict[int, Operation] = {}
    whole: list[Unenrolment] = []
    roles: list[AssignedRole] = []
    for op in ops:
        pair = _pair(op)
        role_name = str((op.previous.values if op.previous is not None else {}).get("role"))
        course = await writer.course_id(pair[0])
        user = writer.moodle_id(Kind.PERSON, pair[1])
        stays = held.get(pair, set()) - leaving[pair]
        role = writer.rules.role_id(role_name)
        if course is None:
            gone.append(Applied(op))
        elif user is None:
            writer.refuse(op, "the person has no account on the site yet")
        elif not stays:
            item = Unenrolment(course, user)
            whole.append(item)
            sent[id(item)] = op
        elif role is None:
            writer.refuse(op, f"unknown role {role_name!r}: the other roles stay enrolled")
        else:
            assigned = AssignedRole(role, user, context_level="course", instance_id=course)
            roles.append(assigned)
            sent[id(assigned)] = op
    await writer.confirm(gone)

    async def on_batch(result: BatchResult[Any]) -> None:
        for failed in result.failed:
            writer.refuse(sent[id(failed.item)], failed.reason)
        await writer.confirm([Applied(sent[id(c.item)]) for c in result.confirmed])

    if whole:
        await writer.client.unenrol_users(whole, on_batch=on_batch)
    if roles:
        await writer.client.unassign_roles(roles, on_batch=on_batch)


UNENROL_HANDLERS: Mapping[tuple[Kind, Action], Handler] = {
    (Kind.ENROLMENT, Action.UNENROL): unenrol,
}
UNENROL_SLICERS: Mapping[tuple[Kind, Action], Slicer] = {
    (Kind.ENROLMENT, Action.UNENROL): unenrol_slices,
}
