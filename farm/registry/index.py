"""The per-site index and the journal of confirmed writes.

The index holds, per site and per source record, what Moodle confirmed the
farm wrote: Moodle's id, the record's digest, the field values last written
(so a planner can send only the fields that changed) and which tenants of the
site the record came from. It is only ever changed by
:meth:`IndexStore.apply_index_changes`, one transaction per batch Moodle
confirmed, together with that batch's journal lines: after a crash the index
and the journal agree with each other and with what Moodle holds
(invariant 4).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from farm.registry.database import Store
from farm.registry.rows import (
    IndexEntry,
    IndexKey,
    IndexWrite,
    JournalEntry,
    JournalWrite,
    RunId,
)
from farm.registry.tables import IndexEntryRow, JournalRow

# Bound the parameters of one statement (SQLite allows 32766).
_CHUNK = 500

_T = TypeVar("_T")


class IndexStore(Store):
    """Index reads and confirmed-batch writes."""

    def index_entries(self, site: str, entity: str | None = None) -> list[IndexEntry]:
        """Every index entry of ``site`` (of one ``entity`` if given), ordered by entity and key."""
        with self.reading() as session:
            # Columns, not ORM objects: a site's index is read whole before every plan.
            table = IndexEntryRow.__table__.c  # type: ignore[attr-defined]
            query = select(
                table.site,
                table.entity,
                table.key,
                table.moodle_id,
                table.digest,
                table["values"],
                table.tenants,
                table.updated_at,
                table.run_id,
            ).where(table.site == site)
            if entity is not None:
                query = query.where(table.entity == entity)
            query = query.order_by(table.entity, table.key)
            return [
                IndexEntry(
                    site=row[0],
                    entity=row[1],
                    key=row[2],
                    moodle_id=row[3],
                    digest=row[4],
                    values=row[5],
                    tenants=tuple(row[6]),
                    updated_at=row[7],
                    run_id=None if row[8] is None else RunId(row[8]),
                )
                for row in session.execute(query)
            ]

    def apply_index_changes(
        self,
        site: str,
        upserts: Sequence[IndexWrite] = (),
        deletes: Sequence[IndexKey] = (),
        *,
        run_id: RunId | None = None,
        journal: Sequence[JournalWrite] = (),
    ) -> None:
        """Record one batch Moodle confirmed: index upserts, deletions and journal lines.

        All of it is one transaction: either the whole batch is recorded or
        none of it. Journal lines need ``run_id``.
        """
        if journal and run_id is None:
            raise ValueError("journal lines belong to a run: pass run_id")
        with self.writing() as session:
            now = self.now(session)
            _execute_many(
                session,
                self.backend,
                _UPSERT,
                _UPSERT_KINDS,
                [
                    (
                        site,
                        w.entity,
                        w.key,
                        w.moodle_id,
                        w.digest,
                        dict(w.values),
                        sorted(w.tenants),
                        run_id,
                        now,
                    )
                    for w in upserts
                ],
            )
            by_entity: defaultdict[str, list[str]] = defaultdict(list)
            for d in deletes:
                by_entity[d.entity].append(d.key)
            for entity, keys in by_entity.items():
                for key_chunk in _chunks(keys, _CHUNK):
                    session.execute(
                        delete(IndexEntryRow).where(
                            col(IndexEntryRow.site) == site,
                            col(IndexEntryRow.entity) == entity,
                            col(IndexEntryRow.key).in_(key_chunk),
                        )
                    )
            if journal:
                assert run_id is not None
                _append_journal(session, run_id, site, journal, now)

    def append_journal(self, run_id: RunId, site: str, entries: Sequence[JournalWrite]) -> None:
        """Append journal lines without touching the index (a write the index does not track)."""
        with self.writing() as session:
            _append_journal(session, run_id, site, entries, self.now(session))

    def journal(self, run_id: RunId, site: str | None = None) -> list[JournalEntry]:
        """The journal of a run, in write order per site."""
        with self.reading() as session:
            query = select(JournalRow).where(col(JournalRow.run_id) == run_id)
            if site is not None:
                query = query.where(col(JournalRow.site) == site)
            query = query.order_by(col(JournalRow.site), col(JournalRow.seq))
            return [
                JournalEntry(
                    run_id=RunId(row.run_id),
                    site=row.site,
                    seq=row.seq,
                    entity=row.entity,
                    action=row.action,
                    key=row.key,
                    moodle_id=row.moodle_id,
                    old=row.old,
                    new=row.new,
                    at=row.at,
                )
                for row in session.execute(query).scalars()
            ]


def _append_journal(
    session: Session, run_id: RunId, site: str, entries: Iterable[JournalWrite], now: Any
) -> None:
    # One job writes to a site at a time (the site lease), so max + 1 does not race.
    last = session.execute(
        select(func.max(col(JournalRow.seq))).where(
            col(JournalRow.run_id) == run_id, col(JournalRow.site) == site
        )
    ).scalar_one()
    seq = int(last or 0)
    rows: list[tuple[Any, ...]] = []
    for entry in entries:
        seq += 1
        rows.append(
            (
                run_id,
                site,
                seq,
                entry.entity,
                entry.action,
                entry.key,
                entry.moodle_id,
                None if entry.old is None else dict(entry.old),
                None if entry.new is None else dict(entry.new),
                now,
            )
        )
    backend = session.get_bind().dialect.name
    _execute_many(session, backend, _JOURNAL, "pppppppjjt", rows)


# The two statements every confirmed batch runs, sent to the driver as they are:
# SQLAlchemy's per-row parameter processing cost more CPU than SQLite's own work.
# Placeholders: p plain, j JSON, t timestamp (see _execute_many).
_UPSERT = (
    'INSERT INTO index_entry (site, entity, "key", moodle_id, digest, "values", tenants, '
    "run_id, updated_at) VALUES ({}) "
    'ON CONFLICT (site, entity, "key") DO UPDATE SET moodle_id = excluded.moodle_id, '
    'digest = excluded.digest, "values" = excluded."values", tenants = excluded.tenants, '
    "run_id = excluded.run_id, updated_at = excluded.updated_at"
)
_JOURNAL = (
    'INSERT INTO journal (run_id, site, seq, entity, action, "key", moodle_id, old, new, at) '
    "VALUES ({})"
)
# Index rows' columns: site, entity, key, moodle_id, digest, values, tenants, run_id, updated_at.
_UPSERT_KINDS = "pppppjjpt"


def _execute_many(
    session: Session, backend: str, sql: str, kinds: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Run ``sql`` once per row through the driver, encoding values as the column types would.

    JSON goes as text (``jsonb`` on PostgreSQL); timestamps as SQLite's naive UTC
    text, or as aware datetimes for PostgreSQL.
    """
    if not rows:
        return
    postgres = backend == "postgresql"
    marks = {"p": "%s", "j": "%s::jsonb", "t": "%s"} if postgres else dict.fromkeys("pjt", "?")
    statement = sql.format(", ".join(marks[k] for k in kinds))
    json_at = [i for i, k in enumerate(kinds) if k == "j"]
    time_at = [i for i, k in enumerate(kinds) if k == "t"]
    encoded: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for i in json_at:
            values[i] = json.dumps(values[i])
        for i in time_at:
            values[i] = _timestamp(values[i], postgres)
        encoded.append(tuple(values))
    connection = session.connection()
    for chunk in _chunks(encoded, _CHUNK):
        connection.exec_driver_sql(statement, chunk)


def _timestamp(value: datetime, postgres: bool) -> Any:
    utc = value.astimezone(UTC)
    return utc if postgres else utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _chunks(items: Sequence[_T], size: int) -> Iterable[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
