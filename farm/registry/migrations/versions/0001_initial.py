"""Create the registry: sites, tenants, index, runs, reports, journal, leases, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Revisions spell their types out rather than importing the tables: a
# revision must keep describing the schema of its day when the tables change.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("removal", sa.String(), nullable=False),
        _ts("added_at"),
        _ts("updated_at"),
        _ts("removed_at", nullable=True),
    )
    op.create_table(
        "tenant",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("site", sa.String(), sa.ForeignKey("site.name"), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        _ts("added_at"),
        _ts("updated_at"),
        _ts("removed_at", nullable=True),
    )
    op.create_table(
        "tenant_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(), sa.ForeignKey("tenant.id"), nullable=False),
        _ts("at"),
        sa.Column("change", sa.String(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
    )
    op.create_table(
        "index_entry",
        sa.Column("site", sa.String(), sa.ForeignKey("site.name"), primary_key=True),
        sa.Column("entity", sa.String(), primary_key=True),
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("moodle_id", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("tenants", JSON, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _ts("updated_at"),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("selection", JSON, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
    )
    op.create_index("ix_run_started_at", "run", ["started_at"])
    op.create_index("ix_run_status", "run", ["status"])
    op.create_table(
        "tenant_report",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("run.id"), primary_key=True),
        sa.Column("tenant", sa.String(), primary_key=True),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("warnings", JSON, nullable=False),
        sa.Column("durations", JSON, nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        _ts("recorded_at"),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("run.id"), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("moodle_id", sa.BigInteger(), nullable=True),
        sa.Column("old", JSON, nullable=True),
        sa.Column("new", JSON, nullable=True),
        _ts("at"),
    )
    op.create_index("ix_journal_run_site_seq", "journal", ["run_id", "site", "seq"], unique=True)
    op.create_table(
        "lease",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("holder", sa.String(), nullable=False),
        _ts("acquired_at"),
        _ts("renewed_at"),
        _ts("expires_at"),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _ts("at"),
        sa.Column("site", sa.String(), nullable=True),
        sa.Column("tenant", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
    )
    op.create_index("ix_event_run_id", "event", ["run_id"])
    op.create_table(
        "bookmark",
        sa.Column("source", sa.String(), primary_key=True),
        sa.Column("tenant", sa.String(), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
        _ts("updated_at"),
    )


def downgrade() -> None:
    for table in (
        "bookmark",
        "event",
        "lease",
        "journal",
        "tenant_report",
        "run",
        "index_entry",
        "tenant_change",
        "tenant",
        "site",
    ):
        op.drop_table(table)
