"""Engines, column types and sessions shared by every part of the registry.

Choices made here, once for every operation:

- Timestamps are UTC and come back timezone-aware on both backends
  (PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text).
- SQLite runs in WAL mode with a busy timeout and foreign keys on. Every
  writing operation opens its transaction with ``BEGIN IMMEDIATE``, so two
  processes that read-then-write wait for each other instead of failing with
  "database is locked"; reading operations use a plain deferred ``BEGIN`` and
  never wait for writers. Within one process, writers of the same file also
  queue on one lock held from ``BEGIN IMMEDIATE`` to ``COMMIT``: SQLite's busy
  handler polls with growing sleeps, so fifty jobs' threads contending for the
  file would starve some of them past the busy timeout, while a lock hands
  the file over as soon as it is free. The busy timeout still guards against
  other processes.
- Every operation runs in a session of its own (:meth:`Store.reading`,
  :meth:`Store.writing`), so one :class:`Store` may be shared by threads.
  The writes a sync makes for each confirmed batch and each burst of events
  take :meth:`Store.transaction` instead: the same transaction on a bare
  connection, without the ORM session's bookkeeping, which cost more CPU
  than those statements themselves.
- "Now" is the database's clock on PostgreSQL, the one clock every machine of
  a distributed farm shares; on SQLite, whose processes share one machine, it
  is the local UTC clock.
- A failure of the database itself, rather than of the farm's code, becomes a
  :class:`~farm.registry.errors.RegistryUnavailable` naming the registry (its
  URL, password masked) and the driver's reason: a lost or refused connection,
  a lock held past the busy timeout, and also a registry that answers but
  cannot be written (a read-only SQLite file or folder, a full disk, a
  PostgreSQL server in read-only mode), which is :class:`RegistryUnwritable`.
  Callers handle them all as the registry failing; a constraint violation or
  an SQL error stays what it is, a bug.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Engine, create_engine, event, exc, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from farm.registry.errors import RegistryUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10

# SQLite connections are cheap: enough for every worker thread of a busy process.
SQLITE_POOL_SIZE = 64
POSTGRES_POOL_SIZE = 10
POSTGRES_POOL_OVERFLOW = 30

# One write lock per SQLite file, shared by every engine of the process on that file.
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()

JSONValue = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column: ``jsonb`` on PostgreSQL, text on SQLite."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored and returned in UTC, timezone-aware either way."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the registry stores timezone-aware timestamps only")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep the wall clock of UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def mask_url(url: str | URL) -> str:
    """The URL as it may be shown: any password replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        # An unparsable URL is shown up to its credentials only.
        text = str(url)
        scheme, sep, rest = text.partition("://")
        return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else text
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> str | None:
    """The file of a SQLite URL, or None for in-memory or non-SQLite URLs."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


def write_lock(url: URL) -> threading.Lock | None:
    """The process-wide lock writers of this SQLite file take, or None for other databases."""
    path = sqlite_path(url)
    if path is None:
        return None
    key = os.path.realpath(path)
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def make_engine(url: URL) -> Engine:
    """An engine for ``url`` with the registry's per-backend settings."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=0,
            pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            # The connection given back last is the next one taken: a busy process
            # works through a few connections, each with its own page cache (up to
            # 2 MB), instead of filling the caches of all of them in turn (60 MB more
            # at the peak of a 100,000-person first sync).
            pool_use_lifo=True,
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if backend == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=POSTGRES_POOL_SIZE,
            max_overflow=POSTGRES_POOL_OVERFLOW,
            connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
        )
    return create_engine(url)


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _begin_sqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # journal_mode persists in the file: only ask for it when it is not set,
        # so that opening a registry never writes to it.
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("farm_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def driver_reason(error: BaseException, url: URL) -> str:
    """The first meaningful words of a driver's error, with any password removed."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    reason = "; ".join(lines[:2]) or type(original).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return reason


class RegistryUnwritable(RegistryUnavailable):
    """The registry answers but refuses to write: read-only file or database, full disk."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(url, reason)
        self.args = (f"the registry at {url} cannot be written: {reason}",)


#: SQLite result codes of a database that cannot take writes (extended codes start so).
_SQLITE_UNWRITABLE = ("SQLITE_READONLY", "SQLITE_FULL")
#: SQLite result codes of a file that cannot be used: I/O errors, gone, not a database.
_SQLITE_BROKEN = ("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_CORRUPT", "SQLITE_NOTADB")
#: PostgreSQL SQLSTATE classes of a server that failed rather than the statement:
#: connection exception, insufficient resources, operator intervention, system error.
_POSTGRES_FAULT_CLASSES = ("08", "53", "57", "58")
_POSTGRES_UNWRITABLE = ("25006", "53100")  # read-only transaction, disk full


def registry_fault(error: exc.DBAPIError, url: URL) -> RegistryUnavailable | None:
    """The registry's own failure behind a driver error, or None when it is the statement's."""
    original = getattr(error, "orig", None)
    reason = driver_reason(error, url)
    masked = mask_url(url)
    name = str(getattr(original, "sqlite_errorname", "") or "")
    if name.startswith(_SQLITE_UNWRITABLE):
        return RegistryUnwritable(masked, reason)
    if name.startswith(_SQLITE_BROKEN):
        return RegistryUnavailable(masked, reason)
    state = str(getattr(original, "sqlstate", "") or "")
    if state in _POSTGRES_UNWRITABLE:
        return RegistryUnwritable(masked, reason)
    if state[:2] in _POSTGRES_FAULT_CLASSES:
        return RegistryUnavailable(masked, reason)
    if isinstance(error, exc.OperationalError | exc.InterfaceError):
        return RegistryUnavailable(masked, reason)
    return None


class Store:
    """The engine and the session discipline every registry operation follows."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self._engine = engine
        self._url = url
        self._write_lock = write_lock(url)

    @property
    def url(self) -> str:
        """The registry's URL, password masked."""
        return mask_url(self._url)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._url.get_backend_name()

    @property
    def reads_row_by_row(self) -> bool:
        """Whether reading a large result is the reading thread's own work (SQLite).

        SQLite's driver steps through a result a row at a time in this
        process, handing the GIL over and taking it back for each row;
        PostgreSQL's gets the result whole from the server, whose work it is.
        """
        return self.backend == "sqlite"

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for one reading operation."""
        with self._unavailable_on_error(), Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session for one writing operation: one transaction, committed at the end."""
        with self._serialised(), self._unavailable_on_error(), Session(self._engine) as session:
            # Procuring the connection first is what makes SQLite begin IMMEDIATE.
            session.connection(execution_options={"farm_write": True})
            yield session
            session.commit()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """:meth:`writing` on a bare connection, for statements that need no ORM session."""
        with self._serialised(), self._unavailable_on_error(), self._engine.connect() as connection:
            # Set before the transaction begins: it is what makes SQLite begin IMMEDIATE.
            connection.execution_options(farm_write=True)
            with connection.begin():
                yield connection

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        # See the module docstring: in-process writers of a SQLite file queue here.
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    @contextmanager
    def _unavailable_on_error(self) -> Iterator[None]:
        # The database failing (see the module docstring): say which registry and why.
        try:
            yield
        except exc.TimeoutError as error:
            raise RegistryUnavailable(self.url, driver_reason(error, self._url)) from error
        except exc.DBAPIError as error:
            fault = registry_fault(error, self._url)
            if fault is None:
                raise
            raise fault from error

    def now(self, session: Session | Connection) -> datetime:
        """The current UTC time by the registry's clock (see the module docstring)."""
        if self.backend == "postgresql":
            value = session.execute(select(func.clock_timestamp())).scalar_one()
            assert isinstance(value, datetime)
            return value.astimezone(UTC)
        return datetime.now(UTC)
