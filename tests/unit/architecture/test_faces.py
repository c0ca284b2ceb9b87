"""Packages' faces: written once, complete, and the only way in (issue 14).

A lazy face (``farm/lazy_exports.py``) is a map from each module of the
package to the names it offers; ``__all__`` and the look-up are derived from
it, and the ``if TYPE_CHECKING:`` block that lets mypy see the names must
list exactly the same ones. The tests here hold that for every package
whose ``__init__`` calls ``lazy_exports``, found in the source.

The views and the engine (``farm.engine``, ``farm.cli``, ``farm.tui``,
``farm.demo``, ``farm.notify``) reach the adapters only through their
faces (``from farm.moodle import Applier``), never a private module
(``farm.moodle.applier``). ``farm.config`` is not held to it: it composes
each adapter's settings module, which is light on purpose, and importing
the face would be the same module by a longer way.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.architecture.graph import ROOT, Edge, ImportGraph, in_package, read_graph

#: What the adapters show: their packages' ``__init__``, and a source that is one module.
FACES: tuple[str, ...] = (
    "farm.moodle",
    "farm.sources",
    "farm.sources.sdet",
    "farm.sources.netypareo",
    "farm.sources.static",
)
#: Whose faces these are.
ADAPTERS: tuple[str, ...] = ("farm.moodle", "farm.sources")
#: Who must use only the faces.
CLIENTS: tuple[str, ...] = ("farm.engine", "farm.cli", "farm.tui", "farm.demo", "farm.notify")

#: (importer, private module) -> why it still goes around the face. Only shrinks.
KNOWN_BYPASSES: dict[Edge, str] = {}


@dataclass(frozen=True, slots=True)
class LazyFace:
    """A package's ``__init__`` as written: its export map and its TYPE_CHECKING imports."""

    package: str
    exports: dict[str, tuple[str, ...]]
    type_checking: list[tuple[str, str, str | None]]  # module, name, alias


def lazy_faces(root: Path = ROOT) -> list[LazyFace]:
    """Every package whose ``__init__`` calls ``lazy_exports``, read from its source."""
    faces = []
    for path in sorted((root / "farm").rglob("__init__.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "lazy_exports"
        ]
        if not calls:
            continue
        package = ".".join(path.relative_to(root).parent.parts)
        exports: dict[str, tuple[str, ...]] = {}
        checked: list[tuple[str, str, str | None]] = []
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
            ):
                exports = ast.literal_eval(node.value)
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                for statement in node.body:
                    assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                    checked += [(statement.module or "", a.name, a.asname) for a in statement.names]
        faces.append(LazyFace(package, exports, checked))
    return faces


FOUND = lazy_faces()


def test_the_lazy_faces_are_found() -> None:
    assert {f.package for f in FOUND} >= {
        "farm.moodle",
        "farm.sources.sdet",
        "farm.sources.netypareo",
    }
    assert all(f.exports for f in FOUND), "each face declares _EXPORTS, a literal dict"


@pytest.mark.parametrize("face", FOUND, ids=lambda f: f.package)
def test_all_is_the_export_map(face: LazyFace) -> None:
    package = importlib.import_module(face.package)
    names = [n for names in face.exports.values() for n in names]
    assert package.__all__ == sorted(names)
    assert len(names) == len(set(names)), "a name exported twice"
    assert sorted(dir(package)) == sorted(names)


@pytest.mark.parametrize("face", FOUND, ids=lambda f: f.package)
def test_every_exported_name_resolves_to_its_module(face: LazyFace) -> None:
    package = importlib.import_module(face.package)
    for module, names in face.exports.items():
        assert in_package(module, face.package), module
        assert module != face.package
        for name in names:
            assert getattr(package, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        getattr(package, "Nothing")  # noqa: B009 - the point is a dynamic look-up


@pytest.mark.parametrize("face", FOUND, ids=lambda f: f.package)
def test_type_checking_imports_list_the_same_names(face: LazyFace) -> None:
    """The block mypy reads names exactly the map's names, each re-exported as itself."""
    mapped = sorted((m, n) for m, names in face.exports.items() for n in names)
    assert sorted((m, n) for m, n, _ in face.type_checking) == mapped
    not_reexported = [n for _, n, alias in face.type_checking if alias != n]
    assert not not_reexported, f"write `import {not_reexported[0]} as {not_reexported[0]}`"


def test_a_name_offered_twice_is_refused() -> None:
    from farm.lazy_exports import lazy_exports

    with pytest.raises(ValueError, match=r"'X' is exported by both pkg\.a and pkg\.b"):
        lazy_exports("pkg", {"pkg.a": ("X",), "pkg.b": ("X", "Y")})


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return read_graph()


def bypasses(graph: ImportGraph) -> dict[Edge, str]:
    """Imports from the engine or a view into an adapter's private module, and where."""
    found: dict[Edge, str] = {}
    for statement in graph.imports:
        if not any(in_package(statement.importer, c) for c in CLIENTS):
            continue
        if not any(in_package(statement.imported, a) for a in ADAPTERS):
            continue
        if statement.imported not in FACES:
            found.setdefault(statement.edge, statement.where())
    return found


def test_the_engine_and_the_views_import_only_the_faces(graph: ImportGraph) -> None:
    broken = [
        f"{a} imports {b} at {where}"
        for (a, b), where in sorted(bypasses(graph).items())
        if (a, b) not in KNOWN_BYPASSES
    ]
    assert not broken, "import from the package's face instead:\n" + "\n".join(broken)


def test_the_known_bypasses_only_shrink(graph: ImportGraph) -> None:
    stale = sorted(set(KNOWN_BYPASSES) - set(bypasses(graph)))
    assert not stale, f"remove from KNOWN_BYPASSES: {stale}"


@pytest.mark.parametrize("face", FOUND, ids=lambda f: f.package)
def test_what_other_packages_take_is_on_the_face(face: LazyFace, graph: ImportGraph) -> None:
    """Even where a private module may be imported (the config reads the settings modules,
    an allowlisted bypass), each name taken is one the face offers: the face is complete.
    The simulators are left to their own rule (``test_layers.ISOLATED``)."""
    offered = {n for names in face.exports.values() for n in names}
    missing = [
        f"{face.package}.{name} ({statement.importer} at {statement.where()})"
        for statement in graph.imports
        if in_package(statement.imported, face.package)
        and statement.imported != face.package
        and not in_package(statement.importer, face.package)
        and not in_package(statement.importer, "farm.simulators")
        for name in statement.names
        if name not in offered
    ]
    assert not missing, "add to the face: " + ", ".join(missing)
