"""The request encoding and error classification, without any server."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from farm.moodle.encoding import encode, form_body, item_form, list_form, quoted, quoted_params
from farm.moodle.errors import (
    FunctionNotAvailable,
    InvalidToken,
    RecordError,
    SiteError,
    UnknownError,
    classify,
    exception_name,
)
from farm.secrets import Secret

TOKEN = Secret("tok-123456")


def test_php_bracket_names_number_lists_and_nest_mappings() -> None:
    fields = encode(
        {
            "users": [
                {"username": "a", "customfields": [{"type": "uai", "value": "0750001A"}]},
                {"username": "b", "suspended": True, "idnumber": None},
            ],
            "values": ["1", "2"],
        }
    )
    assert fields == [
        ("users[0][username]", "a"),
        ("users[0][customfields][0][type]", "uai"),
        ("users[0][customfields][0][value]", "0750001A"),
        ("users[1][username]", "b"),
        ("users[1][suspended]", "1"),
        ("values[0]", "1"),
        ("values[1]", "2"),
    ]
    assert [len(item_form(u)) for u in ({"a": 1, "b": [1, 2]}, {"c": None})] == [3, 0]


def test_items_quoted_once_give_the_body_urlencode_gives_at_any_place_in_the_list() -> None:
    users = [
        {
            "username": "élève x",
            "email": "a+b@example.org",
            "customfields": [{"value": "日本 ~_.-/:?"}],
        },
        {"username": "b&c=d", "suspended": False, "idnumber": None, "password": Secret("p w%")},
    ]
    forms = [item_form(user) for user in users]
    whole = quoted(encode({"extra": "1"})) + list_form("users", forms)
    assert form_body(whole) == urlencode(encode({"extra": "1", "users": users})).encode()
    assert quoted_params({"extra": "1", "users": users}) == whole
    # The second item alone (a refused batch split in halves) is renumbered from 0.
    alone = form_body(list_form("users", forms[1:])).decode()
    assert alone == urlencode(encode({"users": users[1:]}))
    assert alone.startswith("users%5B0%5D%5Busername%5D=b%26c%3Dd&")


def test_booleans_become_1_and_0_and_secrets_are_revealed_only_in_the_body() -> None:
    assert encode({"on": True, "off": False, "password": Secret("pw")}) == [
        ("on", "1"),
        ("off", "0"),
        ("password", "pw"),
    ]


# Exact answer bodies of a Moodle 5.0.6+ with debugging off (MOODLE-WS.md), as sent on the wire.
DEBUG_OFF_ANSWERS: list[tuple[str, type]] = [
    (
        '{"exception":"core\\\\exception\\\\invalid_parameter_exception",'
        '"errorcode":"invalidparameter","message":"Invalid parameter value detected"}',
        RecordError,
    ),
    (
        '{"exception":"core\\\\exception\\\\moodle_exception","errorcode":"invalidtoken",'
        '"message":"Invalid token - token not found"}',
        InvalidToken,
    ),
    (
        '{"exception":"webservice_access_exception","errorcode":"accessexception",'
        '"message":"Access control exception"}',
        FunctionNotAvailable,
    ),
    (
        # An unknown record and an unknown function give this very answer.
        '{"exception":"dml_missing_record_exception","errorcode":"invalidrecordunknown",'
        '"message":"Can\'t find data record in database."}',
        RecordError,
    ),
    (
        '{"exception":"core\\\\exception\\\\moodle_exception","errorcode":"sitemaintenance",'
        '"message":"The site is undergoing maintenance and is currently not available"}',
        SiteError,
    ),
    (
        '{"exception":"core\\\\exception\\\\coding_exception","errorcode":"codingerror",'
        '"message":"Coding error detected, it must be fixed by a programmer: invalid field"}',
        UnknownError,
    ),
]


@pytest.mark.parametrize(("body", "expected"), DEBUG_OFF_ANSWERS)
def test_debug_off_answers_are_classified_by_class_name_and_errorcode(
    body: str, expected: type
) -> None:
    answer = json.loads(body)
    assert type(classify(answer, site="s", function="f", token=TOKEN)) is expected


def test_a_namespaced_class_is_read_by_its_last_segment() -> None:
    assert exception_name("core\\exception\\invalid_parameter_exception") == (
        "invalid_parameter_exception"
    )
    assert exception_name("dml_missing_record_exception") == "dml_missing_record_exception"


def test_debug_on_errorcodes_of_the_same_failure_sort_the_same_way() -> None:
    for code in ("invalidrecordunknown", "invaliduser"):
        answer = {"exception": "dml_missing_record_exception", "errorcode": code, "message": ""}
        assert type(classify(answer, site="s", function="f", token=TOKEN)) is RecordError


def test_a_token_echoed_by_moodle_is_scrubbed_from_the_error() -> None:
    error = classify(
        {
            "exception": "moodle_exception",
            "errorcode": "x",
            "message": "bad tok-123456",
            "debuginfo": "tok-123456",
        },
        site="s",
        function="f",
        token=TOKEN,
    )
    assert "tok-123456" not in str(error)
    assert "tok-123456" not in repr(error)
