"""Alembic's entry point, driven by farm/registry/schema.py.

The farm runs Alembic programmatically and hands over an open connection in
``config.attributes["connection"]``; there is no alembic.ini. A maintainer who
writes a new revision runs, from the repository root::

    .venv/bin/python -m farm.registry.schema revision "what changes"

which autogenerates a revision against a scratch SQLite registry.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import farm.registry.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from farm.registry.schema import VERSION_TABLE


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run the registry's migrations through farm.registry.schema")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        version_table=VERSION_TABLE,
        # SQLite alters tables by copying them; Alembic's batch mode does that.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
