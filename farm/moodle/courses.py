"""Course, enrolment, role and group calls."""

from __future__ import annotations

from collections.abc import Sequence

from farm.moodle import answers
from farm.moodle.records import (
    AssignedRole,
    BatchResult,
    EnrolledUser,
    GroupMember,
    ManualEnrolment,
    MoodleCategory,
    MoodleCourse,
    MoodleGroup,
    NewCourse,
    NewGroup,
    Unenrolment,
)
from farm.moodle.session import BatchCall, OnBatch, Session

COURSE_FIELDS = ("", "id", "ids", "shortname", "idnumber", "category")


class CourseCalls(Session):
    async def get_courses_by_field(self, field: str = "", value: str = "") -> list[MoodleCourse]:
        """Courses whose ``field`` is ``value``; no field means every course."""
        if field not in COURSE_FIELDS:
            raise ValueError(f"field must be one of {', '.join(COURSE_FIELDS)}, not {field!r}")
        params = {"field": field, "value": value} if field else {}
        answer = await self.call("core_course_get_courses_by_field", params)
        return [MoodleCourse.from_answer(c) for c in answer.get("courses", [])]

    async def get_categories_by_idnumber(self, idnumber: str) -> list[MoodleCategory]:
        """The categories whose idnumber is ``idnumber`` (at most one: Moodle keeps them unique).

        ``core_course_get_categories`` adds every subcategory of what matched
        unless ``addsubcategories`` is 0; the answer is filtered again all the
        same, so that a site that ignored it cannot hand back a child.
        """
        answer = await self.call(
            "core_course_get_categories",
            {"criteria": [{"key": "idnumber", "value": idnumber}], "addsubcategories": False},
        )
        found = [MoodleCategory.from_answer(c) for c in answer or []]
        return [c for c in found if c.idnumber == idnumber]

    async def create_courses(
        self,
        courses: Sequence[NewCourse],
        *,
        adopt_existing: bool = False,
        on_batch: OnBatch[NewCourse] | None = None,
    ) -> BatchResult[NewCourse]:
        function = "core_course_create_courses"

        async def adopt(batch: Sequence[NewCourse]) -> dict[int, int]:
            found: dict[int, int] = {}
            for i, course in enumerate(batch):
                match = await self.get_courses_by_field("shortname", course.shortname)
                if match:
                    found[i] = match[0].id
            return found

        call: BatchCall[NewCourse] = BatchCall(
            function,
            "courses",
            NewCourse.params,
            answers.created(self.name, function, lambda c: c.shortname, "shortname"),
            adopt=adopt,
        )
        return await self.apply(call, courses, adopt_existing=adopt_existing, on_batch=on_batch)

    async def enrol_users(
        self,
        enrolments: Sequence[ManualEnrolment],
        *,
        on_batch: OnBatch[ManualEnrolment] | None = None,
    ) -> BatchResult[ManualEnrolment]:
        """Manual enrolments: idempotent, all-or-nothing per call, split on refusal."""
        function = "enrol_manual_enrol_users"
        call: BatchCall[ManualEnrolment] = BatchCall(
            function, "enrolments", ManualEnrolment.params, answers.null(self.name, function)
        )
        return await self.apply(call, enrolments, on_batch=on_batch)

    async def unenrol_users(
        self, unenrolments: Sequence[Unenrolment], *, on_batch: OnBatch[Unenrolment] | None = None
    ) -> BatchResult[Unenrolment]:
        """Remove manual enrolments; a non-member passes silently."""
        function = "enrol_manual_unenrol_users"
        call: BatchCall[Unenrolment] = BatchCall(
            function,
            "enrolments",
            lambda u: {"userid": u.user_id, "courseid": u.course_id},
            answers.null(self.name, function),
        )
        return await self.apply(call, unenrolments, on_batch=on_batch)

    async def assign_roles(
        self,
        assignments: Sequence[AssignedRole],
        *,
        on_batch: OnBatch[AssignedRole] | None = None,
    ) -> BatchResult[AssignedRole]:
        function = "core_role_assign_roles"
        call: BatchCall[AssignedRole] = BatchCall(
            function, "assignments", AssignedRole.params, answers.null(self.name, function)
        )
        return await self.apply(call, assignments, on_batch=on_batch)

    async def unassign_roles(
        self,
        assignments: Sequence[AssignedRole],
        *,
        on_batch: OnBatch[AssignedRole] | None = None,
    ) -> BatchResult[AssignedRole]:
        function = "core_role_unassign_roles"
        # Moodle names the list ``unassignments`` here (``assignments`` is refused).
        call: BatchCall[AssignedRole] = BatchCall(
            function, "unassignments", AssignedRole.params, answers.null(self.name, function)
        )
        return await self.apply(call, assignments, on_batch=on_batch)

    async def create_groups(
        self,
        groups: Sequence[NewGroup],
        *,
        adopt_existing: bool = False,
        on_batch: OnBatch[NewGroup] | None = None,
    ) -> BatchResult[NewGroup]:
        function = "core_group_create_groups"

        async def adopt(batch: Sequence[NewGroup]) -> dict[int, int]:
            found: dict[int, int] = {}
            for course_id in {g.course_id for g in batch}:
                existing = {g.name: g.id for g in await self.get_course_groups(course_id)}
                for i, group in enumerate(batch):
                    if group.course_id == course_id and group.name in existing:
                        found[i] = existing[group.name]
            return found

        call: BatchCall[NewGroup] = BatchCall(
            function,
            "groups",
            NewGroup.params,
            answers.created(self.name, function, lambda g: g.name, "name"),
            adopt=adopt,
        )
        return await self.apply(call, groups, adopt_existing=adopt_existing, on_batch=on_batch)

    async def get_course_groups(self, course_id: int) -> list[MoodleGroup]:
        answer = await self.call("core_group_get_course_groups", {"courseid": course_id})
        return [MoodleGroup.from_answer(g) for g in answer or []]

    async def add_group_members(
        self, members: Sequence[GroupMember], *, on_batch: OnBatch[GroupMember] | None = None
    ) -> BatchResult[GroupMember]:
        """Add group members; a user not enrolled in the course is refused."""
        return await self._group_members("core_group_add_group_members", members, on_batch)

    async def remove_group_members(
        self, members: Sequence[GroupMember], *, on_batch: OnBatch[GroupMember] | None = None
    ) -> BatchResult[GroupMember]:
        return await self._group_members("core_group_delete_group_members", members, on_batch)

    async def _group_members(
        self,
        function: str,
        members: Sequence[GroupMember],
        on_batch: OnBatch[GroupMember] | None,
    ) -> BatchResult[GroupMember]:
        call: BatchCall[GroupMember] = BatchCall(
            function,
            "members",
            lambda m: {"groupid": m.group_id, "userid": m.user_id},
            answers.null(self.name, function),
        )
        return await self.apply(call, members, on_batch=on_batch)

    async def get_enrolled_users(
        self, course_id: int, *, only_active: bool = False
    ) -> list[EnrolledUser]:
        """Enrolled users with their roles and groups; ``only_active`` hides suspended ones."""
        options = [{"name": "onlyactive", "value": "1"}] if only_active else []
        answer = await self.call(
            "core_enrol_get_enrolled_users", {"courseid": course_id, "options": options}
        )
        return [EnrolledUser.from_answer(u) for u in answer or []]
