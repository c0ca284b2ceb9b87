"""Package attributes imported on first use (PEP 562).

An adapter package (``farm.moodle``, ``farm.sources.sdet``...) offers its
public names at the top, but the configuration only needs its small
settings module. Resolving the public names lazily keeps ``import
farm.moodle.settings`` from loading httpx, ldap3 or zeep, so every ``farm``
command starts quickly and only the command that talks to a service pays
for its client library.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``exports`` map names to modules."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
