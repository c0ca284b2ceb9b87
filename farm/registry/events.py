"""Progress events and sources' bookmarks.

Events are appended by jobs wherever they run and read by the CLI and the
dashboard with :meth:`EventStore.events_since`, polling from the last id they
saw. For that to miss nothing, ids must become visible in increasing order:
on PostgreSQL appends take a transaction-scoped advisory lock, so a smaller id
can never commit after a larger one was read; SQLite serialises writers anyway.

A bookmark is where a source's delta read stopped for a tenant (for LDAP, the
highest ``modifyTimestamp`` seen); it is an opaque string to the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, text
from sqlmodel import col

from farm.registry.database import Store
from farm.registry.rows import NewEvent, RunId, StoredEvent
from farm.registry.tables import BookmarkRow, EventRow

# An arbitrary constant naming the advisory lock of event appends.
_EVENT_LOCK_ID = 0x6576656E


class EventStore(Store):
    """Append and follow events; keep sources' bookmarks."""

    def append_events(self, events: Sequence[NewEvent]) -> list[int]:
        """Append events in order and return their ids."""
        if not events:
            return []
        with self.transaction() as connection:
            if self.backend == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _EVENT_LOCK_ID}
                )
            now = self.now(connection)
            rows = [
                {
                    "run_id": e.run_id,
                    "at": now,
                    "site": e.site,
                    "tenant": e.tenant,
                    "kind": e.kind,
                    "payload": dict(e.payload),
                }
                for e in events
            ]
            # One multi-row statement; ids come back in the order the caller gave.
            table = EventRow.__table__  # type: ignore[attr-defined]
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return [int(i) for i in connection.execute(statement, rows).scalars()]

    def events_since(
        self, last_id: int = 0, *, run_id: RunId | None = None, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events with an id above ``last_id``, oldest first, at most ``limit``."""
        with self.reading() as session:
            query = select(EventRow).where(col(EventRow.id) > last_id)
            if run_id is not None:
                query = query.where(col(EventRow.run_id) == run_id)
            query = query.order_by(col(EventRow.id)).limit(limit)
            return [
                StoredEvent(
                    id=row.id,
                    at=row.at,
                    kind=row.kind,
                    payload=row.payload,
                    run_id=None if row.run_id is None else RunId(row.run_id),
                    site=row.site,
                    tenant=row.tenant,
                )
                for row in session.execute(query).scalars()
                if row.id is not None
            ]

    def get_bookmark(self, source: str, tenant: str) -> str | None:
        """Where ``source`` stopped reading for ``tenant``, or None before the first read."""
        with self.reading() as session:
            row = session.get(BookmarkRow, (source, tenant))
            return None if row is None else row.value

    def set_bookmark(self, source: str, tenant: str, value: str) -> None:
        """Remember where ``source`` stopped reading for ``tenant``."""
        with self.writing() as session:
            now: datetime = self.now(session)
            row = session.get(BookmarkRow, (source, tenant))
            if row is None:
                row = BookmarkRow(source=source, tenant=tenant, value=value, updated_at=now)
            else:
                row.value = value
                row.updated_at = now
            session.add(row)

    def max_event_id(self) -> int:
        """The id of the newest event recorded, 0 when there is none (one indexed read)."""
        with self.reading() as session:
            found = session.execute(
                select(col(EventRow.id)).order_by(col(EventRow.id).desc()).limit(1)
            ).scalar()
            return 0 if found is None else int(found)
