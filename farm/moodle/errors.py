"""What can go wrong when talking to a Moodle site, sorted by what the caller should do.

- :class:`SiteError`: stop writing to this site and tell the operator why (bad
  token, a function missing from the token's service, an answer that does not
  match the request, which means the site truncates requests).
- :class:`RecordError`: this record was refused; isolate it, report Moodle's
  reason, carry on with the others.
- :class:`TransientError`: transport errors, timeouts, 5xx; retried with
  backoff, raised only once the retries are spent.
- :class:`UnknownError`: anything else (a programming error, an exception
  class the farm does not know).

Moodle answers errors with HTTP 200 and ``{exception, errorcode, message}``;
errorcodes change with the site's debug setting, so :func:`classify` reads
exception classes and errorcode families, never one exact string. No error
text ever holds the token: :func:`scrub` removes it from anything that came
back from the network.
"""

from __future__ import annotations

from typing import Any

from farm.secrets import MASK, Secret

# errorcodes that mean the token or its service cannot be used on this site at all
SITE_ERRORCODES = frozenset(
    {
        "invalidtoken",
        "accessexception",
        "invalidtimedtoken",
        "servicerequireslogin",
        "servicenotavailable",
        "sitemaintenance",
        "usernotfullysetup",
        "wsaccessuserdeleted",
        "wsaccessusersuspended",
        "wsaccessusernologin",
        "wsaccessuserexpired",
        "enablewsdescription",
        "disabledwsprotocol",
    }
)
# exception classes whose failures are about the records sent
RECORD_EXCEPTIONS = frozenset(
    {
        "invalid_parameter_exception",
        "moodle_exception",
        "dml_missing_record_exception",
        "dml_write_exception",
        "invalid_response_exception",
        "required_capability_exception",
    }
)


class MoodleError(Exception):
    """A failed call to one site. ``str()`` names the site, the function and Moodle's reason."""

    def __init__(
        self,
        message: str,
        *,
        site: str,
        function: str | None = None,
        exception: str | None = None,
        errorcode: str | None = None,
        debuginfo: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.site = site
        self.function = function
        self.exception = exception
        self.errorcode = errorcode
        self.debuginfo = debuginfo
        # Set by the client when the call had been retried: a create may have happened.
        self.after_retry = False

    @property
    def reason(self) -> str:
        """Moodle's reason in one line: errorcode, message and debuginfo when present."""
        parts = [p for p in (self.errorcode, self.message) if p]
        text = ": ".join(parts)
        if self.debuginfo:
            text += f" ({self.debuginfo})"
        return text

    def __str__(self) -> str:
        where = f"site {self.site}" + (f", {self.function}" if self.function else "")
        return f"{where}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class SiteError(MoodleError):
    """The site cannot be used as configured: stop this site."""


class InvalidToken(SiteError):
    """The token is unknown, expired or its user cannot use web services."""


class FunctionNotAvailable(SiteError):
    """The function is not in the token's service, or not installed on the site."""


class AnswerMismatch(SiteError):
    """Moodle answered for other or fewer records than were sent (a truncated request).

    ``partial`` holds what the answer did confirm, which Moodle has written.
    """

    partial: object = None


class RecordError(MoodleError):
    """Moodle refused the records of this call; the reason is Moodle's."""


class TransientError(MoodleError):
    """A transport error, a timeout or a 5xx answer, still failing after the retries."""


class UnknownError(MoodleError):
    """A failure the farm cannot sort: a coding error or an unknown exception class."""


def scrub(text: str, token: Secret) -> str:
    secret = token.reveal()
    return text.replace(secret, MASK) if secret else text


def exception_name(exception: str) -> str:
    """The class name without its namespace.

    Moodle 5.0 sends namespaced classes (``core\\exception\\moodle_exception``)
    beside bare ones (``dml_missing_record_exception``): only the last segment
    says what happened.
    """
    return exception.rpartition("\\")[2]


def classify(answer: dict[str, Any], *, site: str, function: str, token: Secret) -> MoodleError:
    """Turn Moodle's exception object into the error class the caller can act on.

    Works on what a production site (debugging off) sends: the class name's
    last segment and errorcode families. Whether a function exists is never
    read from an error: with debugging off an unknown function and an unknown
    record give the same answer, so the caller asks the site's function list.
    """
    exception = str(answer.get("exception", ""))
    name = exception_name(exception)
    errorcode = str(answer.get("errorcode", ""))
    message = scrub(str(answer.get("message", "")), token)
    debuginfo = answer.get("debuginfo")
    details: dict[str, Any] = {
        "site": site,
        "function": function,
        "exception": exception,
        "errorcode": scrub(errorcode, token),
        "debuginfo": scrub(str(debuginfo), token) if debuginfo is not None else None,
    }
    if errorcode == "invalidtoken" or errorcode.startswith("invalidtimedtoken"):
        return InvalidToken(message, **details)
    if name == "webservice_access_exception" or errorcode == "accessexception":
        return FunctionNotAvailable(message, **details)
    if errorcode in SITE_ERRORCODES:
        return SiteError(message, **details)
    if name in RECORD_EXCEPTIONS:
        return RecordError(message, **details)
    return UnknownError(message, **details)
