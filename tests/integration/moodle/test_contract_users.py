"""Contract: MOODLE-WS.md, section "Users". Each test quotes the line it checks."""

from __future__ import annotations

from typing import Any

import pytest

from farm.moodle import NewUser, RecordError, UserUpdate
from farm.secrets import Secret
from tests.fixtures.moodle import MoodleTarget


def user(moodle: MoodleTarget, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "username": moodle.username(name),
        "firstname": "Jeanne",
        "lastname": "Martin",
        "email": moodle.email(name),
        "createpassword": True,
        **extra,
    }


def new_user(moodle: MoodleTarget, name: str, **extra: Any) -> NewUser:
    email = extra.pop("email", moodle.email(name))
    return NewUser(moodle.username(name), "Jeanne", "Martin", email, **extra)


async def test_create_users_is_all_or_nothing_and_names_only_the_first_offender(
    moodle: MoodleTarget,
) -> None:
    """ "core_user_create_users is all-or-nothing: one bad record and nothing in the batch is
    created; the error names only the first offender ("Username already exists: x",
    "Email address already exists: x", "Email address is invalid: x")." """
    await moodle.call("core_user_create_users", {"users": [user(moodle, "taken")]})
    batch = [
        user(moodle, "fresh"),
        user(moodle, "taken", email=moodle.email("other")),
        user(moodle, "bad", email="not-an-email"),
    ]
    answer = await moodle.call("core_user_create_users", {"users": batch})
    assert answer["errorcode"] == "invalidparameter"
    found = await moodle.call(
        "core_user_get_users_by_field", {"field": "username", "values": [moodle.username("fresh")]}
    )
    assert found == []
    if moodle.site is not None:
        moodle.site.debug = True
        answer = await moodle.call("core_user_create_users", {"users": batch})
        assert answer["debuginfo"] == f"Username already exists: {moodle.username('taken')}"
        assert "not-an-email" not in answer["debuginfo"]
        answer = await moodle.call(
            "core_user_create_users",
            {"users": [user(moodle, "dupmail", email=moodle.email("taken"))]},
        )
        assert answer["debuginfo"] == f"Email address already exists: {moodle.email('taken')}"
        answer = await moodle.call("core_user_create_users", {"users": [batch[2]]})
        assert answer["debuginfo"] == "Email address is invalid: not-an-email"


async def test_the_client_splits_a_refused_batch_so_the_good_records_still_go_in(
    moodle: MoodleTarget,
) -> None:
    """ "A writer that wants the good records in must split the batch and retry the halves." """
    async with moodle.client() as client:
        await client.create_users([new_user(moodle, "u3")])
        batch = [new_user(moodle, f"u{i}") for i in range(8)]
        batch[5] = new_user(moodle, "u5", email="broken")
        result = await client.create_users(batch)
    assert sorted(c.item.username for c in result.confirmed) == sorted(
        moodle.username(f"u{i}") for i in (0, 1, 2, 4, 6, 7)
    )
    assert sorted(f.item.username for f in result.failed) == [
        moodle.username("u3"),
        moodle.username("u5"),
    ]
    assert all(isinstance(f.error, RecordError) for f in result.failed)


async def test_the_answer_lists_id_and_username_in_request_order(moodle: MoodleTarget) -> None:
    """ "The answer lists {id, username} in request order." """
    names = ["zeta", "alpha", "mu"]
    answer = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, n) for n in names]}
    )
    assert [a["username"] for a in answer] == [moodle.username(n) for n in names]
    assert all(isinstance(a["id"], int) for a in answer)


@pytest.mark.parametrize(
    "missing", ["username", "firstname", "lastname", "email", "createpassword"]
)
async def test_username_names_email_and_a_password_or_createpassword_are_required(
    moodle: MoodleTarget, missing: str
) -> None:
    """ "Required: username, firstname, lastname, email, and password or createpassword=1." """
    record = user(moodle, "req")
    del record[missing]
    answer = await moodle.call("core_user_create_users", {"users": [record]})
    assert answer["errorcode"] == "invalidparameter"


async def test_auth_defaults_to_manual_disabled_plugins_pass_unknown_ones_fail(
    moodle: MoodleTarget,
) -> None:
    """ "auth defaults to manual; an installed but disabled plugin (ldap, cas) is accepted, an
    unknown one rejected." """
    created = await moodle.call(
        "core_user_create_users",
        {
            "users": [
                user(moodle, "dflt"),
                user(moodle, "ldap", auth="ldap"),
                user(moodle, "cas", auth="cas"),
            ]
        },
    )
    found = await moodle.call(
        "core_user_get_users_by_field", {"field": "id", "values": [str(c["id"]) for c in created]}
    )
    assert sorted(u["auth"] for u in found) == ["cas", "ldap", "manual"]
    answer = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "nope", auth="nosuchauth")]}
    )
    assert answer["errorcode"] == "invalidparameter"


async def test_an_explicit_password_must_pass_the_policy_whose_html_is_the_errorcode(
    moodle: MoodleTarget,
) -> None:
    """ "An explicit password must pass the site's password policy; that failure puts the
    policy text, as HTML, in errorcode." """
    record = user(moodle, "pw", password="short")
    del record["createpassword"]
    answer = await moodle.call("core_user_create_users", {"users": [record]})
    assert answer["errorcode"].startswith("<div>")
    record["password"] = "Long-enough-1"
    assert len(await moodle.call("core_user_create_users", {"users": [record]})) == 1


async def test_the_client_sends_a_password_secret_and_never_shows_it(moodle: MoodleTarget) -> None:
    """The password of a NewUser is a Secret: revealed only in the request body."""
    password = Secret("Very-secret-9")
    record = new_user(moodle, "secret", password=password)
    assert "Very-secret-9" not in repr(record)
    async with moodle.client() as client:
        result = await client.create_users([record])
    assert len(result.confirmed) == 1
    if moodle.site is not None:
        assert moodle.site.user_by_username(record.username).password == "Very-secret-9"  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["UpperCase", "with space"])
async def test_usernames_must_be_lowercase_without_spaces_on_create_update_and_lookup(
    moodle: MoodleTarget, bad: str
) -> None:
    """ "Usernames must be lowercase: an uppercase one is rejected (not lowercased) on create,
    update, and lookup by username. Spaces are rejected; @ and . pass." """
    answer = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "x", username=bad)]}
    )
    assert answer["errorcode"] == "invalidparameter"
    answer = await moodle.call(
        "core_user_get_users_by_field", {"field": "username", "values": [bad]}
    )
    assert answer["errorcode"] == "invalidparameter"
    good = await moodle.call("core_user_create_users", {"users": [user(moodle, "fine")]})
    answer = await moodle.call(
        "core_user_update_users", {"users": [{"id": good[0]["id"], "username": bad}]}
    )
    assert answer["errorcode"] == "invalidparameter"


async def test_at_sign_and_dot_pass_in_usernames(moodle: MoodleTarget) -> None:
    """ "Spaces are rejected; @ and . pass." """
    name = moodle.username("jean.dupont@ac-test.fr")
    answer = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "at", username=name)]}
    )
    assert answer[0]["username"] == name


async def test_email_uniqueness_ignores_case_on_create_but_lookup_by_email_does_not(
    moodle: MoodleTarget,
) -> None:
    """ "Email uniqueness is checked case-insensitively on create, but
    core_user_get_users_by_field with field=email is case-sensitive." """
    await moodle.call("core_user_create_users", {"users": [user(moodle, "mail")]})
    upper = moodle.email("mail").upper()
    answer = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "mail2", email=upper)]}
    )
    assert answer["errorcode"] == "invalidparameter"
    found = await moodle.call("core_user_get_users_by_field", {"field": "email", "values": [upper]})
    assert found == []
    found = await moodle.call(
        "core_user_get_users_by_field", {"field": "email", "values": [moodle.email("mail")]}
    )
    assert len(found) == 1


async def test_idnumber_is_not_unique(moodle: MoodleTarget) -> None:
    """ "idnumber is not unique in Moodle: duplicates are accepted." """
    idnumber = f"{moodle.prefix}-same"
    answer = await moodle.call(
        "core_user_create_users",
        {"users": [user(moodle, "id1", idnumber=idnumber), user(moodle, "id2", idnumber=idnumber)]},
    )
    assert len(answer) == 2
    async with moodle.client() as client:
        found = await client.get_users_by_field("idnumber", [idnumber])
    assert len(found) == 2


async def test_custom_profile_fields_unknown_ignored_empty_vanishes_no_data_no_key(
    moodle: MoodleTarget,
) -> None:
    """ "Custom profile fields travel as customfields[i][type]=<shortname>,
    customfields[i][value]=…. An unknown shortname is silently ignored. A field set to ""
    vanishes from lookups; a user with no profile data has no customfields key at all." """
    if not moodle.profile_fields:
        pytest.skip("set FARM_MOODLE_PROFILE_FIELDS to the site's profile field shortnames")
    field = moodle.profile_fields[0]
    created = await moodle.call(
        "core_user_create_users",
        {
            "users": [
                user(
                    moodle,
                    "cf",
                    customfields=[
                        {"type": field, "value": "0750001A"},
                        {"type": "nosuchfield", "value": "x"},
                    ],
                ),
                user(moodle, "nocf"),
            ]
        },
    )
    ids = [str(c["id"]) for c in created]
    found = await moodle.call("core_user_get_users_by_field", {"field": "id", "values": ids})
    by_name = {u["username"]: u for u in found}
    with_field = by_name[moodle.username("cf")]
    assert [(f["shortname"], f["value"]) for f in with_field["customfields"]] == [
        (field, "0750001A")
    ]
    assert "customfields" not in by_name[moodle.username("nocf")]
    await moodle.call(
        "core_user_update_users",
        {"users": [{"id": created[0]["id"], "customfields": [{"type": field, "value": ""}]}]},
    )
    found = await moodle.call("core_user_get_users_by_field", {"field": "id", "values": ids[:1]})
    assert "customfields" not in found[0]


async def test_update_users_warns_per_item_and_applies_the_valid_ones(moodle: MoodleTarget) -> None:
    """ "core_user_update_users is not all-or-nothing: it answers {"warnings": [...]}
    (invaliduserid, useremailduplicate, …) and applies the valid items." """
    created = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "up1"), user(moodle, "up2")]}
    )
    first, second = created[0]["id"], created[1]["id"]
    answer = await moodle.call(
        "core_user_update_users",
        {
            "users": [
                {"id": first, "firstname": "Renamed"},
                {"id": 99999999, "firstname": "Ghost"},
                {"id": second, "email": moodle.email("up1")},
            ]
        },
    )
    codes = sorted(w["warningcode"] for w in answer["warnings"])
    assert codes == ["invaliduserid", "useremailduplicate"]
    async with moodle.client() as client:
        renamed = await client.get_users_by_field("id", [str(first)])
        assert renamed[0].firstname == "Renamed"
        result = await client.update_users(
            [UserUpdate(id=first, lastname="Durand"), UserUpdate(id=99999999, lastname="X")]
        )
    assert [c.item.id for c in result.confirmed] == [first]
    assert result.failed[0].item.id == 99999999
    assert result.failed[0].error.errorcode == "invaliduserid"


async def test_a_type_error_in_any_update_item_fails_the_whole_call(moodle: MoodleTarget) -> None:
    """ "A type error in any item (uppercase username) still fails the whole call." """
    created = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "ty1"), user(moodle, "ty2")]}
    )
    answer = await moodle.call(
        "core_user_update_users",
        {
            "users": [
                {"id": created[0]["id"], "firstname": "Changed"},
                {"id": created[1]["id"], "username": "UPPER"},
            ]
        },
    )
    assert answer["errorcode"] == "invalidparameter"
    async with moodle.client() as client:
        unchanged = await client.get_users_by_field("id", [str(created[0]["id"])])
        assert unchanged[0].firstname == "Jeanne"
        # The client isolates the bad item and still applies the good one.
        result = await client.update_users(
            [
                UserUpdate(id=created[0]["id"], firstname="Changed"),
                UserUpdate(id=created[1]["id"], username="UPPER"),
            ]
        )
        changed = await client.get_users_by_field("id", [str(created[0]["id"])])
    assert changed[0].firstname == "Changed"
    assert [f.item.id for f in result.failed] == [created[1]["id"]]


async def test_delete_users_is_all_or_nothing_admin_stays_and_usernames_free_at_once(
    moodle: MoodleTarget,
) -> None:
    """ "core_user_delete_users is all-or-nothing; one missing or already deleted id fails it.
    The admin cannot be deleted. A deleted username can be reused at once." """
    created = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "del1"), user(moodle, "del2")]}
    )
    ids = [c["id"] for c in created]
    answer = await moodle.call("core_user_delete_users", {"userids": [ids[0], 99999999]})
    assert "errorcode" in answer
    assert (
        len(
            await moodle.call(
                "core_user_get_users_by_field", {"field": "id", "values": [str(ids[0])]}
            )
        )
        == 1
    )
    assert await moodle.call("core_user_delete_users", {"userids": [ids[0]]}) is None
    answer = await moodle.call("core_user_delete_users", {"userids": [ids[0]]})
    assert "errorcode" in answer
    if moodle.site is not None:
        answer = await moodle.call("core_user_delete_users", {"userids": [2]})
        assert answer["errorcode"] == "useradminodelete"
    again = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "del1", email=moodle.email("del1b"))]}
    )
    assert again[0]["username"] == moodle.username("del1")
    async with moodle.client() as client:
        result = await client.delete_users([ids[1], 99999999, ids[0]])
    assert [c.item for c in result.confirmed] == [ids[1]]
    assert sorted(f.item for f in result.failed) == sorted([99999999, ids[0]])


async def test_get_users_by_field_needs_a_value_and_rejects_unknown_fields(
    moodle: MoodleTarget,
) -> None:
    """ "core_user_get_users_by_field needs at least one value; an unknown field is a
    codingerror." """
    answer = await moodle.call("core_user_get_users_by_field", {"field": "id"})
    assert answer["errorcode"] == "invalidparameter"
    answer = await moodle.call(
        "core_user_get_users_by_field", {"field": "city", "values": ["Paris"]}
    )
    assert answer["errorcode"] == "codingerror"


async def test_get_users_combines_criteria_with_and_and_percent_is_an_email_wildcard(
    moodle: MoodleTarget,
) -> None:
    """ "core_user_get_users combines criteria with AND; % is a wildcard in email." """
    await moodle.call(
        "core_user_create_users",
        {"users": [user(moodle, "w1"), user(moodle, "w2", lastname="Other")]},
    )
    async with moodle.client() as client:
        both = await client.find_users({"email": f"%@{moodle.prefix}.example.org"})
        one = await client.find_users(
            {"email": f"%@{moodle.prefix}.example.org", "lastname": "Other"}
        )
    assert sorted(u.username for u in both) == [moodle.username("w1"), moodle.username("w2")]
    assert [u.username for u in one] == [moodle.username("w2")]


async def test_suspension_is_the_suspended_field_of_update_users(moodle: MoodleTarget) -> None:
    """ "Suspension is the suspended field of update_users." """
    async with moodle.client() as client:
        created = await client.create_users([new_user(moodle, "susp")])
        user_id = created.confirmed[0].id
        assert user_id is not None
        await client.suspend_users([user_id])
        assert (await client.get_users_by_field("id", [str(user_id)]))[0].suspended
        await client.revive_users([user_id])
        assert not (await client.get_users_by_field("id", [str(user_id)]))[0].suspended
