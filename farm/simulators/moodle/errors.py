"""Moodle's error answers, as the simulator produces them.

A web-service failure is an HTTP 200 answer holding
``{"exception", "errorcode", "message"}``, plus ``debuginfo`` only when the
site runs with debugging on. Some failures change errorcode with the debug
setting (an unknown record); :class:`WSError` carries both variants.

Moodle 5.0 sends most exception classes namespaced
(``core\\exception\\invalid_parameter_exception``: single backslashes once the
JSON is decoded); ``dml_missing_record_exception`` and
``webservice_access_exception`` still come bare.
"""

from __future__ import annotations

from typing import Any

INVALID_PARAMETER_MESSAGE = "Invalid parameter value detected"

INVALID_PARAMETER_EXCEPTION = "core\\exception\\invalid_parameter_exception"
MOODLE_EXCEPTION = "core\\exception\\moodle_exception"
CODING_EXCEPTION = "core\\exception\\coding_exception"
MISSING_RECORD_EXCEPTION = "dml_missing_record_exception"
ACCESS_EXCEPTION = "webservice_access_exception"

MISSING_RECORD_MESSAGE = "Can't find data record in database."


class WSError(Exception):
    """A failure the simulated site answers as a Moodle exception object."""

    def __init__(
        self,
        exception: str,
        errorcode: str,
        message: str,
        debuginfo: str | None = None,
        *,
        when_debug: tuple[str, str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo
        self.when_debug = when_debug

    def payload(self, debug: bool) -> dict[str, Any]:
        exception, errorcode, message = self.exception, self.errorcode, self.message
        if debug and self.when_debug is not None:
            exception, errorcode, message = self.when_debug
        answer: dict[str, Any] = {
            "exception": exception,
            "errorcode": errorcode,
            "message": message,
        }
        if debug and self.debuginfo is not None:
            answer["debuginfo"] = self.debuginfo
        return answer


def invalid_parameter(debuginfo: str) -> WSError:
    """The catch-all validation failure; only ``debuginfo`` names the value."""
    return WSError(
        INVALID_PARAMETER_EXCEPTION, "invalidparameter", INVALID_PARAMETER_MESSAGE, debuginfo
    )


def moodle_error(errorcode: str, message: str, debuginfo: str | None = None) -> WSError:
    return WSError(MOODLE_EXCEPTION, errorcode, message, debuginfo)


def missing_record(table: str, debuginfo: str | None = None) -> WSError:
    """A record looked up with MUST_EXIST is not there (or an unknown function).

    With debugging off the answer names no table, so an unknown function, user,
    cohort or course all read the same; with it on, the table shows (and an
    unknown user becomes ``invaliduser``).
    """
    if table == "user":
        debug_variant = (MISSING_RECORD_EXCEPTION, "invaliduser", "Invalid user")
    else:
        debug_variant = (
            MISSING_RECORD_EXCEPTION,
            "invalidrecord",
            f"Can't find data record in database table {table}.",
        )
    return WSError(
        MISSING_RECORD_EXCEPTION,
        "invalidrecordunknown",
        MISSING_RECORD_MESSAGE,
        debuginfo,
        when_debug=debug_variant,
    )


def unknown_user(userid: int) -> WSError:
    """An unknown or deleted user id: ``invalidrecordunknown``, ``invaliduser`` with debug on."""
    return missing_record(
        "user",
        f"SELECT * FROM {{user}} WHERE id = ? AND deleted = ? [array (0 => {userid}, 1 => 0)]",  # noqa: S608
    )


def unknown_function(name: str) -> WSError:
    """Debug off: the very answer of an unknown record; no function name in it."""
    return missing_record(
        "external_functions",
        f"SELECT * FROM {{external_functions}} WHERE name = ? [array (0 => '{name}')]",  # noqa: S608
    )


def coding_error(message: str, debuginfo: str) -> WSError:
    return WSError(
        CODING_EXCEPTION,
        "codingerror",
        "Coding error detected, it must be fixed by a programmer: " + message,
        debuginfo,
    )


def invalid_token() -> WSError:
    return WSError(
        MOODLE_EXCEPTION,
        "invalidtoken",
        "Invalid token - token not found",
    )


def access_exception(function: str) -> WSError:
    return WSError(
        ACCESS_EXCEPTION,
        "accessexception",
        "Access control exception",
        f"Access to the function {function}() is not allowed. There could be multiple "
        "reasons for this: 1. The service linked to the user token does not contain the "
        "function.",
    )
