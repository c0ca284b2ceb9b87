"""Leases: mutual exclusion per site and per tenant, across processes and machines.

A lease is a row keyed ``site:NAME`` or ``tenant:ID`` naming its holder
(``host:pid:uuid``, see :func:`lease_holder`) and when it expires. Acquiring
is atomic on both backends without any lock held between statements:

1. insert the row, doing nothing if the key exists; one inserted row means
   the lease is ours;
2. otherwise update the row only where it has expired or is already ours;
   one updated row means the lease is ours (a holder that died is taken
   over once its lease expires, so it never blocks for ever);
3. otherwise read who holds it and since when.

On PostgreSQL the update re-checks its condition against the row a
concurrent winner just committed, and "now" is the database's clock, shared
by every machine. On SQLite the transaction begins IMMEDIATE, so the three
steps run alone. A holder renews well before expiry (a third of the TTL is a
good rhythm); a renewal that finds the lease gone or taken returns None and
the holder must stop writing.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, delete, literal, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from farm.registry.database import Store
from farm.registry.rows import Lease, LeaseHeld
from farm.registry.tables import LeaseRow

_TABLE: Table = sa_inspect(LeaseRow).local_table  # type: ignore[assignment]


def lease_holder() -> str:
    """A holder name unique to this process and call: ``host:pid:uuid``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class LeaseStore(Store):
    """Acquire, renew, release and list leases."""

    def acquire_lease(self, key: str, holder: str, ttl: timedelta) -> Lease | LeaseHeld:
        """Take the lease ``key`` for ``ttl``, or say who holds it.

        Acquiring a lease this holder already has renews it and keeps its
        ``acquired_at``.
        """
        _check_ttl(ttl)
        with self.writing() as session:
            now = self.now(session)
            expires = now + ttl
            inserted = session.execute(
                self._insert()
                .values(key=key, holder=holder, acquired_at=now, renewed_at=now, expires_at=expires)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            if _rowcount(inserted) == 1:
                return Lease(key=key, holder=holder, acquired_at=now, expires_at=expires)
            taken = session.execute(
                update(_TABLE)
                .where(
                    _TABLE.c.key == key,
                    or_(_TABLE.c.expires_at <= now, _TABLE.c.holder == holder),
                )
                .values(
                    acquired_at=_keep_if_ours(holder, now),
                    holder=holder,
                    renewed_at=now,
                    expires_at=expires,
                )
            )
            row = _read(session, key)
            if _rowcount(taken) == 1 and row is not None:
                return Lease(key=key, holder=holder, acquired_at=row[1], expires_at=expires)
            if row is None:
                # Released between our insert and update: the next attempt will win or lose.
                return self.acquire_lease(key, holder, ttl)
            return LeaseHeld(key=key, holder=row[0], since=row[1], expires_at=row[2])

    def renew_lease(self, key: str, holder: str, ttl: timedelta) -> Lease | None:
        """Extend a lease this holder has to now + ``ttl``; None if it was lost."""
        _check_ttl(ttl)
        with self.writing() as session:
            now = self.now(session)
            expires = now + ttl
            result = session.execute(
                update(_TABLE)
                .where(_TABLE.c.key == key, _TABLE.c.holder == holder)
                .values(renewed_at=now, expires_at=expires)
            )
            if _rowcount(result) != 1:
                return None
            row = _read(session, key)
            assert row is not None
            return Lease(key=key, holder=holder, acquired_at=row[1], expires_at=expires)

    def release_lease(self, key: str, holder: str) -> bool:
        """Give a lease back; False if this holder did not have it (any more)."""
        with self.writing() as session:
            result = session.execute(
                delete(_TABLE).where(_TABLE.c.key == key, _TABLE.c.holder == holder)
            )
            return _rowcount(result) == 1

    def leases(self, prefix: str = "") -> list[LeaseHeld]:
        """The leases not yet expired whose key starts with ``prefix``, by key."""
        with self.reading() as session:
            now = self.now(session)
            rows = session.execute(
                select(_TABLE.c.key, _TABLE.c.holder, _TABLE.c.acquired_at, _TABLE.c.expires_at)
                .where(_TABLE.c.key.startswith(prefix, autoescape=True))
                .where(_TABLE.c.expires_at > now)
                .order_by(_TABLE.c.key)
            ).all()
            return [LeaseHeld(key=k, holder=h, since=s, expires_at=e) for k, h, s, e in rows]

    def _insert(self) -> Any:
        return (pg_insert if self.backend == "postgresql" else sqlite_insert)(_TABLE)


def _keep_if_ours(holder: str, now: datetime) -> Any:
    return case(
        (_TABLE.c.holder == holder, _TABLE.c.acquired_at),
        else_=literal(now, _TABLE.c.acquired_at.type),
    )


def _read(session: Session, key: str) -> tuple[str, datetime, datetime] | None:
    row = session.execute(
        select(_TABLE.c.holder, _TABLE.c.acquired_at, _TABLE.c.expires_at).where(
            _TABLE.c.key == key
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _check_ttl(ttl: timedelta) -> None:
    if ttl <= timedelta(0):
        raise ValueError("a lease's TTL must be positive")
