"""Contract: MOODLE-WS.md, section "Users". Each test quotes the line it checks."""

from __future__ import annotations

from typing import Any

import pytest

from farm.moodle import NewUser, RecordError, UserUpdate
from farm.secrets import Secret
from farm.simulators.moodle import PASSWORD_NOT_CACHED
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
    return moodle.new_user(name, **{"firstname": "Jeanne", "lastname": "Martin", **extra})


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


@pytest.mark.parametrize("missing", ["username", "firstname", "lastname", "email"])
async def test_username_names_and_email_are_required(moodle: MoodleTarget, missing: str) -> None:
    """ "Required: username, firstname, lastname, email." """
    record = user(moodle, "req")
    del record[missing]
    answer = await moodle.call("core_user_create_users", {"users": [record]})
    assert answer["errorcode"] == "invalidparameter"
    assert "id" not in answer


async def test_auth_defaults_to_manual_disabled_plugins_pass_unknown_ones_fail(
    moodle: MoodleTarget,
) -> None:
    """ "auth defaults to manual; an installed plugin is accepted even when disabled, an
    unknown one is rejected as invalidparameter with no detail." """
    created = await moodle.call(
        "core_user_create_users",
        {
            "users": [
                user(moodle, "dflt"),
                user(moodle, "ldap", auth="ldap"),
                user(moodle, "nologin", auth="nologin"),
            ]
        },
    )
    found = await moodle.call(
        "core_user_get_users_by_field", {"field": "id", "values": [str(c["id"]) for c in created]}
    )
    assert sorted(u["auth"] for u in found) == ["ldap", "manual", "nologin"]
    if moodle.site is not None:
        assert "ldap" not in moodle.site.auth_enabled
        moodle.site.debug = False
    answer = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "nope", auth="nosuchauth")]}
    )
    assert answer["errorcode"] == "invalidparameter"
    if not await moodle.debugging():
        assert answer == {
            "exception": "core\\exception\\invalid_parameter_exception",
            "errorcode": "invalidparameter",
            "message": "Invalid parameter value detected",
        }


async def test_stock_moodle_5_has_no_cas_and_refuses_every_record_of_a_cas_batch(
    moodle: MoodleTarget,
) -> None:
    """ "(checked again) Moodle 5.0 no longer ships auth_cas in core: its stock auth plugins are
    email, ldap, lti, manual, nologin, none, oauth2, shibboleth and webservice. auth=cas is
    refused unless the site installed the CAS plugin separately, and every record of the batch
    fails with the same opaque invalidparameter. Which auth plugins a site has cannot be listed
    through the stock web services; a probe (one create refused for its auth alone) tells." """
    site = moodle.sim
    assert site.auth_installed == {
        "email",
        "ldap",
        "lti",
        "manual",
        "nologin",
        "none",
        "oauth2",
        "shibboleth",
        "webservice",
    }
    batch = [user(moodle, f"cas{i}", auth="cas") for i in range(3)]
    answer = await moodle.call("core_user_create_users", {"users": batch})
    assert answer == {
        "exception": "core\\exception\\invalid_parameter_exception",
        "errorcode": "invalidparameter",
        "message": "Invalid parameter value detected",
    }
    async with moodle.client() as client:
        result = await client.create_users(
            [new_user(moodle, f"cas{i}", auth="cas") for i in range(3)]
        )
    assert result.confirmed == []
    assert [f.error.errorcode for f in result.failed] == ["invalidparameter"] * 3
    assert all(isinstance(f.error, RecordError) for f in result.failed)
    assert site.live_users() == []
    # The probe: the same record with auth=manual goes in, so the auth alone was refused.
    probe = user(moodle, "probe")
    assert len(await moodle.call("core_user_create_users", {"users": [probe]})) == 1
    # A site that installed CAS takes the batch.
    site.auth_installed.add("cas")
    created = await moodle.call("core_user_create_users", {"users": batch})
    assert [c["username"] for c in created] == [b["username"] for b in batch]


async def test_the_stock_external_auths_are_accepted_on_any_site(moodle: MoodleTarget) -> None:
    """ "its stock auth plugins are email, ldap, lti, manual, nologin, none, oauth2, shibboleth
    and webservice": every one an SSO account may use is accepted on create."""
    auths = ["ldap", "oauth2", "shibboleth", "lti", "none", "email", "nologin"]
    created = await moodle.call(
        "core_user_create_users",
        {"users": [user(moodle, f"st{a}", auth=a) for a in auths]},
    )
    assert len(created) == len(auths)


async def test_the_other_internal_auths_need_a_password_too(moodle: MoodleTarget) -> None:
    """Beside the page's "only auth=manual needs password or createpassword=1": a real 5.0.6+
    refuses email and nologin accounts without a password as well (their plugins are internal),
    and takes oauth2 without one."""
    bare = {k: v for k, v in user(moodle, "x").items() if k != "createpassword"}
    for auth in ("email", "nologin"):
        item = {**bare, "username": moodle.username(auth), "email": moodle.email(auth)}
        answer = await moodle.call("core_user_create_users", {"users": [{**item, "auth": auth}]})
        assert answer["errorcode"] == "invalidparameter", auth
    sso = {**bare, "username": moodle.username("o2"), "email": moodle.email("o2"), "auth": "oauth2"}
    (created,) = await moodle.call("core_user_create_users", {"users": [sso]})
    assert created["username"] == sso["username"]


async def test_only_manual_accounts_need_a_password_external_ones_get_not_cached(
    moodle: MoodleTarget,
) -> None:
    """ "(checked again) Passwords: only auth=manual needs password or createpassword=1. For an
    external auth (ldap, oauth2, shibboleth, cas…) neither is needed: the account is created
    with the password "not cached". createpassword=1 makes Moodle generate a password, e-mail
    it to the person and force a password change at next login: for single-sign-on accounts of
    pupils and staff that is a mass mailing nobody wants." """
    bare = {k: v for k, v in user(moodle, "man").items() if k != "createpassword"}
    answer = await moodle.call("core_user_create_users", {"users": [bare]})
    assert answer["errorcode"] == "invalidparameter"
    if moodle.site is not None:
        moodle.site.debug = True
        answer = await moodle.call("core_user_create_users", {"users": [bare]})
        assert answer["debuginfo"] == (
            "Invalid password: you must provide a password, or set createpassword."
        )
    sso = [
        {**bare, "username": moodle.username(a), "email": moodle.email(a), "auth": a}
        for a in ("ldap", "oauth2", "shibboleth")
    ]
    created = await moodle.call("core_user_create_users", {"users": sso})
    assert [c["username"] for c in created] == [s["username"] for s in sso]
    async with moodle.client() as client:
        result = await client.create_users(
            [new_user(moodle, "cl", auth="ldap"), new_user(moodle, "cm")]
        )
    assert len(result.confirmed) == 2
    if moodle.site is None:
        return
    site = moodle.site
    for name in ("ldap", "oauth2", "shibboleth"):
        account = site.user_by_username(moodle.username(name))
        assert account is not None
        assert (account.password, account.password_emailed) == (PASSWORD_NOT_CACHED, False)
    # createpassword=1 mails the person, whatever the auth.
    mailed = await moodle.call(
        "core_user_create_users",
        {"users": [user(moodle, "mailed"), user(moodle, "mailedsso", auth="ldap")]},
    )
    assert [site.users[m["id"]].password_emailed for m in mailed] == [True, True]
    assert site.users[mailed[0]["id"]].password is None
    # An external account keeps no password, even one that was sent.
    sent = {**bare, "username": moodle.username("sent"), "email": moodle.email("sent")}
    created = await moodle.call(
        "core_user_create_users", {"users": [{**sent, "auth": "ldap", "password": "x"}]}
    )
    assert site.users[created[0]["id"]].password == PASSWORD_NOT_CACHED


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
    """ "Email uniqueness is checked case-insensitively on create (unless the site sets
    allowaccountssameemail), but core_user_get_users_by_field with field=email is
    case-sensitive." """
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
    if moodle.site is None:
        return
    moodle.site.allowaccountssameemail = True
    created = await moodle.call(
        "core_user_create_users",
        {"users": [user(moodle, "mail2", email=upper), user(moodle, "mail3", email=upper)]},
    )
    assert len(created) == 2


async def test_shared_placeholder_addresses_create_only_the_first_account(
    moodle: MoodleTarget,
) -> None:
    """ "Real directories share placeholder addresses (GIP RECIA's public test directory gives
    four staff members noreply@ac-rennes.fr): only the first account is created, and the batch
    refusal names only the first offender." """
    placeholder = moodle.email("noreply")
    staff = [user(moodle, f"staff{i}", email=placeholder) for i in range(4)]
    answer = await moodle.call("core_user_create_users", {"users": staff})
    assert answer["errorcode"] == "invalidparameter"
    if moodle.site is not None:
        moodle.site.debug = True
        answer = await moodle.call("core_user_create_users", {"users": staff})
        assert answer["debuginfo"] == f"Email address already exists: {placeholder}"
    async with moodle.client() as client:
        result = await client.create_users(
            [new_user(moodle, f"staff{i}", email=placeholder) for i in range(4)]
        )
        found = await client.get_users_by_field("email", [placeholder])
    assert len(result.confirmed) == 1
    assert len(result.failed) == 3
    assert all(f.error.errorcode == "invalidparameter" for f in result.failed)
    assert [u.username for u in found] == [result.confirmed[0].item.username]


async def test_a_value_longer_than_its_column_refuses_the_whole_batch(
    moodle: MoodleTarget,
) -> None:
    """Not a line of MOODLE-WS.md: Moodle's user table holds username, firstname, lastname and
    email in 100 characters, idnumber in 255. A longer value refuses the batch (all-or-nothing),
    as a record error; the simulator answers invalidparameter."""
    too_long = [
        user(moodle, "long1", firstname="F" * 101),
        user(moodle, "long2", lastname="L" * 101),
        user(moodle, "long3", idnumber="9" * 256),
        user(moodle, "long4", email=f"{'e' * 90}@{moodle.prefix}.example.org"),
    ]
    for record in too_long:
        answer = await moodle.call(
            "core_user_create_users", {"users": [user(moodle, "longok"), record]}
        )
        assert "errorcode" in answer, record
        if moodle.site is not None:
            assert answer["errorcode"] == "invalidparameter"
    fits = user(moodle, "longfit", firstname="F" * 100, idnumber="9" * 255)
    assert len(await moodle.call("core_user_create_users", {"users": [fits]})) == 1
    async with moodle.client() as client:
        found = await client.get_users_by_field("username", [moodle.username("longok")])
        result = await client.create_users([new_user(moodle, "longcl", idnumber="9" * 256)])
    assert found == []
    assert isinstance(result.failed[0].error, RecordError)


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
    assert {w["itemid"] for w in answer["warnings"]} == {99999999, second}
    # A deleted account is warned about too, never changed.
    assert await moodle.call("core_user_delete_users", {"userids": [second]}) is None
    answer = await moodle.call(
        "core_user_update_users",
        {"users": [{"id": second, "firstname": "Back"}, {"id": first, "lastname": "Kept"}]},
    )
    assert [w["itemid"] for w in answer["warnings"]] == [second]
    if moodle.site is not None:
        assert answer["warnings"][0]["warningcode"] == "usernotupdateddeleted"
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
    assert answer["exception"] == "core\\exception\\coding_exception"


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


async def test_create_users_has_no_suspended_key(moodle: MoodleTarget) -> None:
    """Seen on a real 5.0.6+, beside "Suspension is the suspended field of update_users": a
    create that carries ``suspended`` is refused whole (no such key in create_users)."""
    item = {**user(moodle, "bornsusp"), "suspended": True}
    answer = await moodle.call("core_user_create_users", {"users": [item]})
    assert answer["errorcode"] == "invalidparameter"
    async with moodle.client() as client:
        assert await client.get_users_by_field("username", [item["username"]]) == []
