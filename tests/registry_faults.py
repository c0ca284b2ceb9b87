"""Real registry faults for tests: SQLite read-only or full, PostgreSQL gone or cut mid-write.

Every fault is the database's own answer, not a mock:

- :class:`SqliteFaults` turns a registry file read-only (``PRAGMA
  query_only``: SQLite answers ``SQLITE_READONLY``, "attempt to write a
  readonly database", exactly what a file or folder made read-only gives;
  ``chmod`` itself cannot be used, since root, which runs the suite, writes
  anyway) or full (``PRAGMA max_page_count`` set to the file's current size:
  ``SQLITE_FULL``, "database or disk is full", as on a full disk), for every
  connection of this process from its next operation on;
- :class:`PostgresFaults` refuses new connections to the registry's database
  and terminates its sessions (the server gone, from the farm's side), or
  terminates the session that is writing to the index, in the middle of its
  transaction (``pg_terminate_backend`` from another connection);
- :class:`AfterCreates` (an httpx transport) and :class:`AsgiAfterCreates`
  (around a served simulator) run one of them just after Moodle confirmed
  the n-th user creation, before the farm gets the answer: the batch Moodle
  just confirmed is the first one the registry cannot take.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import anyio.to_thread
import httpx
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, Pool

from farm.registry import Registry

#: SQLite's own largest max_page_count: "no limit".
_NO_LIMIT = 4294967294

_WAITING = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = :name "
    "AND wait_event_type = 'Lock' AND pid <> :mine"
)


class SqliteFaults:
    """Faults of one SQLite file, seen by every connection of this process when checked out."""

    def __init__(self, path: Path) -> None:
        self.path = str(path.resolve())
        self.mode: str | None = None
        event.listen(Pool, "checkout", self._checkout)

    def read_only(self) -> None:
        self.mode = "read-only"

    def full(self) -> None:
        self.mode = "full"

    def clear(self) -> None:
        self.mode = None

    def close(self) -> None:
        event.remove(Pool, "checkout", self._checkout)

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        files = {row[2] for row in dbapi_connection.execute("PRAGMA database_list")}
        if self.path not in files:
            return
        dbapi_connection.execute(f"PRAGMA query_only = {int(self.mode == 'read-only')}")
        if self.mode == "full":
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")
        else:
            dbapi_connection.execute(f"PRAGMA max_page_count = {_NO_LIMIT}")


class PostgresFaults:
    """Faults of the PostgreSQL database of ``url``, caused from connections of its own."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.database = str(parsed.database)
        self.admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.url = url
        self.killed: list[int] = []

    def refuse_connections(self) -> None:
        """The server is gone, as far as the farm can tell: no new session, none left."""
        with self.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.database},
            )

    def allow_connections(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true'))

    def kill_next_index_write(self, timeout: float = 30.0) -> threading.Thread:
        """Terminate the sessions that next write to the index, in their transaction.

        Locks the index table from a session of its own (returning once the
        lock is held), then, in a thread, terminates every session left
        waiting for it, and lets go. Join the thread to wait for the kill.
        """
        locker = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        connection = locker.connect()
        connection.execute(text("BEGIN"))
        connection.execute(text("LOCK TABLE index_entry IN ACCESS EXCLUSIVE MODE"))
        params = {
            "name": self.database,
            "mine": connection.execute(text("SELECT pg_backend_pid()")).scalar_one(),
        }

        def kill() -> None:
            try:
                with self.admin.connect() as admin:
                    deadline = time.monotonic() + timeout
                    while not admin.execute(_WAITING, params).first():
                        if time.monotonic() > deadline:
                            return
                        time.sleep(0.01)
                    time.sleep(0.2)  # every slice in flight reaches the lock: cut them all
                    pids = list(admin.execute(_WAITING, params).scalars())
                    for pid in pids:
                        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                    self.killed.extend(pids)
            finally:
                connection.execute(text("ROLLBACK"))
                connection.close()
                locker.dispose()

        thread = threading.Thread(target=kill, name="kill-index-writer", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.allow_connections()
        self.admin.dispose()


def wsfunction(body: bytes, query: bytes = b"") -> str:
    """The web-service function a Moodle REST call names, from its body or query string."""
    for part in (body, query):
        found = parse_qs(part.decode(errors="replace")).get("wsfunction")
        if found:
            return found[0]
    return ""


class AfterCreates(httpx.AsyncBaseTransport):
    """Passes calls to ``inner``; once Moodle confirmed the n-th user creation, runs ``action``.

    ``action`` runs in a worker thread before the farm gets Moodle's answer.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, action: Callable[[], object], n: int = 2
    ) -> None:
        self.inner = inner
        self.action = action
        self.n = n
        self.creates = 0
        self.fired = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if wsfunction(request.content, request.url.query) == "core_user_create_users":
            self.creates += 1
            if self.creates == self.n:
                await anyio.to_thread.run_sync(self.action)
                self.fired.set()
        return response


class AsgiAfterCreates:
    """An ASGI app around ``app`` doing what :class:`AfterCreates` does, for a served simulator."""

    def __init__(self, app: Any, action: Callable[[], object] | None = None, n: int = 2) -> None:
        self.app = app
        self.action = action
        self.n = n
        self.creates = 0
        self.fired = threading.Event()

    def arm(self, action: Callable[[], object], n: int = 2) -> None:
        self.action, self.n, self.creates = action, n, 0
        self.fired.clear()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        messages: list[Any] = []
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        creating = wsfunction(body, scope.get("query_string", b"")) == "core_user_create_users"

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        async def sending(message: Any) -> None:
            if creating and message["type"] == "http.response.start" and self.action is not None:
                self.creates += 1
                if self.creates == self.n:
                    action, self.action = self.action, None
                    await anyio.to_thread.run_sync(action)
                    self.fired.set()
            await send(message)

        await self.app(scope, replay, sending)


@contextmanager
def faulty_sqlite_registry(folder: Path) -> Iterator[tuple[Registry, SqliteFaults]]:
    """A fresh SQLite registry in ``folder`` and the faults that can be put on it."""
    path = folder / "registry.db"
    registry = Registry.open(f"sqlite:///{path}", check=False, create=True)
    registry.upgrade()
    faults = SqliteFaults(path)
    try:
        yield registry, faults
    finally:
        faults.close()
        registry.close()
