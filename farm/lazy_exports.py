"""Package attributes imported on first use (PEP 562).

An adapter package (``farm.moodle``, ``farm.sources.sdet``...) offers its
public names at the top, but the configuration only needs its small
settings module. Resolving the public names lazily keeps ``import
farm.moodle.settings`` from loading httpx, ldap3 or zeep, so every ``farm``
command starts quickly and only the command that talks to a service pays
for its client library.

A package writes its face once, as a map from each of its modules to the
names that module offers::

    _EXPORTS = {"farm.moodle.client": ("MoodleClient",), ...}
    __getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

``__all__`` and the look-up both come from that map. Type checkers do not
run ``lazy_exports``, so the package also imports the same names under
``if TYPE_CHECKING:``, each as ``import Name as Name`` (an explicit
re-export); ``tests/unit/architecture/test_faces.py`` checks that block
against the map, name for name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``exports`` maps each module of the package to the public names it
    offers. A name offered by two modules raises :class:`ValueError` when
    the package is imported: the face would be ambiguous.
    """
    modules: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in modules:
                raise ValueError(
                    f"{package}: {name!r} is exported by both {modules[name]} and {module}"
                )
            modules[name] = module

    def __getattr__(name: str) -> object:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(modules)

    return __getattr__, __dir__, sorted(modules)
