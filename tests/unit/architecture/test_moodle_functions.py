"""The client, its pre-flight check and the simulator agree on Moodle's functions.

Each side keeps its own knowledge: the client calls functions by name
(``self.call("core_cohort_get_cohorts", ...)``, or ``function =
"core_user_create_users"`` handed to a batched write), the pre-flight check
requires :data:`farm.moodle.REQUIRED_FUNCTIONS` in the token's service, and
the simulator implements its own catalogue (``catalogue.FUNCTIONS``) and
grants its own list (``FARM_FUNCTIONS``) without importing the client. So:

- every function name written in ``farm/moodle/`` is required by the
  check, or optional (:data:`farm.moodle.OPTIONAL_FUNCTIONS`, asked for
  only where a site's rules use it), and every required one is called: a
  site is refused for exactly what a sync needs;
- every required function is implemented by the simulator: a function the
  client starts to call fails here until the simulator can answer it.

That a service lacking any one of them is reported by name is
``tests/integration/moodle/test_contract_preflight.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from farm.moodle import OPTIONAL_FUNCTIONS, REQUIRED_FUNCTIONS
from farm.simulators.moodle import FARM_FUNCTIONS, FUNCTIONS
from tests.unit.architecture.graph import ROOT

#: Moodle's component types that name web-service functions.
COMPONENTS = ("core", "enrol", "auth", "mod", "tool", "local", "block", "report", "message")
#: A web-service function's name: ``component_area_action`` (``core_user_create_users``).
FUNCTION_NAME = re.compile(rf"({'|'.join(COMPONENTS)})(_[a-z0-9]+){{2,}}")
CLIENT = ROOT / "farm" / "moodle"


def _is_required_functions(node: ast.AST) -> bool:
    targets = (
        [node.target]
        if isinstance(node, ast.AnnAssign)
        else node.targets
        if isinstance(node, ast.Assign)
        else []
    )
    return any(isinstance(t, ast.Name) and t.id == "REQUIRED_FUNCTIONS" for t in targets)


def named_functions(folder: Path = CLIENT) -> dict[str, set[str]]:
    """Every function name written as a string in ``folder``, with the files that write it.

    The literals of ``REQUIRED_FUNCTIONS`` itself are left out: the list
    must not count as its own proof.
    """
    found: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {
            id(n)
            for statement in ast.walk(tree)
            if _is_required_functions(statement)
            for n in ast.walk(statement)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and FUNCTION_NAME.fullmatch(node.value)
                and id(node) not in skipped
            ):
                found.setdefault(node.value, set()).add(path.name)
    return found


def test_the_scan_finds_the_clients_calls() -> None:
    found = named_functions()
    assert "users.py" in found["core_user_create_users"]
    assert "cohorts.py" in found["core_cohort_get_cohorts"]
    assert "session.py" in found["core_webservice_get_site_info"]


def test_no_function_name_is_built_at_run_time() -> None:
    """The scan reads literals: a name built in an f-string would escape it."""
    built = []
    for path in sorted(CLIENT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                head = node.values[0] if node.values else None
                if isinstance(head, ast.Constant) and str(head.value).startswith(
                    tuple(f"{c}_" for c in COMPONENTS)
                ):
                    built.append(f"{path.name}:{node.lineno}")
    assert not built, built


def test_every_function_the_client_calls_is_required_by_the_check() -> None:
    called = named_functions()
    unchecked = sorted(set(called) - set(REQUIRED_FUNCTIONS) - set(OPTIONAL_FUNCTIONS))
    assert not unchecked, (
        f"add to farm.moodle.preflight.REQUIRED_FUNCTIONS: {unchecked} "
        f"(called in {[sorted(called[n]) for n in unchecked]})"
    )


def test_every_required_function_is_called() -> None:
    """A site that lacks a function the farm never calls must not be refused for it."""
    unused = sorted(set(REQUIRED_FUNCTIONS) - set(named_functions()))
    assert not unused, f"required but never called: {unused}"
    assert len(set(REQUIRED_FUNCTIONS)) == len(REQUIRED_FUNCTIONS)


def test_the_simulator_implements_every_required_function() -> None:
    unimplemented = sorted({*REQUIRED_FUNCTIONS, *OPTIONAL_FUNCTIONS} - set(FUNCTIONS))
    assert not unimplemented, f"the Moodle simulator's catalogue lacks {unimplemented}"


def test_the_simulators_service_grants_only_functions_it_implements() -> None:
    assert set(FARM_FUNCTIONS) <= set(FUNCTIONS)
