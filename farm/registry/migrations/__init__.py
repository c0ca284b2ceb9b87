"""Alembic migrations of the registry (see farm/registry/schema.py)."""
