"""Index entries say whether the farm suspended them (issue 20).

``index_entry.suspended`` is true for an account the farm suspended because
every tenant dropped the person. The registry used to work it out from each
row's values (``suspended: true`` and no tenant left), so loading a site's
index had to decode the values of its rows; with the column, the values stay
JSON text until a planner needs them (:class:`farm.index_values.JsonValues`).

Rows written before this revision get the column by that same rule: a
``person`` row with no tenant whose values hold ``suspended`` as JSON true.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both backends: SQLite adds a column with a constant default in place,
    # where a batch operation would copy the whole table (a third more file for 100,000 rows).
    op.add_column(
        "index_entry",
        sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if op.get_bind().dialect.name == "postgresql":
        no_tenant = "jsonb_array_length(tenants) = 0"
        said = "\"values\" -> 'suspended' = 'true'::jsonb"
    else:
        no_tenant = "json_array_length(tenants) = 0"
        # json_type, not json_extract: JSON true only (not 1), as IndexEntry.restore reads it.
        said = "json_type(\"values\", '$.suspended') = 'true'"
    op.execute(
        "UPDATE index_entry SET suspended = true "  # noqa: S608
        f"WHERE entity = 'person' AND {no_tenant} AND {said}"
    )


def downgrade() -> None:
    with op.batch_alter_table("index_entry") as batch:
        batch.drop_column("suspended")
