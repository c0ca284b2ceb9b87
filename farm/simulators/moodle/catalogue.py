"""The web-service functions the simulator knows, each with its parameter description.

A handler receives the site and the validated parameters and returns what
Moodle would encode as JSON (``None`` for functions without a return value).
``counts`` tells the cost model how many records a call carries.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from farm.simulators.moodle.encoding import Single
from farm.simulators.moodle.state import Site

Handler = Callable[[Site, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: Single
    handler: Handler
    counts: str | None = None


FUNCTIONS: dict[str, Function] = {}
CALLER_FUNCTIONS: ContextVar[frozenset[str]] = ContextVar("caller_functions")
"""The functions of the calling token's service, for ``core_webservice_get_site_info``."""


def function(name: str, params: Single, counts: str | None = None) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        FUNCTIONS[name] = Function(name, params, handler, counts)
        return handler

    return register


ANSWER = "@answer"
"""``counts`` for lookups: they cost per record found, not per value asked."""


def records_in(fn: Function, params: dict[str, Any], answer: Any = None) -> int:
    if fn.counts is None:
        return 1
    value = answer if fn.counts == ANSWER else params.get(fn.counts)
    return len(value) if isinstance(value, list) else 1
