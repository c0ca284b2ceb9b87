"""Applying cohorts, groups and the links of people: members, enrolments, roles.

Links name their ends by source key; the Moodle ids come from the index
(accounts, cohorts and groups the farm created or adopted, this run
included) and courses are found by idnumber or shortname, categories by id
or idnumber. A link whose end Moodle does not have is reported on its own
record; the others go on. A link (or group) whose course or category is not
on the site is skipped, not refused: the report counts it per course, as a
warning, and the next run plans it again, so that enrolments declared for
courses a site has not made yet wait for them. Taking enrolments away is
:mod:`farm.moodle.unenrolments`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from farm.adoption import Outcome, adopt_by_idnumber
from farm.applied import Applied
from farm.model import CATEGORY_BY_IDNUMBER, Cohort, Group, Kind
from farm.moodle import answers
from farm.moodle.records import (
    AssignedRole,
    BatchResult,
    CohortMember,
    GroupMember,
    ManualEnrolment,
    NewCohort,
    NewGroup,
)
from farm.moodle.session import BatchCall
from farm.moodle.site_writer import Handler, SiteWriter, linked
from farm.operation import Action, Operation

T = TypeVar("T")


def _confirmer(
    writer: SiteWriter, sent: Mapping[int, Operation]
) -> Callable[[BatchResult[Any]], Awaitable[None]]:
    """An ``on_batch`` that refuses what Moodle refused and records what it confirmed."""

    async def on_batch(result: BatchResult[Any]) -> None:
        for failed in result.failed:
            writer.refuse(sent[id(failed.item)], failed.reason)
        await writer.confirm(
            [Applied(sent[id(c.item)], c.id, adopted=c.adopted) for c in result.confirmed]
        )

    return on_batch


def _category(cohort: Cohort) -> int | None:
    return int(cohort.context) if cohort.context.isdigit() else None


# -- cohorts ----------------------------------------------------------------------


async def create_cohorts(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    client = writer.client
    existing = {c.idnumber: c for c in await client.get_cohorts() if c.idnumber}
    decisions = adopt_by_idnumber(
        ops,
        {idnumber: c.id for idnumber, c in existing.items()},
        linked(writer, Kind.COHORT),
    )
    sent: dict[int, Operation] = {}
    new: list[NewCohort] = []
    adopted: list[Applied] = []
    updates: list[tuple[Operation, int]] = []
    for op, decision in zip(ops, decisions, strict=True):
        cohort = op.record
        assert isinstance(cohort, Cohort)
        if decision.outcome is Outcome.AMBIGUOUS:
            writer.refuse(op, f"not created, ambiguous: {decision.reason}")
        elif decision.outcome is Outcome.ADOPT:
            assert decision.moodle_id is not None
            found = existing[cohort.idnumber]
            if (found.name, found.description) == (cohort.name, cohort.description):
                adopted.append(Applied(op, found.id, adopted=True, found={"name": found.name}))
            else:
                updates.append((op, found.id))
        else:
            item = NewCohort(cohort.idnumber, cohort.name, cohort.description, _category(cohort))
            new.append(item)
            sent[id(item)] = op
    await writer.confirm(adopted)
    if updates:
        await _update_cohorts(writer, updates, adopting=True)
    if new:
        await client.create_cohorts(new, on_batch=_confirmer(writer, sent))


async def update_cohorts(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    pairs: list[tuple[Operation, int]] = []
    for op in ops:
        if op.moodle_id is None:
            writer.refuse(op, "the index holds no Moodle id for this cohort")
        else:
            pairs.append((op, op.moodle_id))
    await _update_cohorts(writer, pairs, adopting=False)


async def _update_cohorts(
    writer: SiteWriter, pairs: Sequence[tuple[Operation, int]], *, adopting: bool
) -> None:
    """``core_cohort_update_cohorts`` (the client has no typed call for it)."""
    function = "core_cohort_update_cohorts"
    items: list[tuple[Cohort, int]] = []
    sent: dict[int, tuple[Operation, int]] = {}
    for op, moodle_id in pairs:
        assert isinstance(op.record, Cohort)
        item = (op.record, moodle_id)
        items.append(item)
        sent[id(item)] = (op, moodle_id)

    def params(item: tuple[Cohort, int]) -> dict[str, Any]:
        cohort, moodle_id = item
        # visible goes with every update: an archived cohort read again is shown again.
        base = NewCohort(
            cohort.idnumber, cohort.name, cohort.description, _category(cohort), cohort.visible
        )
        return {"id": moodle_id, **base.params()}

    async def on_batch(result: BatchResult[tuple[Cohort, int]]) -> None:
        for failed in result.failed:
            writer.refuse(sent[id(failed.item)][0], failed.reason)
        await writer.confirm(
            [
                Applied(op, moodle_id, adopted=adopting)
                for op, moodle_id in (sent[id(c.item)] for c in result.confirmed)
            ]
        )

    call: BatchCall[tuple[Cohort, int]] = BatchCall(
        function, "cohorts", params, answers.null(writer.client.name, function)
    )
    await writer.client.apply(call, items, on_batch=on_batch)


async def delete_cohorts(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    """Deletions; a cohort already gone counts as deleted."""
    by_id = {op.moodle_id: op for op in ops if op.moodle_id is not None}
    for op in ops:
        if op.moodle_id is None:
            writer.refuse(op, "the index holds no Moodle id for this cohort")
    client = writer.client

    async def deleted(result: BatchResult[int]) -> None:
        gone: set[int] = set()
        if result.failed:
            alive = {c.id for c in await client.get_cohorts([f.item for f in result.failed])}
            gone = {f.item for f in result.failed} - alive
        for failed in result.failed:
            if failed.item not in gone:
                writer.refuse(by_id[failed.item], failed.reason)
        confirmed = [c.item for c in result.confirmed] + sorted(gone)
        await writer.confirm([Applied(by_id[i]) for i in confirmed])

    if by_id:
        await client.delete_cohorts(list(by_id), on_batch=deleted)


async def cohort_members(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    sent: dict[int, Operation] = {}
    items: list[CohortMember] = []
    for op in ops:
        values = writer.values(op)
        cohort = writer.moodle_id(Kind.COHORT, str(values.get("cohort")))
        user = writer.moodle_id(Kind.PERSON, str(values.get("person")))
        if cohort is None or user is None:
            writer.refuse(op, _missing(cohort, user, "cohort"))
            continue
        item = CohortMember(cohort, user)
        items.append(item)
        sent[id(item)] = op
    if not items:
        return
    on_batch = _confirmer(writer, sent)
    if ops[0].action is Action.REMOVE:
        await writer.client.remove_cohort_members(items, on_batch=on_batch)
    else:
        await writer.client.add_cohort_members(items, on_batch=on_batch)


def _missing(target: int | None, user: int | None, what: str) -> str:
    if user is None:
        return "the person has no account on the site yet"
    return f"the {what} is not on the site (not in the index)"


# -- enrolments and roles -----------------------------------------------------------


def _role(writer: SiteWriter, name: str) -> int | None:
    return writer.rules.role_id(name)


async def enrolments(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    """Manual enrolments; taking them away is :mod:`farm.moodle.unenrolments`."""
    sent: dict[int, Operation] = {}
    items: list[ManualEnrolment] = []
    for op in ops:
        values = writer.values(op)
        course = await writer.course_id(str(values.get("course")))
        user = writer.moodle_id(Kind.PERSON, str(values.get("person")))
        role = _role(writer, str(values.get("role")))
        if course is None:
            writer.skip(op, f"course {values.get('course')}")
        elif user is None:
            writer.refuse(op, "the person has no account on the site yet")
        elif role is None:
            writer.refuse(op, f"unknown role {values.get('role')!r}")
        else:
            item = ManualEnrolment(course, user, role)
            items.append(item)
            sent[id(item)] = op
    if items:
        await writer.client.enrol_users(items, on_batch=_confirmer(writer, sent))


async def role_assignments(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    sent: dict[int, Operation] = {}
    items: list[AssignedRole] = []
    for op in ops:
        values = writer.values(op)
        user = writer.moodle_id(Kind.PERSON, str(values.get("person")))
        role = _role(writer, str(values.get("role")))
        level = str(values.get("context_level") or "system")
        context = str(values.get("context") or "")
        instance: int | None = 0
        if level == "course":
            instance = await writer.course_id(context)
        elif level == "coursecat":
            instance = await writer.category_id(context)
        elif level == "user":
            # A parent's role in the child's user context: the child's account.
            instance = writer.moodle_id(Kind.PERSON, context)
        if user is None:
            writer.refuse(op, "the person has no account on the site yet")
        elif role is None:
            writer.refuse(op, f"unknown role {values.get('role')!r}")
        elif instance is None and level == "user":
            writer.refuse(op, f"{context} has no account on the site yet")
        elif instance is None and level in ("course", "coursecat"):
            what = "course" if level == "course" else "category"
            writer.skip(op, f"{what} {context.removeprefix(CATEGORY_BY_IDNUMBER)}")
        elif instance is None:
            writer.refuse(op, f"no {level} {context!r} on the site")
        else:
            item = AssignedRole(role, user, context_level=level, instance_id=instance)
            items.append(item)
            sent[id(item)] = op
    if not items:
        return
    if ops[0].action is Action.UNASSIGN:
        await writer.client.unassign_roles(items, on_batch=_confirmer(writer, sent))
    else:
        await writer.client.assign_roles(items, on_batch=_confirmer(writer, sent))


# -- groups ---------------------------------------------------------------------------


async def create_groups(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    client = writer.client
    found: dict[str, int] = {}
    courses: dict[str, int] = {}
    for course in sorted({op.record.course for op in ops if isinstance(op.record, Group)}):
        course_id = await writer.course_id(course)
        if course_id is None:
            continue
        courses[course] = course_id
        for group in await client.get_course_groups(course_id):
            if group.idnumber:
                found[f"{course}|{group.idnumber}"] = group.id
    decisions = adopt_by_idnumber(ops, found, linked(writer, Kind.GROUP))
    sent: dict[int, Operation] = {}
    new: list[NewGroup] = []
    adopted: list[Applied] = []
    for op, decision in zip(ops, decisions, strict=True):
        wanted = op.record
        assert isinstance(wanted, Group)
        if wanted.course not in courses:
            writer.skip(op, f"course {wanted.course}")
        elif decision.outcome is Outcome.AMBIGUOUS:
            writer.refuse(op, f"not created, ambiguous: {decision.reason}")
        elif decision.outcome is Outcome.ADOPT:
            adopted.append(Applied(op, decision.moodle_id, adopted=True))
        else:
            item = NewGroup(
                courses[wanted.course], wanted.name, wanted.idnumber, wanted.description
            )
            new.append(item)
            sent[id(item)] = op
    await writer.confirm(adopted)
    if new:
        await client.create_groups(new, on_batch=_confirmer(writer, sent))


async def update_groups(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    for op in ops:
        writer.refuse(
            op,
            "the farm's web service has no function to rename a group "
            "(core_group_update_groups): change it in Moodle",
        )


async def group_members(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    sent: dict[int, Operation] = {}
    items: list[GroupMember] = []
    for op in ops:
        values = writer.values(op)
        course = str(values.get("course"))
        group = writer.moodle_id(Kind.GROUP, f"{course}|{values.get('group')}")
        user = writer.moodle_id(Kind.PERSON, str(values.get("person")))
        if group is None and writer.course_missing(course):
            writer.skip(op, f"course {course}")
            continue
        if group is None or user is None:
            writer.refuse(op, _missing(group, user, "group"))
            continue
        item = GroupMember(group, user)
        items.append(item)
        sent[id(item)] = op
    if not items:
        return
    if ops[0].action is Action.REMOVE:
        await writer.client.remove_group_members(items, on_batch=_confirmer(writer, sent))
    else:
        await writer.client.add_group_members(items, on_batch=_confirmer(writer, sent))


LINK_HANDLERS: Mapping[tuple[Kind, Action], Handler] = {
    (Kind.COHORT, Action.CREATE): create_cohorts,
    (Kind.COHORT, Action.UPDATE): update_cohorts,
    (Kind.COHORT, Action.DELETE): delete_cohorts,
    (Kind.COHORT_MEMBER, Action.ADD): cohort_members,
    (Kind.COHORT_MEMBER, Action.REMOVE): cohort_members,
    (Kind.ENROLMENT, Action.ENROL): enrolments,
    (Kind.GROUP, Action.CREATE): create_groups,
    (Kind.GROUP, Action.UPDATE): update_groups,
    (Kind.GROUP_MEMBER, Action.ADD): group_members,
    (Kind.GROUP_MEMBER, Action.REMOVE): group_members,
    (Kind.ROLE_ASSIGNMENT, Action.ASSIGN): role_assignments,
    (Kind.ROLE_ASSIGNMENT, Action.UNASSIGN): role_assignments,
}
