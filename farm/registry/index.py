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

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
            query = select(IndexEntryRow).where(col(IndexEntryRow.site) == site)
            if entity is not None:
                query = query.where(col(IndexEntryRow.entity) == entity)
            query = query.order_by(col(IndexEntryRow.entity), col(IndexEntryRow.key))
            return [_entry(row) for row in session.execute(query).scalars()]

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
            rows = [
                {
                    "site": site,
                    "entity": w.entity,
                    "key": w.key,
                    "moodle_id": w.moodle_id,
                    "digest": w.digest,
                    "values": dict(w.values),
                    "tenants": sorted(w.tenants),
                    "run_id": run_id,
                    "updated_at": now,
                }
                for w in upserts
            ]
            for chunk in _chunks(rows, _CHUNK):
                session.execute(self._upsert_statement(), chunk)
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

    def _upsert_statement(self) -> Any:
        insert = pg_insert if self.backend == "postgresql" else sqlite_insert
        statement = insert(IndexEntryRow)
        updated = ("moodle_id", "digest", "values", "tenants", "run_id", "updated_at")
        return statement.on_conflict_do_update(
            index_elements=["site", "entity", "key"],
            set_={name: statement.excluded[name] for name in updated},
        )


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
    for entry in entries:
        seq += 1
        session.add(
            JournalRow(
                run_id=run_id,
                site=site,
                seq=seq,
                entity=entry.entity,
                action=entry.action,
                key=entry.key,
                moodle_id=entry.moodle_id,
                old=None if entry.old is None else dict(entry.old),
                new=None if entry.new is None else dict(entry.new),
                at=now,
            )
        )


def _chunks(items: Sequence[_T], size: int) -> Iterable[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _entry(row: IndexEntryRow) -> IndexEntry:
    return IndexEntry(
        site=row.site,
        entity=row.entity,
        key=row.key,
        moodle_id=row.moodle_id,
        digest=row.digest,
        values=row.values,
        tenants=tuple(row.tenants),
        updated_at=row.updated_at,
        run_id=None if row.run_id is None else RunId(row.run_id),
    )
