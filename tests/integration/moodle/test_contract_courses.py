"""Contract: MOODLE-WS.md, section "Courses, enrolments, roles, groups"."""

from __future__ import annotations

from typing import Any

from farm.moodle import (
    DEFAULT_ROLE_IDS,
    AssignedRole,
    GroupMember,
    ManualEnrolment,
    NewCourse,
    NewGroup,
    RecordError,
)
from farm.simulators.moodle import Role
from tests.fixtures.moodle import MoodleTarget

STUDENT, TEACHER, MANAGER = (DEFAULT_ROLE_IDS[r] for r in ("student", "editingteacher", "manager"))


async def course(moodle: MoodleTarget, key: str) -> int:
    async with moodle.client() as client:
        result = await client.create_courses(
            [NewCourse(f"{moodle.prefix}-{key}", f"Course {key}", 1)]
        )
    assert result.confirmed[0].id is not None
    return result.confirmed[0].id


async def users(moodle: MoodleTarget, *names: str) -> list[int]:
    async with moodle.client() as client:
        result = await client.create_users([moodle.new_user(n) for n in names])
    return [c.id for c in result.confirmed if c.id is not None]


def course_params(moodle: MoodleTarget, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "fullname": f"Course {key}",
        "shortname": f"{moodle.prefix}-{key}",
        "categoryid": 1,
        **extra,
    }


async def test_create_courses_errors_for_taken_shortname_idnumber_and_unknown_category(
    moodle: MoodleTarget,
) -> None:
    """ "core_course_create_courses: duplicate shortname -> shortnametaken, duplicate idnumber
    -> courseidnumbertaken, unknown category -> errorcatcontextnotvalid." """
    idnumber = f"{moodle.prefix}-idn"
    await moodle.call(
        "core_course_create_courses", {"courses": [course_params(moodle, "c1", idnumber=idnumber)]}
    )
    answer = await moodle.call(
        "core_course_create_courses", {"courses": [course_params(moodle, "c1")]}
    )
    assert answer["errorcode"] == "shortnametaken"
    answer = await moodle.call(
        "core_course_create_courses", {"courses": [course_params(moodle, "c2", idnumber=idnumber)]}
    )
    assert answer["errorcode"] == "courseidnumbertaken"
    answer = await moodle.call(
        "core_course_create_courses",
        {"courses": [course_params(moodle, "c3", categoryid=99999999)]},
    )
    assert answer["errorcode"] == "errorcatcontextnotvalid"


async def test_get_courses_by_field_with_no_match_answers_empty_lists(moodle: MoodleTarget) -> None:
    """ "core_course_get_courses_by_field with no match answers {courses: [], warnings: []}." """
    answer = await moodle.call(
        "core_course_get_courses_by_field", {"field": "shortname", "value": f"{moodle.prefix}-none"}
    )
    assert answer == {"courses": [], "warnings": []}


async def test_enrol_is_all_or_nothing_idempotent_sets_dates_and_adds_a_second_role(
    moodle: MoodleTarget,
) -> None:
    """ "enrol_manual_enrol_users is all-or-nothing, idempotent (enrolling again succeeds
    silently), and also sets or clears suspend, timestart, timeend; a second role adds the
    role." """
    course_id = await course(moodle, "enrol")
    first, second = await users(moodle, "e1", "e2")

    def enrol(user_id: int, role: int = STUDENT, **extra: Any) -> dict[str, Any]:
        return {"roleid": role, "userid": user_id, "courseid": course_id, **extra}

    answer = await moodle.call(
        "enrol_manual_enrol_users", {"enrolments": [enrol(first), enrol(99999999)]}
    )
    assert "errorcode" in answer
    assert await moodle.call("core_enrol_get_enrolled_users", {"courseid": course_id}) == []
    assert await moodle.call("enrol_manual_enrol_users", {"enrolments": [enrol(first)]}) is None
    assert await moodle.call("enrol_manual_enrol_users", {"enrolments": [enrol(first)]}) is None
    await moodle.call("enrol_manual_enrol_users", {"enrolments": [enrol(first, TEACHER)]})
    await moodle.call(
        "enrol_manual_enrol_users", {"enrolments": [enrol(second, suspend=1, timeend=4102444800)]}
    )
    async with moodle.client() as client:
        enrolled = {e.user.id: e for e in await client.get_enrolled_users(course_id)}
        assert enrolled[first].role_ids == {STUDENT, TEACHER}
        active = {e.user.id for e in await client.get_enrolled_users(course_id, only_active=True)}
        assert active == {first}
        await client.enrol_users(
            [ManualEnrolment(course_id, second, STUDENT, suspend=False, timeend=0)]
        )
        active = {e.user.id for e in await client.get_enrolled_users(course_id, only_active=True)}
        assert active == {first, second}
        # Enrolling again without the keys clears them: active, no dates.
        await client.enrol_users([ManualEnrolment(course_id, second, STUDENT, suspend=True)])
        await moodle.call("enrol_manual_enrol_users", {"enrolments": [enrol(second)]})
        active = {e.user.id for e in await client.get_enrolled_users(course_id, only_active=True)}
    assert active == {first, second}
    if moodle.site is not None:
        enrolment = moodle.site.enrolments[(course_id, second)]
        assert (enrolment.suspended, enrolment.timestart, enrolment.timeend) == (False, 0, 0)


async def test_enrol_errors_unknown_user_unknown_course_and_a_role_the_token_cannot_give(
    moodle: MoodleTarget,
) -> None:
    """ "Unknown user -> invaliduser with debug on, invalidrecordunknown with debug off; unknown
    course -> invalidparameter ("Context does not exist"); a role the token cannot give ->
    wsusercannotassign (an admin token can give every role, manager included)." """
    course_id = await course(moodle, "enrerr")
    (user_id,) = await users(moodle, "ee")
    unknown_user = {"roleid": STUDENT, "userid": 99999999, "courseid": course_id}
    if not await moodle.debugging():
        answer = await moodle.call("enrol_manual_enrol_users", {"enrolments": [unknown_user]})
        assert answer["errorcode"] == "invalidrecordunknown"
    if moodle.site is not None:
        moodle.site.debug = True
        answer = await moodle.call("enrol_manual_enrol_users", {"enrolments": [unknown_user]})
        assert answer["errorcode"] == "invaliduser"
    answer = await moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": STUDENT, "userid": user_id, "courseid": 99999999}]},
    )
    assert answer["errorcode"] == "invalidparameter"
    if "debuginfo" in answer:
        assert "Context does not exist" in answer["debuginfo"]
    info = await moodle.call("core_webservice_get_site_info")
    if info.get("userissiteadmin"):
        manager = {"roleid": MANAGER, "userid": user_id, "courseid": course_id}
        assert await moodle.call("enrol_manual_enrol_users", {"enrolments": [manager]}) is None


async def test_a_role_the_token_cannot_give_is_wsusercannotassign(moodle: MoodleTarget) -> None:
    """ "a role the token cannot give -> wsusercannotassign (an admin token can give every
    role, manager included)": a token that is not an admin's, simulated."""
    site = moodle.sim
    course_id = await course(moodle, "cannot")
    (user_id,) = await users(moodle, "cannot")
    site.enrol_assignable = {TEACHER, STUDENT, DEFAULT_ROLE_IDS["teacher"]}
    assert (await moodle.call("core_webservice_get_site_info"))["userissiteadmin"] is False
    answer = await moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": MANAGER, "userid": user_id, "courseid": course_id}]},
    )
    assert answer["errorcode"] == "wsusercannotassign"
    assert answer["exception"] == "core\\exception\\moodle_exception"
    async with moodle.client() as client:
        result = await client.enrol_users(
            [
                ManualEnrolment(course_id, user_id, STUDENT),
                ManualEnrolment(course_id, user_id, MANAGER),
            ]
        )
    assert [c.item.role_id for c in result.confirmed] == [STUDENT]
    assert result.failed[0].error.errorcode == "wsusercannotassign"


async def test_unenrol_rejects_the_old_roleid_key_and_is_silent_for_non_members(
    moodle: MoodleTarget,
) -> None:
    """ "enrol_manual_unenrol_users rejects the old roleid key in 5.0 ("Unexpected keys
    (roleid)"); unenrolling a non-member succeeds silently." """
    course_id = await course(moodle, "unenrol")
    (user_id,) = await users(moodle, "ue")
    if moodle.site is not None:
        moodle.site.debug = True
    answer = await moodle.call(
        "enrol_manual_unenrol_users",
        {"enrolments": [{"userid": user_id, "courseid": course_id, "roleid": STUDENT}]},
    )
    assert answer["errorcode"] == "invalidparameter"
    if moodle.site is not None:
        assert "Unexpected keys (roleid)" in answer["debuginfo"]
    answer = await moodle.call(
        "enrol_manual_unenrol_users", {"enrolments": [{"userid": user_id, "courseid": course_id}]}
    )
    assert answer is None


async def test_role_assign_by_contextid_or_level_idempotent_no_student_at_system(
    moodle: MoodleTarget,
) -> None:
    """ "core_role_assign_roles takes assignments[i][roleid|userid|contextid] (or contextlevel +
    instanceid), is idempotent; a student role cannot be given at system context." """
    course_id = await course(moodle, "roles")
    (user_id,) = await users(moodle, "ra")
    assignment = {
        "roleid": TEACHER,
        "userid": user_id,
        "contextlevel": "course",
        "instanceid": course_id,
    }
    assert await moodle.call("core_role_assign_roles", {"assignments": [assignment]}) is None
    assert await moodle.call("core_role_assign_roles", {"assignments": [assignment]}) is None
    system = {"roleid": STUDENT, "userid": user_id, "contextid": 1}
    answer = await moodle.call("core_role_assign_roles", {"assignments": [system]})
    assert answer["errorcode"] == "invalidparameter"
    by_id = {"roleid": MANAGER, "userid": user_id, "contextid": 1}
    assert await moodle.call("core_role_assign_roles", {"assignments": [by_id]}) is None
    async with moodle.client() as client:
        result = await client.assign_roles(
            [
                AssignedRole(MANAGER, user_id, context_level="system"),
                AssignedRole(STUDENT, user_id, context_id=1),
            ]
        )
        assert [f.item.role_id for f in result.failed] == [STUDENT]
        enrolled = await client.get_enrolled_users(course_id)
    # A role alone is no enrolment.
    assert enrolled == []
    if moodle.site is not None:
        assert moodle.site.user_roles_in(1, user_id) == {MANAGER}


async def test_unassign_roles_takes_unassignments_and_is_silent_for_a_role_not_held(
    moodle: MoodleTarget,
) -> None:
    """ "(checked again) core_role_unassign_roles takes unassignments[i][…], not
    assignments[i][…]; with the wrong key every call is invalidparameter. Unassigning a role
    the user lacks is silent." """
    (user_id,) = await users(moodle, "ua")
    held = {"roleid": MANAGER, "userid": user_id, "contextlevel": "system", "instanceid": 0}
    assert await moodle.call("core_role_assign_roles", {"assignments": [held]}) is None
    answer = await moodle.call("core_role_unassign_roles", {"assignments": [held]})
    assert answer["errorcode"] == "invalidparameter"
    lacking = {**held, "roleid": DEFAULT_ROLE_IDS["coursecreator"]}
    assert await moodle.call("core_role_unassign_roles", {"unassignments": [lacking]}) is None
    if moodle.site is not None:
        assert moodle.site.user_roles_in(1, user_id) == {MANAGER}
    assert await moodle.call("core_role_unassign_roles", {"unassignments": [held]}) is None
    if moodle.site is not None:
        assert moodle.site.user_roles_in(1, user_id) == set()
    async with moodle.client() as client:
        await client.assign_roles([AssignedRole(MANAGER, user_id, context_level="system")])
        result = await client.unassign_roles(
            [
                AssignedRole(MANAGER, user_id, context_level="system"),
                AssignedRole(MANAGER, user_id, context_level="system"),
            ]
        )
    assert len(result.confirmed) == 2
    if moodle.site is not None:
        assert moodle.site.user_roles_in(1, user_id) == set()


async def test_a_stock_site_has_no_parent_role_it_must_be_created_first(
    moodle: MoodleTarget,
) -> None:
    """ "(checked again) A stock site has no role with shortname parent: roles are manager,
    coursecreator, editingteacher, teacher, student, guest, user, frontpage. A parent role must
    be created on the site first, and its id looked up (core_role_* web services do not list
    roles; the role id is site data the operator gives, or a pre-flight check finds by a
    probe)." """
    parent, child = await users(moodle, "parent", "child")
    in_child = {"userid": parent, "contextlevel": "user", "instanceid": child}
    # No stock role can be given in a user's context; an unknown role id is refused alike.
    for roleid in (*DEFAULT_ROLE_IDS.values(), 99999):
        answer = await moodle.call(
            "core_role_assign_roles", {"assignments": [{**in_child, "roleid": roleid}]}
        )
        assert answer["errorcode"] == "invalidparameter", roleid


async def test_a_parent_role_created_on_the_site_is_given_in_the_child_context(
    moodle: MoodleTarget,
) -> None:
    """ "A parent role must be created on the site first, and its id looked up": the stock
    roles of the simulator, then a parent role a test creates."""
    site = moodle.sim
    parent, child = await users(moodle, "parent", "child")
    in_child = {"userid": parent, "contextlevel": "user", "instanceid": child}
    assert [r.shortname for r in site.roles.values()] == [
        "manager",
        "coursecreator",
        "editingteacher",
        "teacher",
        "student",
        "guest",
        "user",
        "frontpage",
    ]
    assert list(site.roles) == list(range(1, 9))
    # The site creates a parent role (assignable in user context); its id is site data.
    site.roles[9] = Role(9, "parent", "Parent", frozenset({30}))
    assert (
        await moodle.call("core_role_assign_roles", {"assignments": [{**in_child, "roleid": 9}]})
        is None
    )
    child_context = site.user_context(child)
    assert child_context is not None
    assert site.user_roles_in(child_context, parent) == {9}


async def test_groups_need_a_description_key_and_refuse_duplicate_names_and_idnumbers(
    moodle: MoodleTarget,
) -> None:
    """ "core_group_create_groups needs a description key (may be empty); a duplicate name in
    the course is invalidparameter, a duplicate idnumber idnumbertaken." """
    course_id = await course(moodle, "groups")
    group = {"courseid": course_id, "name": "Groupe A", "idnumber": f"{moodle.prefix}-ga"}
    answer = await moodle.call("core_group_create_groups", {"groups": [group]})
    assert answer["errorcode"] == "invalidparameter"
    created = await moodle.call(
        "core_group_create_groups", {"groups": [{**group, "description": ""}]}
    )
    assert created[0]["name"] == "Groupe A"
    answer = await moodle.call(
        "core_group_create_groups", {"groups": [{**group, "description": "", "idnumber": "other"}]}
    )
    assert answer["errorcode"] == "invalidparameter"
    answer = await moodle.call(
        "core_group_create_groups", {"groups": [{**group, "description": "", "name": "Groupe B"}]}
    )
    assert answer["errorcode"] == "idnumbertaken"


async def test_group_members_must_be_enrolled_adding_twice_or_removing_non_members_is_silent(
    moodle: MoodleTarget,
) -> None:
    """ "Adding a user not enrolled in the course to a group is rejected; adding twice or
    removing a non-member is silent." """
    course_id = await course(moodle, "gm")
    enrolled, outsider = await users(moodle, "gm1", "gm2")
    async with moodle.client() as client:
        await client.enrol_users([ManualEnrolment(course_id, enrolled, STUDENT)])
        groups = await client.create_groups(
            [NewGroup(course_id, "G1", idnumber=f"{moodle.prefix}-g1")]
        )
        group_id = groups.confirmed[0].id
        assert group_id is not None
        result = await client.add_group_members(
            [GroupMember(group_id, enrolled), GroupMember(group_id, outsider)]
        )
        assert [c.item.user_id for c in result.confirmed] == [enrolled]
        assert [f.item.user_id for f in result.failed] == [outsider]
        again = await client.add_group_members([GroupMember(group_id, enrolled)])
        assert len(again.confirmed) == 1
        removed = await client.remove_group_members([GroupMember(group_id, outsider)])
        assert len(removed.confirmed) == 1
        assert [g.name for g in await client.get_course_groups(course_id)] == ["G1"]


async def test_enrolled_users_carry_customfields_groups_and_roles(moodle: MoodleTarget) -> None:
    """ "core_enrol_get_enrolled_users returns customfields, groups and roles per user;
    options[0][name]=onlyactive hides suspended enrolments." """
    course_id = await course(moodle, "eu")
    fields = {moodle.profile_fields[0]: "0750001A"} if moodle.profile_fields else {}
    async with moodle.client() as client:
        created = await client.create_users([moodle.new_user("eu", customfields=fields)])
        user_id = created.confirmed[0].id
        assert user_id is not None
        await client.enrol_users([ManualEnrolment(course_id, user_id, STUDENT)])
        group = await client.create_groups([NewGroup(course_id, "Groupe")])
        group_id = group.confirmed[0].id
        assert group_id is not None
        await client.add_group_members([GroupMember(group_id, user_id)])
        (entry,) = await client.get_enrolled_users(course_id)
        assert entry.role_ids == {STUDENT}
        assert entry.group_ids == {group_id}
        assert dict(entry.user.customfields) == fields
        await client.enrol_users([ManualEnrolment(course_id, user_id, STUDENT, suspend=True)])
        assert await client.get_enrolled_users(course_id, only_active=True) == []


async def test_group_calls_on_an_unknown_course_fail_its_context(moodle: MoodleTarget) -> None:
    """Not a line of MOODLE-WS.md: group functions check the course's context first, so an
    unknown course id is errorcoursecontextnotvalid (a record error to the client)."""
    answer = await moodle.call("core_group_get_course_groups", {"courseid": 99999999})
    assert answer["errorcode"] == "errorcoursecontextnotvalid"
    answer = await moodle.call(
        "core_group_create_groups",
        {"groups": [{"courseid": 99999999, "name": "G", "description": ""}]},
    )
    assert answer["errorcode"] == "errorcoursecontextnotvalid"
    async with moodle.client() as client:
        result = await client.create_groups([NewGroup(99999999, "G")])
    assert isinstance(result.failed[0].error, RecordError)
