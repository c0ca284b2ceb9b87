"""The farm's logs: one setup for every command, structlog for ours and the standard library's.

:func:`configure_logs` sends every log line to stderr, whoever writes it
(farm code through structlog, httpx, zeep or uvicorn through ``logging``):

- readable, coloured lines when stderr is a terminal;
- JSON lines, one object per event, with ``--log-json``, with
  ``FARM_LOG_JSON=1``, or whenever stderr is not a terminal (cron, systemd,
  a pipe), so batch runs are machine-readable by default.

The level comes from the caller, else ``FARM_LOG_LEVEL`` (``debug``,
``info``, ``warning``...), else ``warning``. A retry is one INFO line of
the adapter's (and a DEBUG one with its wait), never stamina's own warnings. Context bound with
:func:`bind_task` (or ``structlog.contextvars.bound_contextvars``: run, site,
tenant, task) appears on every line logged inside it, in that task only.

Secrets never reach the output: tracebacks are plain text without local
variables, a :class:`~farm.secrets.Secret` prints as
its mask, and any value logged under a key naming a secret (``token``,
``password``, ``secret``, ``authorization``...) is replaced by ``***``,
including in ``logging`` calls from other libraries that pass dicts.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from farm.secrets import Secret

if TYPE_CHECKING:
    from stamina.instrumentation import RetryDetails

#: Words that make a key's value a secret, wherever they appear in the key.
SECRET_WORDS: Final = ("token", "password", "passwd", "secret", "authorization", "api_key")
MASK: Final = "***"

#: ``token=…`` or ``password=…`` inside a message (a URL's query string, say).
_IN_TEXT: Final = re.compile(r"(?i)((?:ws)?token|password|passwd|secret)=([^&\s\"']+)")

#: Libraries chatty at INFO (a line per HTTP request, per schema check): kept at WARNING.
_CHATTY: Final = ("httpx", "httpcore", "zeep", "uvicorn.access", "asyncio", "alembic")


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _masked(value: Any, depth: int = 0) -> Any:
    if isinstance(value, Secret):
        return repr(value)
    if depth > 4:
        return value
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and _secret_key(k) else _masked(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_masked(v, depth + 1) for v in value)
    return value


def redact_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A structlog processor: secrets out of every field (see the module docstring)."""
    for key, value in list(event.items()):
        if _secret_key(key):
            event[key] = MASK
        elif isinstance(value, str):
            event[key] = _IN_TEXT.sub(rf"\1={MASK}", value)
        else:
            event[key] = _masked(value)
    return event


def wants_json(as_json: bool | None = None, stream: TextIO | None = None) -> bool:
    """Whether logs should be JSON lines: asked for, ``FARM_LOG_JSON``, or not a terminal."""
    if as_json is not None:
        return as_json
    env = os.environ.get("FARM_LOG_JSON", "").strip().lower()
    if env in ("1", "true", "yes"):
        return True
    if env in ("0", "false", "no"):
        return False
    return not (stream or sys.stderr).isatty()


def level_of(level: int | str | None) -> int:
    """A logging level from a number, a name, ``FARM_LOG_LEVEL``, or WARNING."""
    if isinstance(level, int):
        return level
    name = (level or os.environ.get("FARM_LOG_LEVEL") or "warning").strip().upper()
    found = logging.getLevelNamesMapping().get(name)
    if found is None:
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
    return found


def configure_logs(
    *,
    as_json: bool | None = None,
    level: int | str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Set up structlog and the standard library's logging for this process (idempotent)."""
    out = stream or sys.stderr
    json_lines = wants_json(as_json, out)
    threshold = level_of(level)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        # Plain tracebacks: rich's pretty ones show local variables, where secrets live.
        else structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # A text traceback, never structlog's dict one: that one carries local variables.
            *([structlog.processors.format_exc_info] if json_lines else []),
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.set_name("farm")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "farm"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(threshold, logging.WARNING))
    # Imported here: `farm --help` never configures logs, and stays light.
    from stamina.instrumentation import set_on_retry_hooks

    set_on_retry_hooks([log_retry])


def log_retry(details: RetryDetails) -> None:
    """A DEBUG line per retry (attempt, wait), instead of stamina's own WARNING.

    stamina's hook logs ``stamina.retry_scheduled`` at WARNING with the
    retried call's arguments: a pre-flight of twenty flaky sites flooded the
    terminal with them (issue 19), and arguments are no business of a log.
    The adapters say what failed in a line of their own at INFO (the Moodle
    session: ``moodle call failed, will retry``, naming the site, the
    function and why); a retry that fails for good is the caller's error to
    report. ``FARM_LOG_LEVEL=info`` (the scheduler's level) shows the
    adapters' lines, ``debug`` these too.
    """
    error = details.caused_by
    structlog.get_logger("farm.retry").debug(
        f"retrying after {type(error).__name__}",
        attempt=details.retry_num + 1,
        wait_seconds=round(details.wait_for, 2),
        error=str(error)[:200],
    )


@contextmanager
def bind_task(**context: Any) -> Iterator[None]:
    """Bind ``context`` (run, site, tenant, task...) to every line logged inside, then unbind."""
    values: MutableMapping[str, Any] = {k: v for k, v in context.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**values):
        yield
