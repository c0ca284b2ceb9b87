"""The journal's tenants and look-ups by person and time (issue 18).

Each journal line gets ``tenants`` (a JSON list: the tenants the change
concerns) and ``person`` (the source key of the person it changed: the
account, or the member of a link), so that ``farm journal`` reads it by
tenant and by person; and indexes for look-ups by record (site + key), by
person and by time (reads and pruning).

Lines recorded before this revision get their person back from their own
values. Their tenants are not guessed: the index only knows a record's
tenants now, not when the line was written, and a wrong tenant would show a
change to an establishment that never had it. They keep an empty list and
are found by site, run, person or time, not by tenant.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0001: the revision spells its types out rather than importing the tables.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

#: The kinds whose values name a person (farm.model.MEMBERSHIP_KINDS, spelled out).
_LINKS = "('cohort_member', 'enrolment', 'group_member', 'role_assignment')"


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("tenants", JSON, nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("person", sa.String(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        person = "coalesce(new ->> 'person', old ->> 'person')"
    else:
        person = "coalesce(json_extract(new, '$.person'), json_extract(old, '$.person'))"
    op.execute("UPDATE journal SET person = \"key\" WHERE entity = 'person'")
    op.execute(f"UPDATE journal SET person = {person} WHERE entity IN {_LINKS}")  # noqa: S608
    op.create_index("ix_journal_site_key", "journal", ["site", "key"])
    op.create_index("ix_journal_person", "journal", ["person"])
    op.create_index("ix_journal_at", "journal", ["at"])


def downgrade() -> None:
    op.drop_index("ix_journal_at", table_name="journal")
    op.drop_index("ix_journal_person", table_name="journal")
    op.drop_index("ix_journal_site_key", table_name="journal")
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("person")
        batch.drop_column("tenants")
