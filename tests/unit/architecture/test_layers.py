"""No import cycle, and no import that goes up a layer (issue 14).

The graph (``graph.py``) holds every import statement of ``farm/``,
type-only and function-local ones included. Rerun the check by hand with
``python -m tests.unit.architecture``.

The layers, lowest first; a module may import its own layer and those below:

``core``
    The pure part: records, operations, options, the index, the planner and
    its rules, the applied-operation values, the ground of a run. No I/O
    library (``test_io_at_import.py`` holds that). The root package ``farm``
    (its version only) sits here too.
``support``
    Small services every layer may use and that use only the core: secrets
    and their masking, generated passwords' files, logging, the lazy faces
    of the adapter packages, spreadsheet-safe CSV. And
    ``farm.config.problems``, although it lives in the config package: a
    problem names a file, line and key, every settings reader reports with
    it (the Pronote settings do), and it imports nothing of the farm.
``adapters``
    ``farm.sources`` and ``farm.moodle``, the two sides of a sync, which
    never import each other (``SEPARATE``), nor the registry; and the file
    readers ``farm.pronote`` (identifier files) and ``farm.staff`` (staff
    tables).
``config``
    ``farm.config`` composes the adapters' own settings models
    (``farm.moodle.settings``, ``farm.sources.*.settings``), so it sits above
    them, not below as "config" usually does. ``farm.clock`` is here, not in
    ``support``: the farm's time zone is ``[farm] timezone`` and the clock
    reads it with the config's schema.
``registry``
    ``farm.registry`` stores what the configuration says (it registers a
    loaded :class:`~farm.config.Farm`: sites and tenants), so it sits above
    ``config``; it still never imports an adapter (``SEPARATE``): it takes
    and returns the core's types.
``engine``
    Coordinator, jobs, leases, schedules, events, executors, status.
``notify``
    ``farm.notify`` tells operators about tenants' levels, which the engine's
    status decides: above the engine, and nothing in the engine calls it.
``tui``, ``demo``, ``cli``
    The views, each its own layer: the demo opens the dashboard, and the
    ``farm`` command launches both.

``farm.simulators`` is outside the stack (``ISOLATED``): it stands for
other products, so it imports only ``farm.uai`` (the check letter of an
establishment's id, which the generator computes like the académie does)
and never the client's modules, and only the demo imports it.

An edge the rules refuse but the code has today is listed in
``KNOWN_VIOLATIONS`` with its reason; the tests fail when an entry's edge is
gone or no longer breaks a rule, so the list only shrinks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from tests.unit.architecture.graph import Edge, Import, ImportGraph, in_package, owner, read_graph


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    members: tuple[str, ...]


LAYERS: tuple[Layer, ...] = (
    Layer(
        "core",
        (
            "farm",
            "farm.digest",
            "farm.model",
            "farm.index_values",
            "farm.operation",
            "farm.options",
            "farm.uai",
            "farm.index",
            "farm.safety",
            "farm.site_rules",
            "farm.user_defaults",
            "farm.adoption",
            "farm.snapshot",
            "farm.plan",
            "farm.planner",
            "farm.plan_objects",
            "farm.plan_links",
            "farm.ground",
            "farm.applied",
            "farm.cohorts",
            "farm.cohort_scope",
            "farm.drift",
            "farm.stored_plan",
            "farm.plan_codec",
            "farm.undo",
            "farm.inverse",
            "farm.undo_objects",
            "farm.undo_links",
        ),
    ),
    Layer(
        "support",
        (
            "farm.secrets",
            "farm.passwords",
            "farm.logs",
            "farm.lazy_exports",
            "farm.csv_cells",
            "farm.config.problems",
        ),
    ),
    Layer("adapters", ("farm.sources", "farm.pronote", "farm.staff", "farm.moodle")),
    Layer("config", ("farm.config", "farm.clock")),
    Layer("registry", ("farm.registry",)),
    Layer("engine", ("farm.engine",)),
    Layer("notify", ("farm.notify",)),
    Layer("tui", ("farm.tui",)),
    Layer("demo", ("farm.demo",)),
    Layer("cli", ("farm.cli",)),
)

#: Packages that never import each other, in either direction, whatever their layers.
SEPARATE: tuple[tuple[str, str], ...] = (
    ("farm.sources", "farm.moodle"),
    ("farm.sources", "farm.registry"),
    ("farm.moodle", "farm.registry"),
)


@dataclass(frozen=True, slots=True)
class Isolated:
    """A package outside the layers: what it may import, and who may import it."""

    package: str
    may_import: tuple[str, ...]
    imported_by: tuple[str, ...]


ISOLATED: tuple[Isolated, ...] = (
    Isolated("farm.simulators", may_import=("farm.uai",), imported_by=("farm.demo",)),
)

#: (importer, imported) -> why the edge is still there. Only shrinks.
KNOWN_VIOLATIONS: dict[Edge, str] = {}


def layer_of(module: str) -> int | None:
    """The index in :data:`LAYERS` of the layer ``module`` belongs to."""
    found = owner(module, [m for layer in LAYERS for m in layer.members])
    if found is None:
        return None
    return next(i for i, layer in enumerate(LAYERS) if found in layer.members)


def isolated_of(module: str) -> Isolated | None:
    return next((i for i in ISOLATED if in_package(module, i.package)), None)


def rule_broken(edge: Edge) -> str | None:
    """Which rule ``importer -> imported`` breaks, in words; None when it breaks none."""
    importer, imported = edge
    for rule in ISOLATED:
        inside, target = in_package(importer, rule.package), in_package(imported, rule.package)
        if inside and not target and owner(imported, rule.may_import) is None:
            return f"{rule.package} imports only {', '.join(rule.may_import)} and itself"
        if target and not inside and owner(importer, rule.imported_by) is None:
            return f"only {', '.join(rule.imported_by)} imports {rule.package}"
    if isolated_of(importer) or isolated_of(imported):
        return None
    for a, b in SEPARATE:
        if (in_package(importer, a) and in_package(imported, b)) or (
            in_package(importer, b) and in_package(imported, a)
        ):
            return f"{a} and {b} never import each other"
    low, high = layer_of(importer), layer_of(imported)
    if low is not None and high is not None and high > low:
        return f"upward: {LAYERS[low].name} imports {LAYERS[high].name}"
    return None


def upward_imports(graph: ImportGraph) -> list[tuple[Import, str]]:
    """Every import statement that breaks a layering rule, with the rule."""
    broken = []
    for statement in graph.imports:
        rule = rule_broken(statement.edge)
        if rule is not None:
            broken.append((statement, rule))
    return broken


def stale_allowances(graph: ImportGraph) -> list[str]:
    """Entries of :data:`KNOWN_VIOLATIONS` that no longer describe a violation."""
    edges = graph.edges()
    on_cycles = {e for chain in graph.cycles() for e in itertools.pairwise(chain)}
    stale = []
    for edge, reason in KNOWN_VIOLATIONS.items():
        if edge not in edges:
            stale.append(f"{edge[0]} -> {edge[1]}: no such import any more ({reason})")
        elif rule_broken(edge) is None and edge not in on_cycles:
            stale.append(f"{edge[0]} -> {edge[1]}: breaks no rule any more ({reason})")
    return stale


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return read_graph()


def test_the_graph_sees_every_kind_of_import(graph: ImportGraph) -> None:
    """The reader is not blind: it finds type-only and function-local imports too."""
    kinds = {i.kind for i in graph.imports}
    assert kinds == {"runtime", "type-checking", "local"}
    assert ("farm.engine.wiring", "farm.sources.sdet") in graph.edges()  # inside a function
    assert "farm.moodle.client" in graph.modules
    assert all(not (a in graph.packages and in_package(b, a)) for a, b in graph.edges())


def test_there_is_no_import_cycle(graph: ImportGraph) -> None:
    cycles = graph.cycles(without=KNOWN_VIOLATIONS)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_module_belongs_to_a_layer(graph: ImportGraph) -> None:
    lost = sorted(m for m in graph.modules if layer_of(m) is None and isolated_of(m) is None)
    assert not lost, f"add these modules to LAYERS in {__file__}: {lost}"


def test_no_import_goes_up_a_layer(graph: ImportGraph) -> None:
    broken = [
        f"{s.importer} -> {s.imported} at {s.where()}: {rule}"
        for s, rule in upward_imports(graph)
        if s.edge not in KNOWN_VIOLATIONS
    ]
    assert not broken, "imports that break the layers:\n" + "\n".join(broken)


def test_the_known_violations_only_shrink(graph: ImportGraph) -> None:
    stale = stale_allowances(graph)
    assert not stale, "remove from KNOWN_VIOLATIONS:\n" + "\n".join(stale)


def test_the_rules_refuse_what_they_should() -> None:
    """Each rule, on edges made up for the purpose: the checker can fail."""
    assert rule_broken(("farm.plan", "farm.moodle.client")) == "upward: core imports adapters"
    assert rule_broken(("farm.engine.job", "farm.tui.app")) == "upward: engine imports tui"
    assert rule_broken(("farm.moodle.session", "farm.sources")) is not None
    assert rule_broken(("farm.registry.index", "farm.moodle")) is not None
    assert rule_broken(("farm.simulators.moodle.state", "farm.moodle.preflight")) is not None
    assert rule_broken(("farm.engine.job", "farm.simulators.moodle")) is not None
    assert rule_broken(("farm.demo.standins", "farm.simulators.moodle")) is None
    assert rule_broken(("farm.simulators.directory", "farm.uai")) is None
    assert rule_broken(("farm.cli.sync", "farm.engine.job")) is None
    assert rule_broken(("farm.config.load", "farm.moodle.settings")) is None
