"""The pure core and ``farm --help`` load no I/O library (ARCHITECTURE.md, issue 14).

Each case runs in a fresh interpreter (``sys.executable -c``): what a module
loads at import is only visible before anything else loaded it. The static
half (who may import ldap3, zeep, textual...) reads the import graph.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.unit.architecture.graph import ROOT, in_package, read_graph

#: Libraries that talk to the outside world (or draw a terminal).
IO_LIBRARIES: tuple[str, ...] = (
    "httpx",
    "aiohttp",
    "ldap3",
    "zeep",
    "lxml",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "textual",
    "procrastinate",
    "psycopg",
    "uvicorn",
    "starlette",
)

HELP = """
from farm.cli import main
try:
    main(["--help"])
except SystemExit as exit:
    assert exit.code == 0, exit.code
"""


def loaded_after(code: str) -> list[str]:
    """The :data:`IO_LIBRARIES` in ``sys.modules`` once ``code`` ran in a new interpreter."""
    script = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps([m for m in {IO_LIBRARIES!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "code",
    [
        "import farm.model",
        "import farm.plan",
        "import farm.snapshot",
        "import farm.options",
        "import farm.index",
        "import farm.applied",
        "import farm.safety",
        "import farm.ground",
        "import farm.plan_codec",
        "import farm.undo",
        HELP,
    ],
    ids=[
        "model",
        "plan",
        "snapshot",
        "options",
        "index",
        "applied",
        "safety",
        "ground",
        "plan_codec",
        "undo",
        "help",
    ],
)
def test_no_io_library_is_loaded(code: str) -> None:
    assert loaded_after(code) == []


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        (
            "import farm.config",
            ("httpx", "ldap3", "zeep", "lxml", "textual", "procrastinate", "sqlalchemy", "psycopg"),
        ),
        ("import farm.moodle", ("httpx", "aiohttp")),
        ("import farm.moodle.settings", ("httpx",)),
        ("import farm.sources.sdet", ("ldap3",)),
        ("import farm.sources.netypareo", ("zeep", "lxml", "httpx")),
        ("import farm.engine.distributed.errors", ("procrastinate", "psycopg")),
    ],
    ids=["config", "moodle-face", "moodle-settings", "sdet-face", "netypareo-face", "queue-errors"],
)
def test_reading_settings_loads_no_client_library(code: str, absent: tuple[str, ...]) -> None:
    """decisions.md: reading a farm's settings loads neither httpx, ldap3 nor zeep.

    Nor SQLAlchemy (~190 ms): ``farm.config`` checks a registry URL with it,
    and imports it only then.
    """
    assert set(loaded_after(code)).isdisjoint(absent)


def test_the_check_sees_a_library_that_is_loaded() -> None:
    assert "httpx" in loaded_after("import farm.moodle.client")
    assert "httpx" in loaded_after("from farm.moodle import MoodleClient")
    assert "aiohttp" in loaded_after("import aiohttp")


def test_a_moodle_client_loads_aiohttp_only_when_it_reaches_a_site() -> None:
    """Commands that never call a site (``farm status``, the registry's) do not pay for it."""
    assert "aiohttp" not in loaded_after("from farm.moodle import MoodleClient")


#: Library -> the only packages whose modules import it.
OWNERS: dict[str, tuple[str, ...]] = {
    "textual": ("farm.tui",),
    "ldap3": ("farm.sources.sdet",),
    "zeep": ("farm.sources.netypareo",),
    # The wire to real Moodle sites (farm/moodle/wire.py).
    "aiohttp": ("farm.moodle",),
    "sqlmodel": ("farm.registry",),
    "alembic": ("farm.registry",),
}


def test_each_client_library_has_one_owner() -> None:
    """ "The engine never imports Textual", and LDAP, SOAP and SQL stay in their adapters."""
    graph = read_graph()
    strays = [
        f"{i.importer} imports {i.imported} at {i.where()}"
        for i in graph.external
        if i.imported in OWNERS and not any(in_package(i.importer, p) for p in OWNERS[i.imported])
    ]
    assert not strays, "\n".join(strays)
    assert {i.imported for i in graph.external} >= set(OWNERS)
