"""Index tenant reports by tenant, for "each tenant's last run" (farm status, the dashboard).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tenant_report_tenant_run", "tenant_report", ["tenant", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_tenant_report_tenant_run", table_name="tenant_report")
