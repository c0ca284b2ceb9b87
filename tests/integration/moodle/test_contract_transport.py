"""Contract: MOODLE-WS.md, sections "Transport" and "Silent truncation".

Each test quotes the line it checks. They run against the simulator and,
when FARM_MOODLE_URL/FARM_MOODLE_TOKEN are set, against a real Moodle.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from farm.moodle import (
    AnswerMismatch,
    BatchResult,
    FunctionNotAvailable,
    InvalidToken,
    MoodleLimits,
    MoodleUser,
    NewCohort,
    NewUser,
    RecordError,
)
from farm.secrets import Secret
from tests.fixtures.moodle import MoodleTarget


async def test_endpoint_answers_json_with_the_format_parameter_and_xml_without(
    moodle: MoodleTarget,
) -> None:
    """ "Endpoint POST {wwwroot}/webservice/rest/server.php, form-encoded, with wstoken,
    wsfunction, moodlewsrestformat=json. Without the format parameter the answer is XML." """
    as_json = await moodle.post("core_webservice_get_site_info")
    assert as_json.headers["content-type"].startswith("application/json")
    assert "release" in as_json.json()
    as_xml = await moodle.post("core_webservice_get_site_info", json=False)
    assert as_xml.text.lstrip().startswith("<?xml")
    assert "<RESPONSE>" in as_xml.text


async def test_bracket_names_carry_nested_lists(moodle: MoodleTarget) -> None:
    """ "Arrays use PHP bracket names: users[0][username]=…, users[0][customfields][0][type]=…,
    values[0]=…, userids[0]=…" """
    user = {
        "username": moodle.username("brackets"),
        "firstname": "Ada",
        "lastname": "Byron",
        "email": moodle.email("brackets"),
        "createpassword": True,
    }
    created = await moodle.call("core_user_create_users", {"users": [user]})
    assert created[0]["username"] == user["username"]
    found = await moodle.call(
        "core_user_get_users_by_field", {"field": "id", "values": [str(created[0]["id"])]}
    )
    assert found[0]["email"] == user["email"]


@pytest.mark.parametrize("text", ["true", "false"])
async def test_booleans_are_1_or_0_and_the_strings_true_false_are_rejected(
    moodle: MoodleTarget, text: str
) -> None:
    """ "Booleans are 1/0; the strings true/false are rejected." """
    answer = await moodle.call(
        "core_user_create_users",
        {
            "users": [
                {
                    "username": moodle.username("bool"),
                    "firstname": "B",
                    "lastname": "L",
                    "email": moodle.email("bool"),
                    "createpassword": text,
                }
            ]
        },
    )
    assert answer["errorcode"] == "invalidparameter"


async def test_errors_are_http_200_json_and_debuginfo_appears_only_with_debugging(
    moodle: MoodleTarget,
) -> None:
    """ "Errors come back with HTTP 200 and a JSON object {"exception": …, "errorcode": …,
    "message": …}; debuginfo is added only when the site runs with debugging on, and it is
    the only place that names the offending value. With debugging off almost every
    validation failure is invalidparameter / "Invalid parameter value detected"." """
    params = {"field": "username", "values": ["UPPER"]}
    if moodle.site is not None:
        moodle.site.debug = False
    response = await moodle.post("core_user_get_users_by_field", params)
    assert response.status_code == 200
    answer = response.json()
    assert {"exception", "errorcode", "message"} <= set(answer)
    assert answer["errorcode"] == "invalidparameter"
    if moodle.site is None and "debuginfo" in answer:
        # A real site with debugging on: the value shows, in debuginfo.
        assert "UPPER" in answer["debuginfo"]
        return
    assert answer == {
        "exception": "core\\exception\\invalid_parameter_exception",
        "errorcode": "invalidparameter",
        "message": "Invalid parameter value detected",
    }
    if moodle.site is None:
        return
    moodle.site.debug = True
    answer = (await moodle.post("core_user_get_users_by_field", params)).json()
    assert "UPPER" in answer["debuginfo"]
    assert "UPPER" not in answer["message"]


async def test_exception_classes_are_namespaced_and_json_escaped_some_stay_bare(
    moodle: MoodleTarget,
) -> None:
    """ "(checked again) Exception class names are namespaced in 5.0 and arrive JSON-escaped:
    "exception": "core\\\\exception\\\\invalid_parameter_exception" (so
    core\\exception\\invalid_parameter_exception once decoded), and
    core\\exception\\moodle_exception for a bad token. Some classes still come bare
    (dml_missing_record_exception, webservice_access_exception). A client that matches only the
    bare name invalid_parameter_exception treats every record refusal as an unknown error and
    stops the whole site: match on the last segment after the final backslash, and on
    errorcode." """
    response = await moodle.post("core_user_get_users_by_field", {"field": "id", "values": ["x"]})
    # On the wire each backslash is escaped; decoded, single backslashes remain.
    assert b'"core\\\\exception\\\\invalid_parameter_exception"' in response.content
    assert response.json()["exception"] == "core\\exception\\invalid_parameter_exception"
    bad = replace(moodle, token=Secret("not-a-valid-token-1111"))
    answer = await bad.call("core_webservice_get_site_info")
    assert (answer["exception"], answer["errorcode"]) == (
        "core\\exception\\moodle_exception",
        "invalidtoken",
    )
    answer = await moodle.call("core_user_delete_users", {"userids": [987654321]})
    assert answer["exception"] == "dml_missing_record_exception"
    if moodle.site is not None:
        moodle.site.tokens[moodle.token.reveal()] -= {"core_cohort_get_cohorts"}
        answer = await moodle.call("core_cohort_get_cohorts")
        assert answer["exception"] == "webservice_access_exception"
    # The client reads the last segment: a refused record is a RecordError, the site goes on.
    async with moodle.client() as client:
        result = await client.create_users(
            [_user(moodle, "ns1"), moodle.new_user("ns2", email="no-email")]
        )
    assert [c.item.username for c in result.confirmed] == [moodle.username("ns1")]
    assert isinstance(result.failed[0].error, RecordError)
    assert result.failed[0].error.errorcode == "invalidparameter"


async def test_an_unknown_user_id_changes_errorcode_with_debugging_and_both_are_record_errors(
    moodle: MoodleTarget,
) -> None:
    """ "The same failure can carry another errorcode depending on the debug setting (an
    unknown user id: invalidrecordunknown with debug off, invaliduser with it on). Classify
    errors by exception class and errorcode families, not one exact string. A production site
    runs with debug off: that is the case to get right." """
    site = moodle.sim
    codes = []
    for debug in (False, True):
        site.debug = debug
        answer = await moodle.call("core_user_delete_users", {"userids": [987654]})
        codes.append(answer["errorcode"])
        async with moodle.client() as client:
            result = await client.delete_users([987654])
        assert isinstance(result.failed[0].error, RecordError)
    assert codes == ["invalidrecordunknown", "invaliduser"]


async def test_bad_token_is_invalidtoken_and_stops_the_site(moodle: MoodleTarget) -> None:
    """ "Bad token: errorcode invalidtoken (class core\\exception\\moodle_exception)." """
    bad = replace(moodle, token=Secret("not-a-valid-token-0000"))
    answer = await bad.call("core_webservice_get_site_info")
    assert answer["errorcode"] == "invalidtoken"
    assert answer["exception"] == "core\\exception\\moodle_exception"
    async with bad.client() as client:
        with pytest.raises(InvalidToken) as failure:
            await client.site_info()
    # The operator reads why the site stopped, never the token.
    assert "not-a-valid-token-0000" not in f"{failure.value} {failure.value!r}"


async def test_a_function_outside_the_service_is_an_access_exception(
    moodle: MoodleTarget,
) -> None:
    """ "A function that is not in the token's service: webservice_access_exception /
    accessexception." """
    site = moodle.sim
    site.tokens[moodle.token.reveal()] -= {"core_cohort_get_cohorts"}
    answer = await moodle.call("core_cohort_get_cohorts")
    assert (answer["exception"], answer["errorcode"]) == (
        "webservice_access_exception",
        "accessexception",
    )
    async with moodle.client() as client:
        with pytest.raises(FunctionNotAvailable, match="core_cohort_get_cohorts"):
            await client.get_cohorts()


MISSING_RECORD_DEBUG_OFF = {
    "exception": "dml_missing_record_exception",
    "errorcode": "invalidrecordunknown",
    "message": "Can't find data record in database.",
}


async def test_debug_off_an_unknown_function_answers_exactly_like_an_unknown_record(
    moodle: MoodleTarget,
) -> None:
    """ "(checked again) With debug off, an unknown function name and an unknown record (user
    id, cohort id, course id in delete or member calls) give the very same answer:
    dml_missing_record_exception / invalidrecordunknown / "Can't find data record in
    database." The message names no function. To know whether a function exists, use the
    function list of core_webservice_get_site_info, never the error text." """
    await moodle.require_debug_off()
    (user_id,) = [u.id for u in (await _users(moodle, "dbgoff"))]
    unknown = 987654321
    calls: list[tuple[str, dict[str, Any]]] = [
        ("core_farm_no_such_function", {}),
        ("core_user_delete_users", {"userids": [unknown]}),
        ("core_cohort_delete_cohorts", {"cohortids": [unknown]}),
        ("core_cohort_get_cohort_members", {"cohortids": [unknown]}),
        ("core_cohort_delete_cohort_members", {"members": [{"cohortid": unknown, "userid": 2}]}),
        ("core_enrol_get_enrolled_users", {"courseid": unknown}),
        ("core_group_add_group_members", {"members": [{"groupid": unknown, "userid": user_id}]}),
    ]
    for function, params in calls:
        answer = await moodle.call(function, params)
        assert answer == MISSING_RECORD_DEBUG_OFF, function
    # The client tells an unknown function by the site's function list, not by the text.
    async with moodle.client() as client:
        with pytest.raises(FunctionNotAvailable, match="core_farm_no_such_function"):
            await client.call("core_farm_no_such_function")
        result = await client.delete_users([unknown])
    assert isinstance(result.failed[0].error, RecordError)


async def test_debug_on_an_unknown_function_may_name_the_table(moodle: MoodleTarget) -> None:
    """ "(checked again) With debug off, an unknown function name and an unknown record … give
    the very same answer": with debugging on the simulator keeps the table-named variant."""
    site = moodle.sim
    site.debug = True
    answer = await moodle.call("core_farm_no_such_function")
    assert answer["exception"] == "dml_missing_record_exception"
    assert answer["errorcode"] == "invalidrecord"
    assert answer["message"] == "Can't find data record in database table external_functions."
    answer = await moodle.call("core_cohort_delete_cohorts", {"cohortids": [987654321]})
    assert answer["message"] == "Can't find data record in database table cohort."
    async with moodle.client() as client:
        with pytest.raises(FunctionNotAvailable):
            await client.call("core_farm_no_such_function")


async def test_a_function_with_no_return_value_answers_null(moodle: MoodleTarget) -> None:
    """ "A function with no return value answers the JSON literal null." """
    async with moodle.client() as client:
        cohort = await client.create_cohorts([_cohort(moodle, "null")])
        user = await client.create_users([_user(moodle, "null")])
    response = await moodle.post(
        "core_cohort_delete_cohort_members",
        {"members": [{"cohortid": cohort.ids[0], "userid": user.ids[0]}]},
    )
    assert response.text.strip() == "null"


async def test_login_token_errors_have_their_own_shape(moodle: MoodleTarget) -> None:
    """ "login/token.php errors have another shape: {error, errorcode, stacktrace, debuginfo,
    reproductionlink}." """
    async with _http(moodle) as http:
        response = await http.post(
            f"{moodle.url}/login/token.php",
            data={"username": "nobody", "password": "wrong", "service": "farm"},
        )
    answer = response.json()
    assert set(answer) == {"error", "errorcode", "stacktrace", "debuginfo", "reproductionlink"}
    assert answer["errorcode"] == "invalidlogin"


async def test_php_drops_fields_past_max_input_vars_and_a_cut_inside_a_record_misleads(
    moodle: MoodleTarget,
) -> None:
    """ "PHP drops every form field past max_input_vars (5000 by default) without an error. If
    the cut falls inside a record, the call fails with a misleading "missing key" or "must
    provide a password"" """
    site = moodle.sim
    site.debug = True
    site.max_input_vars = 3 + 5 * 2 + 2  # two users and a half, of five fields each
    users = [_user_params(moodle, f"cut{i}") for i in range(3)]
    answer = await moodle.call("core_user_create_users", {"users": users})
    assert answer["errorcode"] == "invalidparameter"
    assert "Missing required key" in answer["debuginfo"]
    # Cut just before the third user's createpassword: a password seems to be missing.
    site.max_input_vars = 3 + 5 * 2 + 4
    answer = await moodle.call("core_user_create_users", {"users": users})
    assert answer["errorcode"] == "invalidparameter"
    assert "you must provide a password, or set createpassword" in answer["debuginfo"]
    assert site.live_users() == []
    assert site.dropped_fields == [3, 1]


async def test_a_probe_measures_how_many_form_fields_a_site_keeps(moodle: MoodleTarget) -> None:
    """ "PHP drops every form field past max_input_vars (5000 by default) without an error."
    No error says where the limit is: a lookup of the token's own user id, sent as the last of
    n form fields, finds it only while n fields are kept."""
    userid = (await moodle.call("core_webservice_get_site_info"))["userid"]

    async def kept(total: int) -> bool:
        # wstoken, wsfunction, moodlewsrestformat and field come first, then the values.
        values = ["0"] * (total - 5) + [str(userid)]
        answer = await moodle.call(
            "core_user_get_users_by_field", {"field": "id", "values": values}
        )
        return isinstance(answer, list) and any(u["id"] == userid for u in answer)

    async def limit() -> int:
        low, high = 10, 1000
        assert await kept(low)
        while await kept(high):
            low, high = high, high * 2
            if high > 20000:
                return low  # keeps at least this many: enough for any client setting
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if await kept(middle) else (low, middle)
        return low

    measured = await limit()
    # The client's default stays under what the site keeps.
    assert MoodleLimits().form_fields_per_request < measured
    if moodle.site is not None:
        assert measured == 5000
        moodle.site.max_input_vars = 1234
        assert await limit() == 1234


async def test_a_cut_on_a_record_boundary_creates_fewer_records_with_http_200(
    moodle: MoodleTarget,
) -> None:
    """ "if it falls on a record boundary, the call succeeds with fewer records (800 users
    sent, 714 created, HTTP 200)." """
    site = moodle.sim
    site.max_input_vars = 3 + 5 * 7
    users = [_user_params(moodle, f"edge{i}") for i in range(8)]
    response = await moodle.post("core_user_create_users", {"users": users})
    assert response.status_code == 200
    assert len(response.json()) == 7
    assert len(site.live_users()) == 7


async def test_the_client_caps_form_fields_per_request(moodle: MoodleTarget) -> None:
    """ "The client must cap the number of form fields per request (configurable per site,
    default well under 5000)" """
    site = moodle.sim
    site.max_input_vars = 120
    limits = MoodleLimits(form_fields_per_request=100, records_per_batch=100)
    users = [_user(moodle, f"cap{i}") for i in range(60)]
    async with moodle.client(limits) as client:
        result = await client.create_users(users)
    assert len(result.confirmed) == 60
    assert site.dropped_fields == []
    # Seven fields per user: 13 users fit in the 97 fields left after the three header fields.
    assert site.calls["core_user_create_users"] == 5
    assert MoodleLimits().form_fields_per_request < 5000


async def test_a_short_answer_is_an_error_never_a_silent_loss(moodle: MoodleTarget) -> None:
    """ "and check that every answer names as many records as were sent." """
    site = moodle.sim
    site.max_input_vars = 3 + 7 * 10  # ten users of seven fields: fewer than the client sends
    limits = MoodleLimits(form_fields_per_request=250)
    seen: list[BatchResult[NewUser]] = []

    async def record(batch: BatchResult[NewUser]) -> None:
        seen.append(batch)

    async with moodle.client(limits) as client:
        with pytest.raises(AnswerMismatch, match="max_input_vars") as caught:
            await client.create_users(
                [_user(moodle, f"short{i}") for i in range(30)], on_batch=record
            )
    created = {u.username for u in site.live_users()}
    confirmed = {c.item.username for batch in seen for c in batch.confirmed}
    assert confirmed == created
    assert len(created) == 10
    assert "form_fields_per_request" in str(caught.value)


def _user_params(moodle: MoodleTarget, name: str) -> dict[str, object]:
    return {
        "username": moodle.username(name),
        "firstname": "F",
        "lastname": "L",
        "email": moodle.email(name),
        "createpassword": True,
    }


async def _users(moodle: MoodleTarget, *names: str) -> list[MoodleUser]:
    async with moodle.client() as client:
        await client.create_users([_user(moodle, n) for n in names])
        return await client.get_users_by_field("username", [moodle.username(n) for n in names])


def _user(moodle: MoodleTarget, name: str) -> NewUser:
    return moodle.new_user(name, firstname="First", lastname="Last")


def _cohort(moodle: MoodleTarget, name: str) -> NewCohort:
    return NewCohort(idnumber=f"{moodle.prefix}-{name}", name=f"Cohort {name}")


def _http(moodle: MoodleTarget) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=moodle.transport, timeout=30)
