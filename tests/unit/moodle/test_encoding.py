"""The request encoding and error classification, without any server."""

from __future__ import annotations

from farm.moodle.encoding import encode, field_count
from farm.moodle.errors import (
    FunctionNotAvailable,
    InvalidToken,
    RecordError,
    SiteError,
    UnknownError,
    classify,
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
    assert field_count({"users": [{"a": 1, "b": [1, 2]}, {"c": None}]}) == 3


def test_booleans_become_1_and_0_and_secrets_are_revealed_only_in_the_body() -> None:
    assert encode({"on": True, "off": False, "password": Secret("pw")}) == [
        ("on", "1"),
        ("off", "0"),
        ("password", "pw"),
    ]


def test_errors_are_classified_by_exception_class_and_errorcode_family() -> None:
    def sort(answer: dict[str, str]) -> type:
        return type(classify(answer, site="s", function="f", token=TOKEN))

    assert (
        sort({"exception": "moodle_exception", "errorcode": "invalidtoken", "message": ""})
        is InvalidToken
    )
    assert (
        sort(
            {
                "exception": "webservice_access_exception",
                "errorcode": "accessexception",
                "message": "",
            }
        )
        is FunctionNotAvailable
    )
    assert (
        sort(
            {
                "exception": "dml_missing_record_exception",
                "errorcode": "invalidrecord",
                "message": "Can't find data record in database table external_functions.",
            }
        )
        is FunctionNotAvailable
    )
    for code in ("invalidrecordunknown", "invaliduser"):
        assert (
            sort({"exception": "dml_missing_record_exception", "errorcode": code, "message": ""})
            is RecordError
        )
    assert (
        sort(
            {
                "exception": "invalid_parameter_exception",
                "errorcode": "invalidparameter",
                "message": "",
            }
        )
        is RecordError
    )
    assert (
        sort({"exception": "moodle_exception", "errorcode": "sitemaintenance", "message": ""})
        is SiteError
    )
    assert (
        sort({"exception": "coding_exception", "errorcode": "codingerror", "message": ""})
        is UnknownError
    )


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
