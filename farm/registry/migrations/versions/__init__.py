"""Alembic revisions of the registry, oldest first."""
