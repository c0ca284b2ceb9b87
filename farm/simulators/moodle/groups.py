"""Groups, enrolled-user listings and site info."""

from __future__ import annotations

from typing import Any

from farm.simulators.moodle.catalogue import CALLER_FUNCTIONS, function
from farm.simulators.moodle.encoding import Multiple, Single, Value
from farm.simulators.moodle.errors import (
    WSError,
    invalid_parameter,
    missing_record,
    moodle_error,
    unknown_user,
)
from farm.simulators.moodle.state import GroupRow, Site
from farm.simulators.moodle.users import user_details

CREATE = Single(
    {
        "groups": Multiple(
            Single(
                {
                    "courseid": Value("int"),
                    "name": Value("text"),
                    "description": Value("text"),
                    "descriptionformat": Value("int", required=False),
                    "enrolmentkey": Value("text", required=False),
                    "idnumber": Value("text", required=False),
                    "visibility": Value("int", required=False),
                    "participation": Value("bool", required=False),
                }
            )
        )
    }
)


def group_details(group: GroupRow) -> dict[str, Any]:
    return {
        "id": group.id,
        "courseid": group.courseid,
        "name": group.name,
        "description": group.description,
        "descriptionformat": 1,
        "enrolmentkey": "",
        "idnumber": group.idnumber,
        "visibility": 0,
        "participation": True,
    }


@function("core_group_create_groups", CREATE, counts="groups")
def create_groups(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    pending: list[GroupRow] = []
    for item in params["groups"]:
        if item["name"].strip() == "":
            raise invalid_parameter("Invalid group name")
        siblings = [g for g in [*site.groups.values(), *pending] if g.courseid == item["courseid"]]
        if any(g.name == item["name"] for g in siblings):
            raise invalid_parameter("Group with the same name already exists in the course")
        if item["courseid"] not in site.courses:
            raise _course_context_error(item["courseid"])
        idnumber = item.get("idnumber") or ""
        if idnumber and any(g.idnumber == idnumber for g in siblings):
            raise moodle_error("idnumbertaken", "ID number is already used for another group")
        pending.append(GroupRow(0, item["courseid"], item["name"], item["description"], idnumber))
    for group in pending:
        group.id = site.new_id()
        site.groups[group.id] = group
    return [group_details(g) for g in pending]


def _course_context_error(courseid: int) -> WSError:
    """What group functions answer for an unknown course (validate_context() failed)."""
    return moodle_error(
        "errorcoursecontextnotvalid",
        f"You cannot execute functions in the course context (course id:{courseid}). The "
        "context error message was: Invalid parameter value detected",
    )


@function("core_group_get_course_groups", Single({"courseid": Value("int")}))
def get_course_groups(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    if params["courseid"] not in site.courses:
        raise _course_context_error(params["courseid"])
    return [group_details(g) for g in site.groups.values() if g.courseid == params["courseid"]]


def _group(site: Site, groupid: int) -> GroupRow:
    group = site.groups.get(groupid)
    if group is None:
        raise missing_record("groups")
    return group


def _live_user(site: Site, userid: int) -> None:
    user = site.users.get(userid)
    if user is None or user.deleted:
        raise unknown_user(userid)


MEMBERS = Single({"members": Multiple(Single({"groupid": Value("int"), "userid": Value("int")}))})


@function("core_group_add_group_members", MEMBERS, counts="members")
def add_group_members(site: Site, params: dict[str, Any]) -> None:
    for item in params["members"]:
        group = _group(site, item["groupid"])
        _live_user(site, item["userid"])
        if (group.courseid, item["userid"]) not in site.enrolments:
            raise invalid_parameter("Only enrolled users may be members of groups")
    for item in params["members"]:
        site.groups[item["groupid"]].members.add(item["userid"])


@function("core_group_delete_group_members", MEMBERS, counts="members")
def delete_group_members(site: Site, params: dict[str, Any]) -> None:
    for item in params["members"]:
        _group(site, item["groupid"])
        _live_user(site, item["userid"])
    for item in params["members"]:
        site.groups[item["groupid"]].members.discard(item["userid"])


ENROLLED = Single(
    {
        "courseid": Value("int"),
        "options": Multiple(
            Single({"name": Value("text"), "value": Value("text")}), required=False, default=[]
        ),
    }
)


@function("core_enrol_get_enrolled_users", ENROLLED)
def get_enrolled_users(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    course = site.courses.get(params["courseid"])
    if course is None:
        raise missing_record("course")
    options = {o["name"]: o["value"] for o in params["options"]}
    onlyactive = options.get("onlyactive") in ("1", "true")
    answer = []
    for (courseid, userid), enrolment in site.enrolments.items():
        user = site.users[userid]
        if courseid != course.id or (onlyactive and (enrolment.suspended or user.suspended)):
            continue
        details = user_details(site, user)
        details["groups"] = [
            {"id": g.id, "name": g.name, "description": g.description, "descriptionformat": 1}
            for g in site.groups.values()
            if g.courseid == course.id and userid in g.members
        ]
        details["roles"] = [
            {
                "roleid": roleid,
                "name": "",
                "shortname": site.roles[roleid].shortname,
                "sortorder": 0,
            }
            for roleid in sorted(site.user_roles_in(course.contextid, userid))
        ]
        answer.append(details)
    return answer


@function("core_webservice_get_site_info", Single({}))
def get_site_info(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    user = site.users[site.ws_user]
    allowed = CALLER_FUNCTIONS.get(frozenset())
    return {
        "sitename": site.name,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": f"{user.firstname} {user.lastname}",
        "lang": "en",
        "userid": user.id,
        "siteurl": site.wwwroot,
        "userpictureurl": f"{site.wwwroot}/theme/image.php/boost/core/1/u/f1",
        "functions": [{"name": name, "version": site.version} for name in sorted(allowed)],
        "downloadfiles": 0,
        "uploadfiles": 0,
        "release": site.release,
        "version": site.version,
        "mobilecssurl": "",
        "advancedfeatures": [],
        "usercanmanageownfiles": True,
        "userissiteadmin": site.enrol_assignable is None,
        "userquota": 0,
        "usermaxuploadfilesize": 0,
        "userhomepage": 1,
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "theme": "boost",
    }
