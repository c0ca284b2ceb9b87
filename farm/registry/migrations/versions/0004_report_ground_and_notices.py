"""Each tenant report says what ground its run covered; tenants remember what was notified.

``tenant_report.ground`` is :attr:`farm.ground.Ground.text` of the run's
options: the status pages find a tenant's open problems by ground in SQL.
Reports recorded before get the ground of their run's options here.
``tenant_notice`` holds, per tenant, the health last sent to operators, so
that one state change makes one message, whatever the number of runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from farm.ground import Ground

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tenant_report") as batch:
        batch.add_column(
            sa.Column("ground", sa.String(), nullable=False, server_default=Ground().text)
        )
    op.create_index(
        "ix_tenant_report_tenant_ground_run", "tenant_report", ["tenant", "ground", "run_id"]
    )
    bind = op.get_bind()
    run = sa.table("run", sa.column("id", sa.Integer), sa.column("options", JSON))
    report = sa.table("tenant_report", sa.column("run_id", sa.Integer), sa.column("ground"))
    for run_id, options in bind.execute(sa.select(run.c.id, run.c.options)).all():
        ground = Ground.of_options(options or {}).text
        if ground != Ground().text:
            bind.execute(sa.update(report).where(report.c.run_id == run_id).values(ground=ground))
    op.create_table(
        "tenant_notice",
        sa.Column("tenant", sa.String(), primary_key=True),
        sa.Column("notified", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery", JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tenant_notice")
    op.drop_index("ix_tenant_report_tenant_ground_run", table_name="tenant_report")
    with op.batch_alter_table("tenant_report") as batch:
        batch.drop_column("ground")
