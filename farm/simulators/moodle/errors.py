"""Moodle's error answers, as the simulator produces them.

A web-service failure is an HTTP 200 answer holding
``{"exception", "errorcode", "message"}``, plus ``debuginfo`` only when the
site runs with debugging on. Some failures change errorcode with the debug
setting (an unknown user id); :class:`WSError` carries both variants.
"""

from __future__ import annotations

from typing import Any

INVALID_PARAMETER_MESSAGE = "Invalid parameter value detected"


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
        "invalid_parameter_exception", "invalidparameter", INVALID_PARAMETER_MESSAGE, debuginfo
    )


def moodle_error(errorcode: str, message: str, debuginfo: str | None = None) -> WSError:
    return WSError("moodle_exception", errorcode, message, debuginfo)


def missing_record(table: str) -> WSError:
    return WSError(
        "dml_missing_record_exception",
        "invalidrecord",
        f"Can't find data record in database table {table}.",
    )


def unknown_user(userid: int) -> WSError:
    """Debug off hides the table, so the errorcode changes with the setting."""
    return WSError(
        "dml_missing_record_exception",
        "invalidrecordunknown",
        "Can't find data record in database.",
        f"SELECT * FROM {{user}} WHERE id = ? [array (0 => {userid})]",  # noqa: S608
        when_debug=("dml_missing_record_exception", "invaliduser", "Invalid user"),
    )


def coding_error(debuginfo: str) -> WSError:
    return WSError(
        "coding_exception",
        "codingerror",
        "Coding error detected, it must be fixed by a programmer: " + debuginfo,
        debuginfo,
    )


def invalid_token() -> WSError:
    return WSError(
        "moodle_exception",
        "invalidtoken",
        "Invalid token - token not found",
    )


def access_exception(function: str) -> WSError:
    return WSError(
        "webservice_access_exception",
        "accessexception",
        "Access control exception",
        f"Access to the function {function}() is not allowed. There could be multiple "
        "reasons for this: 1. The service linked to the user token does not contain the "
        "function.",
    )
