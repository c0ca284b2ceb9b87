"""The simulated site's users table finds users by its index as a scan would.

Tests write ``site.users`` and its rows directly (a hand-made account, a
rename, a deletion behind the farm's back); the web-service functions look
users up in the table's index, so every such write must reach it. These
call the functions' handlers with validated parameters, as the app does.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from farm.simulators.moodle import MoodleSimulator, Site, UserRow
from farm.simulators.moodle.errors import WSError
from farm.simulators.moodle.users import (
    create_users,
    delete_users,
    get_users,
    get_users_by_field,
    update_users,
)


def _site() -> Site:
    return MoodleSimulator().add_site("lycee", auth_installed={"manual", "cas"})


def _new(username: str, email: str, idnumber: str = "") -> dict[str, Any]:
    return {
        "username": username,
        "firstname": "Jeanne",
        "lastname": "Martin",
        "email": email,
        "auth": "cas",
        "idnumber": idnumber,
        "customfields": [],
    }


def _created(site: Site, *users: dict[str, Any]) -> list[int]:
    return [answer["id"] for answer in create_users(site, {"users": list(users)})]


def _refusal(site: Site, *users: dict[str, Any]) -> str:
    """The debuginfo of the refusal: it names the offending value."""
    with pytest.raises(WSError) as refused:
        create_users(site, {"users": list(users)})
    return refused.value.debuginfo or ""


def _found(site: Site, field: str, *values: str) -> list[str]:
    answer = get_users_by_field(site, {"field": field, "values": list(values)})
    return [user["username"] for user in answer]


def test_a_row_renamed_or_added_by_hand_is_found_and_its_old_name_is_free() -> None:
    site = _site()
    [first] = _created(site, _new("jmartin", "j@example.org", "ID-1"))
    site.users[first].username = "renamed"
    site.users[first].email = "Other@Example.org"
    site.users[900] = UserRow(900, "hand", "Hand", "Made", "hand@example.org", idnumber="ID-9")

    assert _found(site, "username", "jmartin") == []
    assert _found(site, "username", "renamed", "hand") == ["renamed", "hand"]
    assert _found(site, "idnumber", "ID-9") == ["hand"]
    # E-mails are unique without case: the renamed address is taken, the old one free.
    assert "Email address already exists" in _refusal(site, _new("x", "other@example.ORG"))
    assert "Username already exists: hand" in _refusal(site, _new("hand", "new@example.org"))
    assert _created(site, _new("jmartin", "j@example.org"))


def test_rows_removed_replaced_or_deleted_leave_the_lookups() -> None:
    site = _site()
    a, b, c = _created(
        site,
        _new("a", "a@example.org", "ID-A"),
        _new("b", "b@example.org", "ID-B"),
        _new("c", "c@example.org", "ID-C"),
    )
    del site.users[a]
    site.users[b] = UserRow(b, "b2", "B", "Two", "b2@example.org")
    delete_users(site, {"userids": [c]})

    assert _found(site, "idnumber", "ID-A", "ID-B", "ID-C") == []
    assert _found(site, "username", "b", "b2") == ["b2"]
    # A deleted user frees its e-mail and idnumber but keeps a (new) username.
    assert _created(site, _new("a", "c@example.org", "ID-C"))
    assert site.user_by_username("c") is None


def test_a_failed_update_rolls_back_into_the_index() -> None:
    site = _site()
    a, b = _created(site, _new("a", "a@example.org"), _new("b", "b@example.org"))
    # The second item's password fails the policy: the whole call is undone.
    items = [{"id": a, "username": "a-new"}, {"id": b, "password": "short"}]
    with pytest.raises(WSError):
        update_users(site, {"users": items})

    assert _found(site, "username", "a", "a-new") == ["a"]
    warnings = update_users(site, {"users": [{"id": b, "username": "a"}]})["warnings"]
    assert [w["warningcode"] for w in warnings] == ["usernameexists"]


def test_a_copy_of_a_row_is_not_in_the_table_and_a_new_table_indexes_its_rows() -> None:
    site = _site()
    [a] = _created(site, _new("a", "a@example.org"))
    loose = copy.copy(site.users[a])
    loose.username = "loose"
    # A plain dict given to the site becomes an indexed table of the same rows.
    late = UserRow(901, "late", "L", "T", "late@example.org")
    site.users = {**site.users, 901: late}  # type: ignore[assignment]

    assert _found(site, "username", "a", "loose", "late") == ["a", "late"]
    criteria = [{"key": "username", "value": "late"}, {"key": "email", "value": "LATE@%"}]
    assert [u["id"] for u in get_users(site, {"criteria": criteria})["users"]] == [901]
