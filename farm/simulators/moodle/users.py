"""User functions: create (all-or-nothing), update (per item), lookups, delete.

Only accounts of an internal auth plugin (manual, and also email, nologin,
none) need and keep a password; an external one (ldap, oauth2, shibboleth,
cas) is created with the password "not cached". ``createpassword=1`` marks the account
``password_emailed``: Moodle mails the person a generated password.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from farm.simulators.moodle.catalogue import ANSWER, function
from farm.simulators.moodle.encoding import Multiple, Single, Value, clean_username
from farm.simulators.moodle.errors import (
    WSError,
    coding_error,
    invalid_parameter,
    moodle_error,
    unknown_user,
)
from farm.simulators.moodle.state import PASSWORD_NOT_CACHED, USER_LEVEL, Site, UserRow
from farm.simulators.moodle.user_table import EMAIL_FOLDED

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CUSTOMFIELDS = Multiple(
    Single({"type": Value("text"), "value": Value("text")}), required=False, default=[]
)
_COMMON: dict[str, Value | Single | Multiple] = {
    "auth": Value("text", required=False),
    "idnumber": Value("text", required=False),
    "lang": Value("text", required=False),
    # PARAM_TIMEZONE and PARAM_ALPHA: a value they would clean is refused.
    "timezone": Value("timezone", required=False),
    "city": Value("text", required=False),
    "country": Value("alpha", required=False),
    "institution": Value("text", required=False),
    "department": Value("text", required=False),
    "description": Value("text", required=False),
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


# create_users removes these from the installed plugins: no new accounts with them.
_NOT_CREATABLE = frozenset({"mnet", "webservice"})
# Plugins Moodle calls internal (is_internal()): their accounts need and keep a
# password. MOODLE-WS.md names manual; a real 5.0.6+ refuses email and nologin
# accounts without one too, and takes ldap, oauth2 and shibboleth without.
_INTERNAL_AUTHS = frozenset({"manual", "email", "nologin", "none"})
# Column sizes of Moodle's user table: a longer value fails the whole call.
_LENGTHS = {
    "username": 100,
    "firstname": 100,
    "lastname": 100,
    "email": 100,
    "idnumber": 255,
    "city": 120,
    "institution": 255,
    "department": 255,
    "lang": 30,
}


def _check_lengths(item: dict[str, Any]) -> None:
    for key, limit in _LENGTHS.items():
        value = item.get(key)
        if isinstance(value, str) and len(value) > limit:
            raise invalid_parameter(f"The field {key} is longer than {limit} characters: {value}")


def _check_password_policy(site: Site, password: str) -> None:
    problems = site.password_policy.problems(password)
    if problems:
        # moodle_exception($errmsg): the policy text is the errorcode, no such string exists.
        html = "".join(f"<div>{p}</div>" for p in problems)
        raise moodle_error(html, f"error/{html}")


def _apply_customfields(site: Site, user: UserRow, fields: list[dict[str, str]]) -> None:
    for item in fields:
        # An unknown shortname is ignored without a word, as Moodle does.
        if item["type"] not in site.profile_fields:
            continue
        if item["value"] == "":
            user.customfields.pop(item["type"], None)
        else:
            user.customfields[item["type"]] = item["value"]


def _email_taken(site: Site, email: str, except_id: int | None = None) -> bool:
    """Moodle compares emails without case when it checks they are unique."""
    if site.allowaccountssameemail:
        return False
    return site.users.live_with(EMAIL_FOLDED, email.lower(), except_id=except_id)


def _username_taken(site: Site, username: str, except_id: int) -> bool:
    """Usernames are unique among all rows, deleted ones included."""
    return any(
        site.users[key].id != except_id for key in site.users.keys_with("username", username)
    )


@function("core_user_create_users", CREATE, counts="users")
def create_users(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    pending: list[UserRow] = []
    # The site's rows are looked up in its index; the call's own records here.
    new_usernames: set[str] = set()
    new_emails: set[str] = set()
    # Checked in Moodle's order, record after record: the first offender is named.
    for item in params["users"]:
        for key in ("username", "firstname", "lastname"):
            if item[key].strip() == "":
                raise invalid_parameter(f"The field {key} cannot be blank")
        username = item["username"]
        if username in new_usernames or site.users.holds("username", username):
            raise invalid_parameter(f"Username already exists: {username}")
        auth = item.get("auth", "manual")
        if auth not in site.auth_installed or auth in _NOT_CREATABLE:
            raise invalid_parameter(f"Invalid authentication type: {auth}")
        # Moodle sends the site's language when the call gives none; a pack it lacks fails.
        lang = item.get("lang") or site.lang
        if lang not in site.languages:
            raise invalid_parameter(f"Invalid language code: {lang}")
        createpassword = bool(item.get("createpassword", False))
        password = item.get("password") or ""
        keeps_password = auth in _INTERNAL_AUTHS
        if keeps_password and not password and not createpassword:
            raise invalid_parameter(
                "Invalid password: you must provide a password, or set createpassword."
            )
        email = item["email"]
        if not _EMAIL.match(email):
            raise invalid_parameter(f"Email address is invalid: {email}")
        folded = email.lower()
        if not site.allowaccountssameemail and (
            folded in new_emails or site.users.live_with(EMAIL_FOLDED, folded)
        ):
            raise invalid_parameter(f"Email address already exists: {email}")
        # user_create_user: the policy of an explicit password, then the insert.
        if keeps_password and not createpassword:
            _check_password_policy(site, password)
        _check_lengths(item)
        if not keeps_password:
            stored: str | None = PASSWORD_NOT_CACHED
        else:
            stored = None if createpassword else password
        user = UserRow(
            id=0,
            username=username,
            firstname=item["firstname"],
            lastname=item["lastname"],
            email=email,
            auth=auth,
            idnumber=item.get("idnumber") or "",
            password=stored,
            lang=lang,
            # Moodle's defaults: the site's time zone (99), no country.
            timezone=item.get("timezone") or "99",
            country=item.get("country") or "",
            # setnew_password_and_mail(): whatever the auth, the person gets an e-mail.
            password_emailed=createpassword,
        )
        _apply_customfields(site, user, item["customfields"])
        pending.append(user)
        new_usernames.add(username)
        new_emails.add(folded)
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
                    # Only an update suspends: create_users has no such key (a real 5.0.6+).
                    "suspended": Value("bool", required=False),
                    **_COMMON,
                }
            )
        )
    }
)


@function("core_user_update_users", UPDATE, counts="users")
def update_users(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []
    # One transaction: a failure of any item (policy, column size) undoes the others.
    before: dict[int, UserRow] = {}

    def warn(userid: int, code: str, message: str) -> None:
        warnings.append({"item": "user", "itemid": userid, "warningcode": code, "message": message})

    try:
        for item in params["users"]:
            _update_one(site, item, warn, before)
    except WSError:
        for userid, old in before.items():
            row = site.users[userid]
            # Attribute by attribute, so that the site's index follows.
            for column in fields(old):
                setattr(row, column.name, getattr(old, column.name))
        raise
    return {"warnings": warnings}


def _update_one(
    site: Site,
    item: dict[str, Any],
    warn: Callable[[int, str, str], None],
    before: dict[int, UserRow],
) -> None:
    user = site.users.get(item["id"])
    if user is None:
        warn(item["id"], "invaliduserid", "Invalid user ID")
        return
    if user.deleted:
        warn(user.id, "usernotupdateddeleted", "User is a deleted user")
        return
    if user.id == 1:
        warn(user.id, "usernotupdatedguest", "Unable to update guest user")
        return
    email = item.get("email")
    if email is not None and email != user.email:
        if not _EMAIL.match(email):
            warn(user.id, "useremailinvalid", "Invalid email address")
            return
        if _email_taken(site, email, except_id=user.id):
            warn(user.id, "useremailduplicate", "Duplicate email address")
            return
    username = item.get("username")
    if username is not None and _username_taken(site, username, user.id):
        warn(user.id, "usernameexists", "Username already exists")
        return
    if "auth" in item and item["auth"] not in site.auth_installed:
        warn(user.id, "invalidauth", "Invalid authentication type")
        return
    # user_update_user(): the policy of a new password, then the write.
    password = item.get("password") or ""
    if password:
        _check_password_policy(site, password)
    _check_lengths(item)
    before.setdefault(user.id, replace(user, customfields=dict(user.customfields)))
    for key in (
        "username",
        "firstname",
        "lastname",
        "email",
        "idnumber",
        "auth",
        "lang",
        "timezone",
        "country",
    ):
        if item.get(key) is not None:
            setattr(user, key, item[key])
    if "suspended" in item:
        user.suspended = item["suspended"]
    if user.auth not in _INTERNAL_AUTHS:
        user.password = PASSWORD_NOT_CACHED
    elif password:
        user.password = password
    elif user.password == PASSWORD_NOT_CACHED:
        user.password = None
    _apply_customfields(site, user, item.get("customfields", []))


def user_details(site: Site, user: UserRow) -> dict[str, Any]:
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
        "timezone": user.timezone,
        "mailformat": 1,
        "description": "",
        "descriptionformat": 1,
        "profileimageurlsmall": f"{site.wwwroot}/theme/image.php/boost/core/1/u/f2",
        "profileimageurl": f"{site.wwwroot}/theme/image.php/boost/core/1/u/f1",
    }
    if user.idnumber:
        answer["idnumber"] = user.idnumber
    if user.country:  # left out when empty, as Moodle does
        answer["country"] = user.country
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


BY_FIELD = Single({"field": Value("alpha"), "values": Multiple(Value("text"))})


def _cleaned(field: str, value: str) -> bool:
    """Whether Moodle's cleaning keeps ``value`` as it is (else the call is refused)."""
    if field == "id":
        return re.fullmatch(r"-?\d+", value) is not None
    if field == "username":
        return value == clean_username(value)
    if field == "email":
        return value == "" or _EMAIL.match(value) is not None
    return True


@function("core_user_get_users_by_field", BY_FIELD, counts=ANSWER)
def get_users_by_field(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    field, values = params["field"], params["values"]
    if field not in ("id", "idnumber", "username", "email"):
        raise coding_error(
            "invalid field parameter",
            f"The search field '{field}' is not supported, look at the web service documentation",
        )
    for value in values:
        if not _cleaned(field, value):
            raise invalid_parameter(f"The field '{field}' value is invalid: {value}")
    wanted = {str(int(v)) for v in values} if field == "id" else set(values)
    found = []
    # The rows holding a wanted value, in the table's order, as a scan would list them.
    for key in site.users.keys_with_any(field, wanted):
        user = site.users[key]
        if user.deleted or user.id == 1:
            continue
        # Lookups compare exactly, so an email differing in case is not found.
        if str(getattr(user, field)) in wanted:
            found.append(user_details(site, user))
    return found


GET_USERS = Single({"criteria": Multiple(Single({"key": Value("alpha"), "value": Value("text")}))})
_LIKE_KEYS = ("email", "firstname", "lastname")


def _like(pattern: str) -> re.Pattern[str]:
    """SQL ``LIKE`` without case: ``%`` any run of characters, ``_`` one character."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


@function("core_user_get_users", GET_USERS, counts="criteria")
def get_users(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []
    allowed = ("id", "lastname", "firstname", "idnumber", "username", "email", "auth")
    criteria = []
    for criterion in params["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key not in allowed:
            warnings.append(
                {
                    "item": key,
                    "warningcode": "invalidfieldparameter",
                    "message": f"The search key '{key}' is not supported, look at the web "
                    "service documentation",
                }
            )
            continue
        # Values are cleaned, not refused, here: an uppercase username is lowercased.
        if key == "username":
            value = clean_username(value)
        criteria.append((key, value))

    # Each LIKE pattern compiled once per call, not once per row.
    likes = {value: _like(value) for key, value in criteria if key in _LIKE_KEYS}

    def matches(user: UserRow) -> bool:
        for key, value in criteria:
            actual = str(getattr(user, key))
            if key in _LIKE_KEYS:
                if likes[value].fullmatch(actual) is None:
                    return False
            elif actual != value:
                return False
        return True

    # An exact criterion on an indexed column narrows the rows to test; else all are.
    exact = next(((k, v) for k, v in criteria if k in ("id", "idnumber", "username")), None)
    rows = (
        [site.users[key] for key in site.users.keys_with(*exact)]
        if exact is not None
        else list(site.users.values())
    )
    # Criteria combine with AND; with no valid criterion every user comes back.
    users = [user_details(site, u) for u in rows if not u.deleted and u.id != 1 and matches(u)]
    return {"users": users, "warnings": warnings}


DELETE = Single({"userids": Multiple(Value("int"))})


@function("core_user_delete_users", DELETE, counts="userids")
def delete_users(site: Site, params: dict[str, Any]) -> None:
    doomed = []
    for userid in params["userids"]:
        user = site.users.get(userid)
        if user is None or user.deleted or user in doomed:
            raise unknown_user(userid)
        if user.id == 2:
            raise moodle_error("useradminodelete", "Admin users cannot be deleted")
        doomed.append(user)
    for user in doomed:
        _delete(site, user)
    _drop_links(site, {user.id for user in doomed})


def _delete(site: Site, user: UserRow) -> None:
    user.deleted = True
    # Moodle frees the username, email and idnumber at once (user_delete_user()).
    name = clean_username(f"{user.email}.{int(time.time())}")
    while site.users.holds("username", name):
        name += "1"
    old_username, user.username = user.username, name
    user.email = hashlib.md5(old_username.encode()).hexdigest()  # noqa: S324
    user.idnumber = ""
    user.customfields.clear()


def _drop_links(site: Site, userids: set[int]) -> None:
    """Remove the deleted users' enrolments, roles, contexts and memberships.

    One pass over each table for the whole call, not one per user: a call's
    cost is its own records' plus one scan, whatever the number of users.
    """
    for key in [k for k in site.enrolments if k[1] in userids]:
        del site.enrolments[key]
    own = {c for c, (level, i) in site.contexts.items() if level == USER_LEVEL and i in userids}
    site.role_assignments = {
        a for a in site.role_assignments if a[2] not in userids and a[1] not in own
    }
    for contextid in own:
        del site.contexts[contextid]
    for cohort in site.cohorts.values():
        cohort.members -= userids
    for group in site.groups.values():
        group.members -= userids
