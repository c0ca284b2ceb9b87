"""Stored plans: the operations a simulated run planned, to show and apply as reviewed (issue 18).

``stored_plan`` keeps one row per simulated run and site: the tenants the
plan covers, how many operations it holds, the plan itself (a JSON document,
``farm.plan_codec``), when it was stored, and which run applied it and when
(a plan is applied at most once).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0001: the revision spells its types out rather than importing the tables.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stored_plan",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("run.id"), primary_key=True),
        sa.Column("site", sa.String(), primary_key=True),
        sa.Column("tenants", JSON, nullable=False),
        sa.Column("operations", sa.Integer(), nullable=False),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by", sa.Integer(), sa.ForeignKey("run.id"), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("stored_plan")
