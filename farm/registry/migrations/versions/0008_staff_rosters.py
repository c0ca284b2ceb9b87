"""Staff rosters: each establishment's people imported from CSV files, a stored source (issue 16).

``staff_import`` keeps one row per applied import: its kind of file
(teachers or staff), the establishments it covered, the file, when, its
options ("Complet" mode, usertype, the course category of the manager
role), what it changed, and later the sync run that brought it to Moodle
and the report file it wrote. ``staff_roster`` keeps one row per
establishment, kind and sync key: what the file said of the person, the
login the import gave them, the import that brought it and the one that
last changed it, and, once it left the roster, when, why and for which
directory account. ``staff_scan`` keeps each tenant's last reconciliation
counts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0001: the revision spells its types out rather than importing the tables.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "staff_import",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("tenants", JSON, nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("usertype", sa.String(), nullable=True),
        sa.Column("manager_category", sa.String(), nullable=True),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("run.id"), nullable=True),
        sa.Column("report", sa.String(), nullable=True),
    )
    op.create_table(
        "staff_roster",
        sa.Column("tenant", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), primary_key=True),
        sa.Column("sync_key", sa.String(), primary_key=True),
        sa.Column("civility", sa.String(), nullable=False),
        sa.Column("lastname", sa.String(), nullable=False),
        sa.Column("firstname", sa.String(), nullable=False),
        sa.Column("codes", JSON, nullable=False),
        sa.Column("login", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("birthdate", sa.Date(), nullable=True),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("postcode", sa.String(), nullable=False),
        sa.Column("city", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("mobile", sa.String(), nullable=False),
        sa.Column("usertype", sa.String(), nullable=False),
        sa.Column("manager_category", sa.String(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("staff_import.id"), nullable=False),
        sa.Column("first_import", sa.Integer(), sa.ForeignKey("staff_import.id"), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_reason", sa.String(), nullable=True),
        sa.Column("linked_to", sa.String(), nullable=True),
    )
    op.create_index("ix_staff_roster_sync_key", "staff_roster", ["sync_key"])
    op.create_table(
        "staff_scan",
        sa.Column("tenant", sa.String(), primary_key=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("ambiguous", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("ghosts", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff_scan")
    op.drop_index("ix_staff_roster_sync_key", table_name="staff_roster")
    op.drop_table("staff_roster")
    op.drop_table("staff_import")
