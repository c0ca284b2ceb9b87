"""The registry's schema version, kept by Alembic and driven from code.

Revisions live in ``farm/registry/migrations/versions`` and ship inside the
package; no ``alembic.ini`` is needed. The version is stored in the table
``farm_registry_version`` (not Alembic's default name, so that the registry
can share a PostgreSQL database with other Alembic users such as a
procrastinate deployment).

A registry is in one of four states: *missing* (no version table: run
``farm registry upgrade``), *outdated* (an older revision: the same), *current*,
or *newer* (a revision this code does not know: it was upgraded by a newer
farm and is refused before anything is written).

A maintainer adds a revision with::

    .venv/bin/python -m farm.registry.schema revision "add a column"

which autogenerates it against a scratch registry at the current head.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, column, inspect, select, table, text

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

VERSION_TABLE = "farm_registry_version"
MIGRATIONS = Path(__file__).with_name("migrations")
# Taken by `upgrade` on PostgreSQL so that two upgrades never race (an arbitrary constant).
_UPGRADE_LOCK_ID = 0x6661726D


class SchemaStateKind(StrEnum):
    """Where a registry's schema stands relative to this code."""

    MISSING = "missing"
    OUTDATED = "outdated"
    CURRENT = "current"
    NEWER = "newer"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """The registry's revision, the one this code expects, and what that means."""

    current: str | None
    expected: str
    kind: SchemaStateKind


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the registry, bound to ``connection``."""
    # Alembic is imported only to upgrade or to write a revision: every farm command
    # reads the schema state, and Alembic's import and script scan cost it ~0.3 s.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def shipped_revisions() -> list[str]:
    """The ids of the revisions this code ships, oldest first.

    A revision's id is the four digits its file name starts with (``0009_…``,
    as :func:`_revision` numbers them) and each one follows the one before, so
    the file names say the whole history without Alembic reading every script.
    """
    versions = MIGRATIONS / "versions"
    return sorted(path.name[:4] for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))


def expected_revision() -> str:
    """The head revision of this code."""
    shipped = shipped_revisions()
    assert shipped, "the registry has no migrations"
    return shipped[-1]


def current_revision(connection: Connection) -> str | None:
    """The revision the registry says it is at, or None if it has no version table."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = table(VERSION_TABLE, column("version_num"))
    rows = connection.execute(select(versions.c.version_num)).scalars().all()
    if len(rows) > 1:  # the history is linear: two rows mean a hand-made branch
        raise RuntimeError(f"the registry's {VERSION_TABLE} holds {len(rows)} revisions: {rows}")
    return str(rows[0]) if rows else None


def schema_state(connection: Connection) -> SchemaState:
    """Read the registry's revision through ``connection``; writes nothing."""
    current = current_revision(connection)
    expected = expected_revision()
    if current is None:
        kind = SchemaStateKind.MISSING
    elif current == expected:
        kind = SchemaStateKind.CURRENT
    elif current not in shipped_revisions():
        kind = SchemaStateKind.NEWER
    else:
        kind = SchemaStateKind.OUTDATED
    return SchemaState(current=current, expected=expected, kind=kind)


def upgrade_schema(connection: Connection) -> None:
    """Apply pending revisions inside the caller's transaction on ``connection``."""
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def lock_for_upgrade(connection: Connection) -> None:
    """Keep a second upgrade out until this transaction ends (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _UPGRADE_LOCK_ID})


def _revision(message: str) -> None:
    """Autogenerate a revision against a scratch SQLite registry at head."""
    from alembic import command
    from sqlalchemy import create_engine

    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/registry.db")
        with engine.begin() as connection:
            upgrade_schema(connection)
            heads = len(list(_scripts().walk_revisions()))
            command.revision(
                alembic_config(connection),
                message=message,
                autogenerate=True,
                rev_id=f"{heads + 1:04d}",
            )
        engine.dispose()


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m farm.registry.schema revision "what changes"')
    _revision(sys.argv[2])
