"""One meaning per class name in ``farm/`` (issue 14).

Two classes of one name make every ``grep`` and every "go to definition" a
guess, and an import of the wrong one type-checks when both have the
fields used. A name defined twice either is one thing (merge them) or is
two (rename one after what it is: the simulator's ``CohortRow`` is a row of
a simulated Moodle's table, not the source's ``farm.model.Cohort``).

``KNOWN_DUPLICATES`` lists the names still defined more than once, with the
modules defining them and why they are still there; the test fails when a
name is defined in other modules than listed, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict

from tests.unit.architecture.graph import ROOT, module_name

#: Class name -> (the modules defining it, why it is not renamed yet). Only shrinks.
KNOWN_DUPLICATES: dict[str, tuple[tuple[str, ...], str]] = {
    "Entry": (
        ("farm.pronote.partner_index", "farm.sources.sdet.entries"),
        "a person of a PARTENAIRE_INDEX document vs an LDAP entry; the Pronote one is another "
        "session's, just landed: a PartnerEntry there",
    ),
    "Outcome": (
        ("farm.adoption", "farm.pronote.matching"),
        "an account adoption's decision (used by the lead's farm/moodle/apply_users.py and "
        "apply_links.py) vs a Pronote match's (another session's farm/pronote/matching.py)",
    ),
}


def class_definitions() -> dict[str, list[str]]:
    """Class name -> the modules of ``farm/`` defining it (nested classes included)."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "farm").rglob("*.py")):
        module, _ = module_name(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                found[node.name].append(module)
    return found


def test_the_reader_finds_classes() -> None:
    defined = class_definitions()
    assert defined["SiteIndex"] == ["farm.index"]
    assert "farm.simulators.moodle.state" in defined["CohortRow"]


def test_each_class_name_has_one_meaning() -> None:
    twice = {
        name: sorted(modules)
        for name, modules in class_definitions().items()
        if len(modules) > 1 and name not in KNOWN_DUPLICATES
    }
    assert not twice, f"class names defined more than once (rename or merge): {twice}"


def test_the_known_duplicates_only_shrink() -> None:
    defined = class_definitions()
    changed = {
        name: f"listed in {sorted(modules)}, defined in {sorted(defined.get(name, []))}"
        for name, (modules, _) in KNOWN_DUPLICATES.items()
        if sorted(defined.get(name, [])) != sorted(modules)
    }
    assert not changed, f"update KNOWN_DUPLICATES: {changed}"
