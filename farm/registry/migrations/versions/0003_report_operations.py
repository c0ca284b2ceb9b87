"""Keep a verbose run's operation lines in its tenant reports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0001: the revision spells its types out rather than importing the tables.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Reports recorded before have no operation lines: an empty list, not null.
    with op.batch_alter_table("tenant_report") as batch:
        batch.add_column(
            sa.Column("operations", JSON, nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("tenant_report") as batch:
        batch.drop_column("operations")
