"""Courses, manual enrolments and role assignments."""

from __future__ import annotations

from typing import Any

from farm.simulators.moodle.catalogue import ANSWER, function
from farm.simulators.moodle.encoding import Multiple, Single, Value
from farm.simulators.moodle.errors import (
    invalid_parameter,
    missing_record,
    moodle_error,
    unknown_user,
)
from farm.simulators.moodle.state import USER_LEVEL, CategoryRow, CourseRow, EnrolmentRow, Site

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
            raise moodle_error(
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
            CourseRow(0, 0, item["shortname"], item["fullname"], item["categoryid"], idnumber)
        )
    for course in pending:
        course.id = site.new_id()
        course.contextid = site.new_context(50, course.id)
        site.courses[course.id] = course
    return [{"id": c.id, "shortname": c.shortname} for c in pending]


def course_details(course: CourseRow) -> dict[str, Any]:
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


CATEGORIES = Single(
    {
        "criteria": Multiple(
            Single({"key": Value("text"), "value": Value("text")}), required=False
        ),
        "addsubcategories": Value("bool", required=False, default=True),
    }
)
_CATEGORY_KEYS = ("id", "ids", "name", "idnumber", "parent", "visible", "theme")


def _category_details(site: Site, row: CategoryRow) -> dict[str, Any]:
    path, depth, at = "", 0, row
    while True:
        path, depth = f"/{at.id}{path}", depth + 1
        if at.parent not in site.category_rows:
            break
        at = site.category_rows[at.parent]
    return {
        "id": row.id,
        "name": row.name,
        "idnumber": row.idnumber,
        "description": "",
        "descriptionformat": 1,
        "parent": row.parent,
        "sortorder": row.id * 10000,
        "coursecount": sum(1 for c in site.courses.values() if c.categoryid == row.id),
        "visible": 1,
        "visibleold": 1,
        "timemodified": 0,
        "depth": depth,
        "path": path,
        "theme": "",
    }


@function("core_course_get_categories", CATEGORIES, counts=ANSWER)
def get_categories(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Categories matching every criterion, then (by default) all their subcategories."""
    rows = list(site.category_rows.values())
    for criterion in params.get("criteria", []):
        key, value = criterion["key"].strip(), criterion["value"]
        if key not in _CATEGORY_KEYS:
            raise invalid_parameter(f"You can not search on this criteria: {key}")
        if key == "ids":
            wanted = {v.strip() for v in value.split(",")}
            rows = [r for r in rows if str(r.id) in wanted]
        elif key in ("visible", "theme"):
            rows = rows if value in ("1", "") else []
        else:
            rows = [r for r in rows if str(getattr(r, key)) == value]
    found = {r.id: r for r in rows}
    if params["addsubcategories"]:
        grew = True
        while grew:
            below = [
                r for r in site.category_rows.values() if r.parent in found and r.id not in found
            ]
            found.update((r.id, r) for r in below)
            grew = bool(below)
    return [_category_details(site, found[i]) for i in sorted(found)]


def _course(site: Site, courseid: int) -> CourseRow:
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
        if not site.can_enrol_with(item["roleid"]):
            raise moodle_error(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this "
                f"user ({item['userid']}) in this course({course.id}).",
            )
        _live_user(site, item["userid"])
    for item in params["enrolments"]:
        course = site.courses[item["courseid"]]
        enrolment = site.enrolments.setdefault((course.id, item["userid"]), EnrolmentRow())
        # Enrolling again sets all three: a key left out clears it (active, no dates).
        enrolment.suspended = bool(item.get("suspend", False))
        enrolment.timestart = item.get("timestart", 0)
        enrolment.timeend = item.get("timeend", 0)
        site.role_assignments.add((item["roleid"], course.contextid, item["userid"]))


UNENROL = Single(
    {"enrolments": Multiple(Single({"userid": Value("int"), "courseid": Value("int")}))}
)


@function("enrol_manual_unenrol_users", UNENROL, counts="enrolments")
def unenrol_users(site: Site, params: dict[str, Any]) -> None:
    for item in params["enrolments"]:
        # context_course::instance() with MUST_EXIST: an unknown course is a missing record.
        if item["courseid"] not in site.courses:
            raise missing_record("course")
        # Any user record will do, a deleted one included; not being enrolled is silent.
        if item["userid"] not in site.users:
            raise invalid_parameter(f"User id not exist: {item['userid']}")
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


def _assignment(key: str) -> Single:
    return Single(
        {
            key: Multiple(
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
    if item.get("contextid"):
        contextid: int = item["contextid"]
        if contextid not in site.contexts:
            raise invalid_parameter("Context does not exist")
        return contextid
    if not item.get("contextlevel") or "instanceid" not in item:
        raise invalid_parameter(
            "Missing parameters, please provide either context level with instance id or contextid"
        )
    level = _LEVELS.get(item["contextlevel"])
    if level is None:
        raise invalid_parameter(f"Invalid context level = {item['contextlevel']}")
    instance = item["instanceid"]
    if level == USER_LEVEL:
        found = site.user_context(instance)
        if found is None:
            raise invalid_parameter("Context does not exist")
        return found
    for contextid, (ctx_level, ctx_instance) in site.contexts.items():
        if ctx_level == level and (level == 10 or ctx_instance == instance):
            return contextid
    raise invalid_parameter("Context does not exist")


def _checked(site: Site, items: list[dict[str, Any]], verb: str) -> list[tuple[int, int, int]]:
    checked = []
    for item in items:
        contextid = _contextid(site, item)
        # An admin may give, in a context, every role whose levels include it.
        role = site.roles.get(item["roleid"])
        if role is None or site.contexts[contextid][0] not in role.contextlevels:
            raise invalid_parameter(
                f"Can not {verb} roleid={item['roleid']} in contextid={item.get('contextid')}"
            )
        if verb == "assign":
            _live_user(site, item["userid"])
        checked.append((item["roleid"], contextid, item["userid"]))
    return checked


@function("core_role_assign_roles", _assignment("assignments"), counts="assignments")
def assign_roles(site: Site, params: dict[str, Any]) -> None:
    site.role_assignments.update(_checked(site, params["assignments"], "assign"))


# Moodle 5.0 names this list ``unassignments``: ``assignments`` is refused like any
# unexpected key, so every call with it is invalidparameter.
@function("core_role_unassign_roles", _assignment("unassignments"), counts="unassignments")
def unassign_roles(site: Site, params: dict[str, Any]) -> None:
    site.role_assignments.difference_update(_checked(site, params["unassignments"], "unassign"))


@function("core_course_delete_courses", Single({"courseids": Multiple(Value("int"))}), "courseids")
def delete_courses(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    """Not a farm function (a token's service may hold it): unknown ids are warnings."""
    warnings: list[dict[str, Any]] = []
    for courseid in params["courseids"]:
        course = site.courses.pop(courseid, None)
        if course is None:
            warnings.append(
                {
                    "item": "course",
                    "itemid": courseid,
                    "warningcode": "unknowncourseidnumber",
                    "message": f"Unknown course ID {courseid}",
                }
            )
            continue
        for key in [k for k in site.enrolments if k[0] == courseid]:
            del site.enrolments[key]
        site.role_assignments = {a for a in site.role_assignments if a[1] != course.contextid}
        site.contexts.pop(course.contextid, None)
        for groupid in [g.id for g in site.groups.values() if g.courseid == courseid]:
            del site.groups[groupid]
    return {"warnings": warnings}
