"""The per-site index and the journal of confirmed writes.

The index holds, per site and per source record, what Moodle confirmed the
farm wrote: Moodle's id, the record's digest, the field values last written
(so a planner can send only the fields that changed) and which tenants of the
site the record came from. It is only ever changed by
:meth:`IndexStore.record_confirmation`, each batch Moodle confirmed in one
transaction together with its journal lines (batches several sites confirm
at the same moment share one: :mod:`farm.registry.group_commit`): after a
crash the index and the journal agree with each other and with what Moodle
holds (invariant 4).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.engine import URL, Connection, Engine
from sqlmodel import col

from farm.applied import Confirmation
from farm.digest import json_text
from farm.index import SiteIndex
from farm.index_values import JsonValues
from farm.model import IndexEntry, Kind
from farm.registry.database import Store
from farm.registry.errors import RegistryUnavailable
from farm.registry.group_commit import GroupCommit
from farm.registry.journal import index_changes, journal_lines
from farm.registry.rows import JournalEntry, RunId, StoredEntry
from farm.registry.tables import IndexEntryRow, JournalRow

# Bound the parameters of one statement (SQLite allows 32766).
_CHUNK = 500
# The most batches one transaction records (each about a hundred rows of each table).
_GROUP = 32

_T = TypeVar("_T")


class IndexStore(Store):
    """Index reads and confirmed-batch writes, in the core's own types."""

    def __init__(self, engine: Engine, url: URL) -> None:
        super().__init__(engine, url)
        # Batches confirmed on several sites at once share a transaction (group_commit).
        self._confirmations: GroupCommit[_Confirmed] = GroupCommit(
            self._write_batches,
            key=lambda confirmed: confirmed.site,
            most=_GROUP,
            shared=(RegistryUnavailable,),
        )

    def site_index(self, site: str) -> SiteIndex:
        """The index of ``site`` as the planner and the applier read it.

        A sync reads it whole before planning, so it is read as plain
        columns from the driver: no ORM rows, no timestamps, and the values
        left as their JSON text (:class:`~farm.index_values.JsonValues`), decoded
        only for the entries a plan looks into. Each distinct list of
        tenants is decoded once and its set shared by the entries that hold it.
        """
        return self.fetch_site_index(site).index()

    def fetch_site_index(self, site: str) -> FetchedIndex:
        """:meth:`site_index` in two steps: the database's part now, the entries' later.

        A job on PostgreSQL fetches in a thread of its own, which waits on
        the database, and builds the entries under the limit of threads
        that compute (:mod:`farm.engine.computing`); on SQLite, fetching is
        computing too (see :attr:`Store.reads_row_by_row`).
        """
        sql = _SITE_INDEX_POSTGRES if self.backend == "postgresql" else _SITE_INDEX_SQLITE
        with self.reading() as session:
            # The driver's own cursor: its plain tuples cost a third less than result rows.
            dbapi = session.connection().connection.dbapi_connection
            assert dbapi is not None  # a session's connection is checked out
            cursor = dbapi.cursor()
            try:
                cursor.execute(sql, (site,))
                # Fetched whole: read a thousand rows at a time, 50 sites loading at once
                # took 60% more CPU (each fetch hands the GIL over), for no lower peak.
                rows = cursor.fetchall()
            finally:
                cursor.close()
        return FetchedIndex(site, rows)

    def index_entries(self, site: str, entity: str | None = None) -> list[StoredEntry]:
        """Every stored entry of ``site`` (of one ``entity`` if given), ordered by entity and key.

        With when and by which run each was last written: what an operator
        or a test inspects. A sync reads :meth:`site_index`.
        """
        with self.reading() as session:
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
                table.suspended,
            ).where(table.site == site)
            if entity is not None:
                query = query.where(table.entity == entity)
            query = query.order_by(table.entity, table.key)
            return [
                StoredEntry(
                    site=row[0],
                    entity=row[1],
                    key=row[2],
                    moodle_id=row[3],
                    digest=row[4],
                    values=row[5],
                    tenants=tuple(row[6]),
                    updated_at=row[7],
                    run_id=None if row[8] is None else RunId(row[8]),
                    suspended=bool(row[9]),
                )
                for row in session.execute(query)
            ]

    def record_confirmation(self, site: str, confirmation: Confirmation, *, run_id: RunId) -> None:
        """Record one batch Moodle confirmed: its index writes and its journal lines.

        The batch is recorded in one transaction: either all of it or none.
        Batches other threads record at the same time may share it
        (:mod:`farm.registry.group_commit`); this returns once the batch is
        committed.
        """
        self._confirmations.submit(_Confirmed(site, run_id, confirmation))

    def _write_batches(self, confirmed: Sequence[_Confirmed]) -> None:
        # Encoded by the one thread writing, before the transaction holds the write lock:
        # fifty sites' threads encoding at once would take the GIL from each other.
        batches = [_batch(item) for item in confirmed]
        with self.transaction() as connection:
            stamp = _timestamp(self.now(connection), self.backend)
            rows = [(*row, batch.run_id, stamp) for batch in batches for row in batch.index_rows]
            _insert_rows(connection, self.backend, _UPSERT, rows)
            for batch in batches:
                for entity, keys in batch.deletes.items():
                    for key_chunk in _chunks(keys, _CHUNK):
                        connection.execute(
                            delete(IndexEntryRow).where(
                                col(IndexEntryRow.site) == batch.site,
                                col(IndexEntryRow.entity) == entity,
                                col(IndexEntryRow.key).in_(key_chunk),
                            )
                        )
                if batch.lines:
                    _append_journal(
                        connection, self.backend, batch.run_id, batch.site, batch.lines, stamp
                    )

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
                    tenants=tuple(row.tenants),
                    person=row.person,
                )
                for row in session.execute(query).scalars()
            ]


class _Texts:
    """JSON texts of one batch, each value encoded once.

    A creation's journal line carries the very values its index row holds, and
    the tenants of a site's records repeat: both are encoded once per batch.
    Values read from the index come with their text
    (:class:`~farm.index_values.JsonValues`), which is stored as it is; those of a
    record Moodle confirmed are encoded here, in the registry's thread.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, str]] = {}
        self._tenants: dict[tuple[str, ...], str] = {}

    def of(self, value: Any) -> str:
        if value is None:
            return "null"
        found = self._by_id.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        text = value.text if type(value) is JsonValues else _json(value)
        self._by_id[id(value)] = (value, text)
        return text

    def of_tenants(self, tenants: Iterable[str]) -> str:
        key = tuple(tenants)
        text = self._tenants.get(key)
        if text is None:
            text = self._tenants[key] = _json(sorted(key))
        return text


class FetchedIndex:
    """A site's index rows as the database gave them, until :meth:`index` builds the entries."""

    __slots__ = ("_rows", "_site")

    def __init__(self, site: str, rows: Sequence[Sequence[Any]]) -> None:
        self._site = site
        self._rows: Sequence[Sequence[Any]] | None = rows

    def index(self) -> SiteIndex:
        """The entries, in the core's own types, once: the rows are let go."""
        rows, self._rows = self._rows, None
        if rows is None:
            raise RuntimeError(f"the index of site {self._site} was built from these rows already")
        return SiteIndex(_entries(self._site, rows))


@dataclass(frozen=True, slots=True)
class _Confirmed:
    """A batch Moodle confirmed, handed in to be recorded."""

    site: str
    run_id: RunId
    confirmation: Confirmation


@dataclass(frozen=True, slots=True)
class _Batch:
    """One confirmed batch's rows, encoded and ready to write."""

    site: str
    run_id: RunId
    index_rows: list[tuple[Any, ...]]
    deletes: dict[str, list[str]]
    lines: list[tuple[Any, ...]]


def _batch(confirmed: _Confirmed) -> _Batch:
    site, run_id = confirmed.site, confirmed.run_id
    upserts, deletes = index_changes(confirmed.confirmation.writes)
    journal = journal_lines(confirmed.confirmation)
    texts = _Texts()
    index_rows = [
        (
            site,
            w.entity,
            w.key,
            w.moodle_id,
            w.digest,
            texts.of(w.values),
            texts.of_tenants(w.tenants),
            w.suspended,
        )
        for w in upserts
    ]
    lines = [
        (
            e.entity,
            e.action,
            e.key,
            e.moodle_id,
            texts.of(e.old),
            texts.of(e.new),
            texts.of_tenants(e.tenants),
            e.person,
        )
        for e in journal
    ]
    by_entity: dict[str, list[str]] = defaultdict(list)
    for entity, key in deletes:
        by_entity[entity].append(key)
    return _Batch(site, run_id, index_rows, dict(by_entity), lines)


def _append_journal(
    connection: Connection,
    backend: str,
    run_id: RunId,
    site: str,
    lines: Sequence[tuple[Any, ...]],
    stamp: Any,
) -> None:
    # One job writes to a site at a time (the site lease), so max + 1 does not race.
    last_seq = _LAST_SEQ_POSTGRES if backend == "postgresql" else _LAST_SEQ_SQLITE
    last = connection.exec_driver_sql(last_seq, (run_id, site)).scalar_one()
    first = int(last or 0) + 1
    rows = [(run_id, site, seq, *line, stamp) for seq, line in enumerate(lines, first)]
    _insert_rows(connection, backend, _JOURNAL, rows)


# The two statements every confirmed batch runs go to the driver as they are, one
# multi-row statement per chunk: SQLAlchemy's per-row parameter processing cost
# more CPU than the database's own work, and a driver running a statement per row
# hands the GIL over at every row, which other busy threads turn into waits.
_UPSERT = (
    'INSERT INTO index_entry (site, entity, "key", moodle_id, digest, "values", tenants, '
    "suspended, run_id, updated_at) VALUES {} "
    'ON CONFLICT (site, entity, "key") DO UPDATE SET moodle_id = excluded.moodle_id, '
    'digest = excluded.digest, "values" = excluded."values", tenants = excluded.tenants, '
    "suspended = excluded.suspended, run_id = excluded.run_id, updated_at = excluded.updated_at"
)
_JOURNAL = (
    'INSERT INTO journal (run_id, site, seq, entity, action, "key", moodle_id, old, new, '
    "tenants, person, at) VALUES {}"
)
_LAST_SEQ_SQLITE = "SELECT max(seq) FROM journal WHERE run_id = ? AND site = ?"
_LAST_SEQ_POSTGRES = "SELECT max(seq) FROM journal WHERE run_id = %s AND site = %s"
# A site's whole index, in the order the planner meets it; PostgreSQL hands jsonb over as
# text, which the driver would otherwise decode into objects the planner mostly never reads.
_SITE_INDEX_SQLITE = (
    'SELECT entity, "key", moodle_id, digest, "values", tenants, suspended FROM index_entry '
    'WHERE site = ? ORDER BY entity, "key"'
)
_SITE_INDEX_POSTGRES = (
    'SELECT entity, "key", moodle_id, digest, "values"::text, tenants::text, suspended '
    'FROM index_entry WHERE site = %s ORDER BY entity, "key"'
)
_KINDS = {kind.value: kind for kind in Kind}
# Which columns of each statement hold JSON (cast to jsonb on PostgreSQL).
_JSON_COLUMNS = {_UPSERT: (5, 6), _JOURNAL: (7, 8, 9)}


def _entries(site: str, rows: Iterable[Sequence[Any]]) -> Iterator[IndexEntry]:
    """The entries of :data:`_SITE_INDEX_SQLITE`'s rows (or PostgreSQL's), in their order.

    Each entry's fields are set as the frozen dataclass's own ``__init__`` sets
    them, without its call and defaults: a third of the cost of building it,
    on every entry of every site before every plan.
    """
    kinds = _KINDS
    tenant_sets: dict[str, frozenset[str]] = {}
    new, put = object.__new__, object.__setattr__
    for entity, key, moodle_id, digest, values, tenants, suspended in rows:
        kind = kinds.get(entity)
        if kind is None:
            raise ValueError(f"index of site {site}: {key!r} has an unknown entity {entity!r}")
        held = tenant_sets.get(tenants)
        if held is None:
            held = tenant_sets[tenants] = frozenset(json.loads(tenants))
        entry = new(IndexEntry)
        put(entry, "kind", kind)
        put(entry, "key", key)
        put(entry, "moodle_id", moodle_id)
        put(entry, "digest", digest)
        put(entry, "values", JsonValues(values))
        put(entry, "tenants", held)
        put(entry, "suspended", bool(suspended))
        yield entry


# The fields _entries sets, which must be all of IndexEntry's.
assert [f.name for f in fields(IndexEntry)] == [
    "kind", "key", "moodle_id", "digest", "values", "tenants", "suspended"
]  # fmt: skip


def _insert_rows(
    connection: Connection, backend: str, sql: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Run ``sql`` with rows already encoded (:func:`_json`, :func:`_timestamp`)."""
    if not rows:
        return
    width = len(rows[0])
    if backend == "postgresql":
        casts = _JSON_COLUMNS[sql]
        group = "(" + ", ".join("%s::jsonb" if i in casts else "%s" for i in range(width)) + ")"
    else:
        group = "(" + ", ".join("?" * width) + ")"
    for chunk in _chunks(rows, _CHUNK):
        statement = sql.format(", ".join([group] * len(chunk)))
        connection.exec_driver_sql(statement, tuple(v for row in chunk for v in row))


def _json(value: Any) -> str:
    """A JSON column's text (None is JSON null); SQLAlchemy's JSON type reads it back."""
    return json_text(value if value is None or type(value) in (list, dict) else dict(value))


def _timestamp(value: datetime, backend: str) -> Any:
    """A timestamp column's value: SQLite keeps naive UTC text (see UTCDateTime)."""
    utc = value.astimezone(UTC)
    if backend == "postgresql":
        return utc
    return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _chunks(items: Sequence[_T], size: int) -> Iterable[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
