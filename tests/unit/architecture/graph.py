"""The farm's import graph, read from the source with :mod:`ast`: nothing is imported.

:func:`read_graph` parses every ``farm/**/*.py`` and keeps each ``import``
and ``from ... import`` statement, wherever it stands: at the top of a
module (``runtime``), under ``if TYPE_CHECKING:`` (``type-checking``) or in
a function body (``local``). A type-only or function-local import is still
a dependency: it says what a reader must understand first, and it is how a
cycle hides.

A statement becomes an edge between two *modules* of the package
(``farm.moodle.applier``, ``farm.config``, the root ``farm``):

- relative imports are resolved against the importing module;
- ``from P import name`` points at the module ``P.name`` when that is a
  module of the package, at ``P`` otherwise (a name of ``P``'s face);
- a package importing its own submodules (``farm/moodle/__init__.py``
  naming what it exports) is not an edge: that is the package showing
  its face, and counting it would put every package in a cycle with its
  own modules;
- imports of anything outside ``farm`` are kept apart, by top-level name
  (``httpx``, ``textual``), in :attr:`ImportGraph.external`.

Imports by name at run time (``importlib.import_module``) are not read:
the CLI's command table and the lazy faces are the only ones, and each
loads only its own package's modules.

The rules (layers, allowlists) live in ``test_layers.py``; the command
``python -m tests.unit.architecture`` prints what the rules find.
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "farm"

Kind = Literal["runtime", "type-checking", "local"]
Edge = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement's target: ``importer`` imports ``imported`` at ``path:line``.

    ``path`` is relative to the tree that was read (``farm/engine/job.py``).
    """

    importer: str
    imported: str
    path: Path
    line: int
    kind: Kind
    names: tuple[str, ...] = ()  # what ``from imported import ...`` takes; () for ``import``

    @property
    def edge(self) -> Edge:
        return (self.importer, self.imported)

    def where(self) -> str:
        """``farm/engine/job.py:53 (runtime)``."""
        return f"{self.path}:{self.line} ({self.kind})"


@dataclass(frozen=True, slots=True)
class ImportGraph:
    """Every module of the package and every import statement between them."""

    modules: frozenset[str]
    packages: frozenset[str]
    imports: tuple[Import, ...]
    external: tuple[Import, ...]

    def edges(self) -> set[Edge]:
        return {i.edge for i in self.imports}

    def statements(self, edge: Edge) -> list[Import]:
        """The statements behind one edge (several when a module imports twice)."""
        return [i for i in self.imports if i.edge == edge]

    def cycles(self, without: Iterable[Edge] = ()) -> list[tuple[str, ...]]:
        """The import cycles, each as a chain ``(a, b, ..., a)``, ignoring the ``without`` edges.

        For each strongly connected group of modules, the shortest cycle
        through each of its members, each cycle once (whatever module it
        starts from), so that two cycles sharing a module are both shown.
        """
        removed = set(without)
        successors: dict[str, set[str]] = {m: set() for m in self.modules}
        for a, b in self.edges() - removed:
            successors[a].add(b)
        found: dict[frozenset[Edge], tuple[str, ...]] = {}
        for group in _strongly_connected(successors):
            for start in sorted(group):
                chain = _shortest_cycle(successors, group, start)
                if chain is not None:
                    found.setdefault(frozenset(itertools.pairwise(chain)), chain)
        return sorted(found.values())


def module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of a file relative to the tree, and whether it is an ``__init__``."""
    parts = list(path.with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def read_graph(root: Path = ROOT) -> ImportGraph:
    """Parse ``root/farm`` and return its import graph."""
    files = {
        module_name(p.relative_to(root)): p.relative_to(root)
        for p in sorted((root / PACKAGE).rglob("*.py"))
    }
    modules = frozenset(name for name, _ in files)
    packages = frozenset(name for name, is_package in files if is_package)
    inner: list[Import] = []
    outer: list[Import] = []
    for (name, is_package), path in files.items():
        tree = ast.parse((root / path).read_text(encoding="utf-8"), filename=str(path))
        for node, kind in _imports(tree):
            taken: dict[str, list[str]] = {}
            for target, imported_name in _targets(node, name, is_package, modules):
                taken.setdefault(target, []).extend([imported_name] if imported_name else [])
            for target, names in taken.items():
                if target.split(".")[0] != PACKAGE:
                    outer.append(Import(name, target.split(".")[0], path, node.lineno, kind))
                    continue
                target = _nearest_module(target, modules)
                if target == name or (is_package and target.startswith(name + ".")):
                    continue
                inner.append(Import(name, target, path, node.lineno, kind, tuple(names)))
    return ImportGraph(modules, packages, tuple(inner), tuple(outer))


def in_package(module: str, package: str) -> bool:
    """Whether ``module`` is ``package`` or one of its submodules."""
    return module == package or module.startswith(package + ".")


def owner(module: str, prefixes: Iterable[str]) -> str | None:
    """The longest of ``prefixes`` that ``module`` belongs to (the root ``farm`` only exactly)."""
    matches = [p for p in prefixes if module == p or (p != PACKAGE and module.startswith(p + "."))]
    return max(matches, key=len, default=None)


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, Kind]]:
    def visit(node: ast.AST, kind: Kind) -> Iterator[tuple[ast.Import | ast.ImportFrom, Kind]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, kind
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    yield from visit_one(statement, "type-checking")
                for statement in child.orelse:
                    yield from visit_one(statement, kind)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from visit(child, "type-checking" if kind == "type-checking" else "local")
            else:
                yield from visit(child, kind)

    def visit_one(
        statement: ast.stmt, kind: Kind
    ) -> Iterator[tuple[ast.Import | ast.ImportFrom, Kind]]:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            yield statement, kind
        else:
            yield from visit(statement, kind)

    yield from visit(tree, "runtime")


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _targets(
    node: ast.Import | ast.ImportFrom, name: str, is_package: bool, modules: frozenset[str]
) -> list[tuple[str, str | None]]:
    """Each module the statement imports, with the name taken from it (None for ``import``)."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    if node.level:
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    targets: list[tuple[str, str | None]] = []
    for alias in node.names:
        candidate = f"{source}.{alias.name}"
        # ``from farm.moodle import client`` takes a module, not a name of the face.
        targets.append((candidate, None) if candidate in modules else (source, alias.name))
    return targets


def _nearest_module(target: str, modules: frozenset[str]) -> str:
    # ``import farm.a.b`` of a module that does not exist (yet) still depends on farm.a.
    while target not in modules and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def _strongly_connected(successors: Mapping[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively; only groups of two modules or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(successors):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(successors[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(successors[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def _shortest_cycle(
    successors: Mapping[str, set[str]], group: set[str], start: str
) -> tuple[str, ...] | None:
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(successors[node] & group):
            if child == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return (start, *reversed(chain[:-1]), start) if node != start else (start, start)
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return None
