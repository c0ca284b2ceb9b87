"""The dashboard holds the registry in two modules only (docs/architecture.md).

It reads the registry through its feed (``farm.tui.feed``, in worker
threads) and starts work only through the coordinator
(``farm.tui.commands``, which hands it the registry). Every other module of
``farm.tui`` may use the registry's values (a ``TenantReport``, a
``LeaseHeld``, ``RegistryError``) but not :class:`~farm.registry.Registry`
itself: a screen that opened or queried it would read the farm's state
beside the feed, on the event loop.

The rule reads the import graph (``graph.py``), so a type-only or
function-local import counts too; importing a module that offers
``Registry`` whole (``import farm.registry``, ``from farm.registry import
registry``) counts as taking it.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.architecture.graph import ImportGraph, in_package, read_graph

#: The modules of the dashboard that may hold the registry.
REGISTRY_HOLDERS: frozenset[str] = frozenset({"farm.tui.feed", "farm.tui.commands"})
#: The modules that offer the name ``Registry``: the face and the module behind it.
OFFERING: frozenset[str] = frozenset({"farm.registry", "farm.registry.registry"})


def registry_imports(graph: ImportGraph) -> dict[str, list[str]]:
    """Module of ``farm.tui`` -> where it takes ``Registry`` (``path:line (kind)``)."""
    found: dict[str, list[str]] = {}
    for i in graph.imports:
        if not in_package(i.importer, "farm.tui") or not in_package(i.imported, "farm.registry"):
            continue
        if "Registry" in i.names or (not i.names and i.imported in OFFERING):
            found.setdefault(i.importer, []).append(i.where())
    return found


def test_only_the_feed_and_the_commands_import_the_registry() -> None:
    strays = {
        module: places
        for module, places in registry_imports(read_graph()).items()
        if module not in REGISTRY_HOLDERS
    }
    assert not strays, (
        "the dashboard reads the registry through farm.tui.feed and starts work through "
        f"farm.tui.commands; these modules import Registry too: {strays}"
    )


def test_the_rule_sees_the_two_holders() -> None:
    assert set(registry_imports(read_graph())) >= REGISTRY_HOLDERS


def test_the_rule_sees_every_way_to_take_the_registry(tmp_path: Path) -> None:
    tui = tmp_path / "farm" / "tui"
    registry = tmp_path / "farm" / "registry"
    for package in (tmp_path / "farm", tui, registry):
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("", encoding="utf-8")
    (registry / "registry.py").write_text("class Registry: ...\n", encoding="utf-8")
    (registry / "rows.py").write_text("class TenantReport: ...\n", encoding="utf-8")
    modules = {
        "by_name": "from farm.registry import Registry\n",
        "behind_the_face": "from farm.registry.registry import Registry\n",
        "whole": "import farm.registry\n",
        "typed": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from farm.registry import Registry\n"
        ),
        "local": "def f():\n    from farm import registry\n",
        "values_only": "from farm.registry import TenantReport\n",
    }
    for name, text in modules.items():
        (tui / f"{name}.py").write_text(text, encoding="utf-8")
    found = registry_imports(read_graph(tmp_path))
    assert set(found) == {f"farm.tui.{name}" for name in modules} - {"farm.tui.values_only"}
