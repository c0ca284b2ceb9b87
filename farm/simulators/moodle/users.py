"""User functions: create (all-or-nothing), update (per item), lookups, delete."""

from __future__ import annotations

import re
import time
from typing import Any

from farm.simulators.moodle.catalogue import ANSWER, function
from farm.simulators.moodle.encoding import Multiple, Single, Value, clean_username
from farm.simulators.moodle.errors import (
    coding_error,
    invalid_parameter,
    moodle_error,
    unknown_user,
)
from farm.simulators.moodle.state import Site, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CUSTOMFIELDS = Multiple(
    Single({"type": Value("text"), "value": Value("text")}), required=False, default=[]
)
_COMMON: dict[str, Value | Single | Multiple] = {
    "auth": Value("text", required=False),
    "idnumber": Value("text", required=False),
    "lang": Value("text", required=False),
    "city": Value("text", required=False),
    "country": Value("text", required=False),
    "institution": Value("text", required=False),
    "department": Value("text", required=False),
    "description": Value("text", required=False),
    "suspended": Value("bool", required=False),
    "customfields": _CUSTOMFIELDS,
}

CREATE = Single(
    {
        "users": Multiple(
            Single(
                {
                    "createpassword": Value("bool", required=False),
                    "username": Value("username"),
                    "password": Value("text", required=False),
                    "firstname": Value("text"),
                    "lastname": Value("text"),
                    "email": Value("text"),
                    **_COMMON,
                }
            )
        )
    }
)


def _check_auth(site: Site, auth: str) -> None:
    if auth not in site.auth_installed:
        raise invalid_parameter(f"Invalid authentication type: {auth}")


def _apply_customfields(site: Site, user: User, fields: list[dict[str, str]]) -> None:
    for item in fields:
        # An unknown shortname is ignored without a word, as Moodle does.
        if item["type"] not in site.profile_fields:
            continue
        if item["value"] == "":
            user.customfields.pop(item["type"], None)
        else:
            user.customfields[item["type"]] = item["value"]


def _email_taken(site: Site, email: str, except_id: int | None = None) -> bool:
    wanted = email.lower()
    return any(
        u.email.lower() == wanted and not u.deleted and u.id != except_id
        for u in site.users.values()
    )


@function("core_user_create_users", CREATE, counts="users")
def create_users(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    pending: list[User] = []
    taken_usernames = {u.username for u in site.users.values()}
    # Moodle compares emails without case when it checks they are unique.
    taken_emails = {u.email.lower() for u in site.users.values() if not u.deleted}
    for item in params["users"]:
        username = item["username"]
        if username in taken_usernames:
            raise invalid_parameter(f"Username already exists: {username}")
        auth = item.get("auth") or "manual"
        _check_auth(site, auth)
        email = item["email"]
        if not _EMAIL.match(email):
            raise invalid_parameter(f"Email address is invalid: {email}")
        if email.lower() in taken_emails:
            raise invalid_parameter(f"Email address already exists: {email}")
        password = item.get("password")
        if not item.get("createpassword") and not password:
            raise invalid_parameter(
                "Invalid password: you must provide a password, or set createpassword."
            )
        if password and not item.get("createpassword"):
            problems = site.password_policy.problems(password)
            if problems:
                html = "".join(f"<div>{p}</div>" for p in problems)
                raise moodle_error(html, f"error/{html}")
        user = User(
            id=0,
            username=username,
            firstname=item["firstname"],
            lastname=item["lastname"],
            email=email,
            auth=auth,
            idnumber=item.get("idnumber") or "",
            suspended=bool(item.get("suspended", False)),
            password=password,
            lang=item.get("lang") or "en",
        )
        _apply_customfields(site, user, item["customfields"])
        pending.append(user)
        taken_usernames.add(username)
        taken_emails.add(email.lower())
    # Nothing was written until every record passed: the call is all-or-nothing.
    answer = []
    for user in pending:
        user.id = site.new_id()
        site.users[user.id] = user
        answer.append({"id": user.id, "username": user.username})
    return answer


UPDATE = Single(
    {
        "users": Multiple(
            Single(
                {
                    "id": Value("int"),
                    "username": Value("username", required=False),
                    "password": Value("text", required=False),
                    "firstname": Value("text", required=False),
                    "lastname": Value("text", required=False),
                    "email": Value("text", required=False),
                    **_COMMON,
                }
            )
        )
    }
)


@function("core_user_update_users", UPDATE, counts="users")
def update_users(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []

    def warn(userid: int, code: str, message: str) -> None:
        warnings.append({"item": "user", "itemid": userid, "warningcode": code, "message": message})

    for item in params["users"]:
        user = site.users.get(item["id"])
        if user is None or user.deleted:
            warn(item["id"], "invaliduserid", "Invalid user ID")
            continue
        email = item.get("email")
        if email is not None and _email_taken(site, email, except_id=user.id):
            warn(user.id, "useremailduplicate", "Duplicate email address")
            continue
        username = item.get("username")
        if username is not None and any(
            u.username == username and u.id != user.id for u in site.users.values()
        ):
            warn(user.id, "usernameexists", "Username already exists")
            continue
        if "auth" in item and item["auth"] not in site.auth_installed:
            warn(user.id, "invalidauth", "Invalid authentication type")
            continue
        for key in ("username", "firstname", "lastname", "email", "idnumber", "auth", "lang"):
            if item.get(key) is not None:
                setattr(user, key, item[key])
        if "suspended" in item:
            user.suspended = item["suspended"]
        if item.get("password"):
            user.password = item["password"]
        _apply_customfields(site, user, item.get("customfields", []))
    return {"warnings": warnings}


def user_details(site: Site, user: User) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": f"{user.firstname} {user.lastname}",
        "email": user.email,
        "auth": user.auth,
        "suspended": user.suspended,
        "confirmed": True,
        "lang": user.lang,
        "theme": "",
        "timezone": "99",
        "mailformat": 1,
        "description": "",
        "descriptionformat": 1,
        "profileimageurlsmall": f"{site.wwwroot}/theme/image.php/boost/core/1/u/f2",
        "profileimageurl": f"{site.wwwroot}/theme/image.php/boost/core/1/u/f1",
    }
    if user.idnumber:
        answer["idnumber"] = user.idnumber
    if user.customfields:
        answer["customfields"] = [
            {
                "type": "text",
                "value": value,
                "displayvalue": value,
                "name": site.profile_fields.get(shortname, shortname),
                "shortname": shortname,
            }
            for shortname, value in user.customfields.items()
        ]
    return answer


BY_FIELD = Single({"field": Value("text"), "values": Multiple(Value("text"))})


@function("core_user_get_users_by_field", BY_FIELD, counts=ANSWER)
def get_users_by_field(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    field, values = params["field"], params["values"]
    if field not in ("id", "idnumber", "username", "email"):
        raise coding_error("invalid field parameter")
    if field == "username":
        for value in values:
            if value != clean_username(value):
                raise invalid_parameter(f"The username must be in lowercase: {value}")
    found = []
    for user in site.users.values():
        if user.deleted or user.id == 1:
            continue
        # Lookups compare exactly, so an email differing in case is not found.
        if str(getattr(user, field)) in values:
            found.append(user_details(site, user))
    return found


GET_USERS = Single({"criteria": Multiple(Single({"key": Value("text"), "value": Value("text")}))})


@function("core_user_get_users", GET_USERS, counts="criteria")
def get_users(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []
    allowed = ("id", "lastname", "firstname", "idnumber", "username", "email", "auth")
    criteria = []
    for criterion in params["criteria"]:
        if criterion["key"] not in allowed:
            warnings.append(
                {
                    "item": criterion["key"],
                    "warningcode": "invalidfieldparameter",
                    "message": f"The search key '{criterion['key']}' is not supported",
                }
            )
            continue
        criteria.append((criterion["key"], criterion["value"]))

    def matches(user: User) -> bool:
        for key, value in criteria:
            actual = str(getattr(user, key))
            if key == "email" and "%" in value:
                pattern = ".*".join(re.escape(part) for part in value.split("%"))
                if not re.fullmatch(pattern, actual, re.IGNORECASE):
                    return False
            elif actual != value:
                return False
        return True

    users = [
        user_details(site, u)
        for u in site.users.values()
        if not u.deleted and u.id != 1 and criteria and matches(u)
    ]
    return {"users": users, "warnings": warnings}


DELETE = Single({"userids": Multiple(Value("int"))})


@function("core_user_delete_users", DELETE, counts="userids")
def delete_users(site: Site, params: dict[str, Any]) -> None:
    doomed = []
    for userid in params["userids"]:
        user = site.users.get(userid)
        if user is None or user.deleted:
            raise unknown_user(userid)
        if user.id == 2:
            raise moodle_error("useradminodelete", "Admin users cannot be deleted")
        doomed.append(user)
    for user in doomed:
        user.deleted = True
        # Moodle frees the username at once by renaming the deleted account.
        user.username = f"{user.email}.{int(time.time())}.{user.id}"
        user.customfields.clear()
        for key in [k for k in site.enrolments if k[1] == user.id]:
            del site.enrolments[key]
        site.role_assignments = {a for a in site.role_assignments if a[2] != user.id}
        for cohort in site.cohorts.values():
            cohort.members.discard(user.id)
        for group in site.groups.values():
            group.members.discard(user.id)
