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

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

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
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def expected_revision() -> str:
    """The head revision of this code."""
    head = _scripts().get_current_head()
    assert head is not None, "the registry has no migrations"
    return head


def schema_state(connection: Connection) -> SchemaState:
    """Read the registry's revision through ``connection``; writes nothing."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    current = context.get_current_revision()
    expected = expected_revision()
    if current is None:
        kind = SchemaStateKind.MISSING
    elif current == expected:
        kind = SchemaStateKind.CURRENT
    elif not _known(current):
        kind = SchemaStateKind.NEWER
    else:
        kind = SchemaStateKind.OUTDATED
    return SchemaState(current=current, expected=expected, kind=kind)


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:
        # Alembic raises for an id it has never seen.
        return False


def upgrade_schema(connection: Connection) -> None:
    """Apply pending revisions inside the caller's transaction on ``connection``."""
    command.upgrade(alembic_config(connection), "head")


def lock_for_upgrade(connection: Connection) -> None:
    """Keep a second upgrade out until this transaction ends (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _UPGRADE_LOCK_ID})


def _revision(message: str) -> None:
    """Autogenerate a revision against a scratch SQLite registry at head."""
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
