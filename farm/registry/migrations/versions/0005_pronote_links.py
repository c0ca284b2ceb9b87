"""Pronote identifiers: each tenant's links and each import's summary.

``pronote_link`` holds, per tenant, which source person carries which
Pronote identifier in which population (a teacher who is also a parent has
two Pronote accounts), how the link was made and by which file. Within a
tenant and population a Pronote identifier names one person at most.
``pronote_import`` keeps one row per tenant and applied import: when, in
which mode, from which file, the counts and the match report.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0001: the revision spells its types out rather than importing the tables.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pronote_link",
        sa.Column("tenant", sa.String(), primary_key=True),
        sa.Column("source_key", sa.String(), primary_key=True),
        sa.Column("population", sa.String(), primary_key=True),
        sa.Column("pronote_id", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_pronote_link_tenant_population_id",
        "pronote_link",
        ["tenant", "population", "pronote_id"],
        unique=True,
    )
    op.create_table(
        "pronote_import",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("file_kind", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("report", JSON, nullable=False),
    )
    op.create_index("ix_pronote_import_tenant_id", "pronote_import", ["tenant", "id"])


def downgrade() -> None:
    op.drop_index("ix_pronote_import_tenant_id", table_name="pronote_import")
    op.drop_table("pronote_import")
    op.drop_index("ix_pronote_link_tenant_population_id", table_name="pronote_link")
    op.drop_table("pronote_link")
