"""Courses, manual enrolments and role assignments."""

from __future__ import annotations

from typing import Any

from farm.simulators.moodle.catalogue import function
from farm.simulators.moodle.encoding import Multiple, Single, Value
from farm.simulators.moodle.errors import WSError, invalid_parameter, moodle_error, unknown_user
from farm.simulators.moodle.state import Course, Enrolment, Site

CREATE = Single(
    {
        "courses": Multiple(
            Single(
                {
                    "fullname": Value("text"),
                    "shortname": Value("text"),
                    "categoryid": Value("int"),
                    "idnumber": Value("text", required=False),
                    "summary": Value("text", required=False),
                    "visible": Value("bool", required=False),
                }
            )
        )
    }
)


@function("core_course_create_courses", CREATE, counts="courses")
def create_courses(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    shortnames = {c.shortname for c in site.courses.values()}
    idnumbers = {c.idnumber for c in site.courses.values() if c.idnumber}
    pending = []
    for item in params["courses"]:
        if item["categoryid"] not in site.categories:
            raise WSError(
                "moodle_exception",
                "errorcatcontextnotvalid",
                f"You cannot execute functions in the category context (category id: "
                f"{item['categoryid']}). The context error message was: Invalid category",
            )
        if item["shortname"] in shortnames:
            raise moodle_error(
                "shortnametaken",
                f"Short name is already used for another course ({item['shortname']})",
            )
        idnumber = item.get("idnumber") or ""
        if idnumber and idnumber in idnumbers:
            raise moodle_error(
                "courseidnumbertaken", f"ID number is already used for another course ({idnumber})"
            )
        shortnames.add(item["shortname"])
        idnumbers.add(idnumber)
        pending.append(
            Course(0, 0, item["shortname"], item["fullname"], item["categoryid"], idnumber)
        )
    for course in pending:
        course.id = site.new_id()
        course.contextid = site.new_context(50, course.id)
        site.courses[course.id] = course
    return [{"id": c.id, "shortname": c.shortname} for c in pending]


def course_details(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "fullname": course.fullname,
        "displayname": course.fullname,
        "shortname": course.shortname,
        "categoryid": course.categoryid,
        "idnumber": course.idnumber,
        "visible": 1 if course.visible else 0,
        "format": "topics",
    }


BY_FIELD = Single(
    {
        "field": Value("text", required=False, default=""),
        "value": Value("text", required=False, default=""),
    }
)


@function("core_course_get_courses_by_field", BY_FIELD)
def get_courses_by_field(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    field, value = params["field"], params["value"]
    if field == "":
        courses = list(site.courses.values())
    elif field in ("id", "shortname", "idnumber"):
        courses = [c for c in site.courses.values() if str(getattr(c, field)) == value]
    elif field == "ids":
        wanted = {v.strip() for v in value.split(",")}
        courses = [c for c in site.courses.values() if str(c.id) in wanted]
    elif field == "category":
        courses = [c for c in site.courses.values() if str(c.categoryid) == value]
    else:
        raise invalid_parameter(f"Invalid field name: {field}")
    return {"courses": [course_details(c) for c in courses], "warnings": []}


def _course(site: Site, courseid: int) -> Course:
    course = site.courses.get(courseid)
    if course is None:
        raise invalid_parameter("Context does not exist")
    return course


def _live_user(site: Site, userid: int) -> None:
    user = site.users.get(userid)
    if user is None or user.deleted:
        raise unknown_user(userid)


ENROL = Single(
    {
        "enrolments": Multiple(
            Single(
                {
                    "roleid": Value("int"),
                    "userid": Value("int"),
                    "courseid": Value("int"),
                    "timestart": Value("int", required=False),
                    "timeend": Value("int", required=False),
                    "suspend": Value("bool", required=False),
                }
            )
        )
    }
)


@function("enrol_manual_enrol_users", ENROL, counts="enrolments")
def enrol_users(site: Site, params: dict[str, Any]) -> None:
    for item in params["enrolments"]:
        course = _course(site, item["courseid"])
        if item["roleid"] not in site.enrol_assignable:
            raise moodle_error(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this "
                f"user ({item['userid']}) in this course({course.id}).",
            )
        _live_user(site, item["userid"])
    for item in params["enrolments"]:
        course = site.courses[item["courseid"]]
        enrolment = site.enrolments.setdefault((course.id, item["userid"]), Enrolment())
        if "suspend" in item:
            enrolment.suspended = item["suspend"]
        if "timestart" in item:
            enrolment.timestart = item["timestart"]
        if "timeend" in item:
            enrolment.timeend = item["timeend"]
        site.role_assignments.add((item["roleid"], course.contextid, item["userid"]))


UNENROL = Single(
    {"enrolments": Multiple(Single({"userid": Value("int"), "courseid": Value("int")}))}
)


@function("enrol_manual_unenrol_users", UNENROL, counts="enrolments")
def unenrol_users(site: Site, params: dict[str, Any]) -> None:
    for item in params["enrolments"]:
        _course(site, item["courseid"])
    for item in params["enrolments"]:
        course = site.courses[item["courseid"]]
        site.enrolments.pop((course.id, item["userid"]), None)
        site.role_assignments = {
            a
            for a in site.role_assignments
            if not (a[1] == course.contextid and a[2] == item["userid"])
        }
        for group in site.groups.values():
            if group.courseid == course.id:
                group.members.discard(item["userid"])


_LEVELS = {"system": 10, "user": 30, "coursecat": 40, "course": 50, "module": 70, "block": 80}

ASSIGNMENT = Single(
    {
        "assignments": Multiple(
            Single(
                {
                    "roleid": Value("int"),
                    "userid": Value("int"),
                    "contextid": Value("int", required=False),
                    "contextlevel": Value("text", required=False),
                    "instanceid": Value("int", required=False),
                }
            )
        )
    }
)


def _contextid(site: Site, item: dict[str, Any]) -> int:
    if "contextid" in item:
        contextid: int = item["contextid"]
        if contextid not in site.contexts:
            raise invalid_parameter("Context does not exist")
        return contextid
    level = _LEVELS.get(item.get("contextlevel") or "")
    instance = item.get("instanceid", 0)
    for contextid, (ctx_level, ctx_instance) in site.contexts.items():
        if ctx_level == level and (level == 10 or ctx_instance == instance):
            return contextid
    raise invalid_parameter("Context does not exist")


def _checked(site: Site, items: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    checked = []
    for item in items:
        contextid = _contextid(site, item)
        role = site.roles.get(item["roleid"])
        if role is None or site.contexts[contextid][0] not in role.contextlevels:
            raise invalid_parameter(
                f"Can not assign roleid={item['roleid']} in contextid={contextid}"
            )
        _live_user(site, item["userid"])
        checked.append((item["roleid"], contextid, item["userid"]))
    return checked


@function("core_role_assign_roles", ASSIGNMENT, counts="assignments")
def assign_roles(site: Site, params: dict[str, Any]) -> None:
    site.role_assignments.update(_checked(site, params["assignments"]))


@function("core_role_unassign_roles", ASSIGNMENT, counts="assignments")
def unassign_roles(site: Site, params: dict[str, Any]) -> None:
    site.role_assignments.difference_update(_checked(site, params["assignments"]))
