"""Leases: mutual exclusion per site and per tenant, across processes and machines.

A lease is a row keyed ``site:NAME`` or ``tenant:ID`` naming its holder
(``host:pid:id:started:machine``, see :func:`lease_holder`) and when it
expires. Acquiring is atomic on both backends without any lock held between
statements:

1. insert the row, doing nothing if the key exists; one inserted row means
   the lease is ours;
2. otherwise update the row only where it has expired or is already ours;
   one updated row means the lease is ours (a holder that died is taken
   over once its lease expires, so it never blocks for ever);
3. otherwise read who holds it and since when; if that holder is a process of
   this machine that is gone (no such PID, a zombie, or a PID that now
   belongs to a process started at another time), take the lease over at
   once, updating the row only where it still names that holder, and log
   whose lease was reclaimed;
4. otherwise say who holds it.

A holder of another machine, or one whose name does not say when its process
started (older farms named holders ``host:pid:id``), keeps its lease until
its TTL: this machine cannot tell whether it lives. "This machine" is the
host name plus a digest of the kernel's boot id and the PID namespace, so a
container with its own PID namespace, or another machine answering to the
same host name, is never taken for this one.

On PostgreSQL the update re-checks its condition against the row a
concurrent winner just committed, and "now" is the database's clock, shared
by every machine. On SQLite the transaction begins IMMEDIATE, so the steps
run alone. A holder renews well before expiry (a third of the TTL is a good
rhythm); a renewal that finds the lease gone or taken returns None and the
holder must stop writing.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import Table, case, delete, literal, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from farm.registry.database import Store
from farm.registry.rows import Lease, LeaseHeld
from farm.registry.tables import LeaseRow

_TABLE: Table = sa_inspect(LeaseRow).local_table  # type: ignore[assignment]

log = structlog.get_logger("farm.leases")

_PROC: Final = "/proc"
_MACHINE: Final = re.compile(r"[0-9a-f]{12}")


def lease_holder(role: str = "") -> str:
    """A holder name unique to this process and call.

    ``host:pid:id:started:machine``, where ``started`` is when the process
    started (clock ticks after boot, field 22 of ``/proc/PID/stat``) and
    ``machine`` a digest of this boot and PID namespace, so that another
    process of this machine can tell whether the holder still runs. Where
    ``/proc`` cannot say (not Linux), the name is ``host:pid:id`` and the
    holder's leases only ever end with their TTL. A ``role`` prefixes the id
    (``tick-3f2a…``) so that whoever finds the lease taken can tell what kind
    of holder has it (:func:`holder_role`).
    """
    nonce = uuid.uuid4().hex[:12]
    if role:
        nonce = f"{role}-{nonce}"
    me = HolderProcess.this_process()
    return me.holder(nonce) if me is not None else f"{socket.gethostname()}:{os.getpid()}:{nonce}"


def holder_role(holder: str) -> str:
    """The ``role`` a holder name was made with by :func:`lease_holder`, or ``""``."""
    parts = holder.rsplit(":", 4) if HolderProcess.of(holder) is not None else holder.rsplit(":", 2)
    if len(parts) < 3:
        return ""
    role, dash, _ = parts[2].rpartition("-")
    return role if dash else ""


@dataclass(frozen=True, slots=True)
class Holder:
    """The process a holder name points at, as far as the name says: its host and PID.

    Every holder name this farm writes says both (:func:`lease_holder`); an
    older or foreign name that does not is kept whole as the host.
    """

    host: str
    pid: int | None

    @classmethod
    def of(cls, holder: str) -> Holder:
        process = HolderProcess.of(holder)
        if process is not None:
            return cls(process.host, process.pid)
        # ``host:pid:nonce`` where /proc could not say more; anything else is shown as is.
        parts = holder.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return cls(parts[0], int(parts[1]))
        return cls(holder, None)

    @property
    def here(self) -> bool:
        """Whether the holder is this very process."""
        return self.pid == os.getpid() and self.host == socket.gethostname()

    def place(self, this: str = "of this process") -> str:
        """``on web1 (process 4242)``, ``of web1``, or ``this`` when it is this process."""
        if self.here:
            return this
        if self.pid is None:
            return f"of {self.host}"
        return f"on {self.host} (process {self.pid})"


@dataclass(frozen=True, slots=True)
class HolderProcess:
    """The process a holder name says holds a lease: host, PID, start time, machine."""

    host: str
    pid: int
    started: int
    machine: str

    @classmethod
    def this_process(cls) -> HolderProcess | None:
        """This process, or None where ``/proc`` does not say enough."""
        machine = _this_machine()
        pid = os.getpid()
        stat = _proc_stat(pid)
        if machine is None or stat is None:
            return None
        return cls(host=socket.gethostname(), pid=pid, started=stat[1], machine=machine)

    @classmethod
    def of(cls, holder: str) -> HolderProcess | None:
        """The process named by ``holder``, or None if the name does not say it all."""
        parts = holder.rsplit(":", 4)
        if len(parts) != 5:
            return None
        host, pid, _, started, machine = parts
        if not (pid.isdigit() and started.isdigit() and _MACHINE.fullmatch(machine)):
            return None
        return cls(host=host, pid=int(pid), started=int(started), machine=machine)

    def holder(self, nonce: str) -> str:
        """A holder name for this process: ``host:pid:nonce:started:machine``."""
        return f"{self.host}:{self.pid}:{nonce}:{self.started}:{self.machine}"

    def gone(self) -> str | None:
        """Why this process is certainly not running any more, or None.

        Only a process of this machine can be known gone; for any other, or
        when ``/proc`` cannot tell, the answer is None.
        """
        if self.pid <= 0 or self.host != socket.gethostname() or self.machine != _this_machine():
            return None
        stat = _proc_stat(self.pid)
        if stat is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return f"process {self.pid} of {self.host} is gone"
            except OSError:  # it exists, owned by another user
                return None
            return None  # it exists but /proc does not show it: cannot tell
        state, started = stat
        if started != self.started:
            return (
                f"process {self.pid} of {self.host} is gone "
                "(its PID now belongs to another process)"
            )
        if state in ("Z", "X"):
            return f"process {self.pid} of {self.host} is dead (not yet reaped)"
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """State and start time (field 3 and 22) of ``/proc/PID/stat``, or None if unreadable."""
    try:
        with open(f"{_PROC}/{pid}/stat", encoding="ascii", errors="replace") as file:
            text = file.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    return fields[0], int(fields[19])


def _this_machine() -> str | None:
    """This boot of this kernel, in this PID namespace, as 12 hex digits; None off Linux."""
    try:
        with open(f"{_PROC}/sys/kernel/random/boot_id", encoding="ascii") as file:
            boot = file.read().strip()
        namespace = os.readlink(f"{_PROC}/self/ns/pid")
        # /proc must be this namespace's, or its PIDs are not the ones we know.
        with open(f"{_PROC}/self/stat", encoding="ascii", errors="replace") as file:
            seen_pid = file.read().partition(" ")[0]
    except OSError:
        return None
    if not boot or seen_pid != str(os.getpid()):
        return None
    return hashlib.sha256(f"{boot}\n{namespace}".encode()).hexdigest()[:12]


class LeaseStore(Store):
    """Acquire, renew, release and list leases."""

    def acquire_lease(self, key: str, holder: str, ttl: timedelta) -> Lease | LeaseHeld:
        """Take the lease ``key`` for ``ttl``, or say who holds it.

        Acquiring a lease this holder already has renews it and keeps its
        ``acquired_at``. A lease whose holder is a dead process of this
        machine is taken over at once (see the module docstring).
        """
        _check_ttl(ttl)
        while True:
            outcome = self._acquire_once(key, holder, ttl)
            if outcome is not None:
                return outcome

    def _acquire_once(self, key: str, holder: str, ttl: timedelta) -> Lease | LeaseHeld | None:
        # None: the row changed under us (released, or reclaimed by another); try again.
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
                return None  # released between our insert and update
            current = row[0]
            process = HolderProcess.of(current)
            reason = process.gone() if process is not None else None
            if reason is None:
                return LeaseHeld(key=key, holder=current, since=row[1], expires_at=row[2])
            reclaimed = session.execute(
                update(_TABLE)
                .where(_TABLE.c.key == key, _TABLE.c.holder == current)
                .values(holder=holder, acquired_at=now, renewed_at=now, expires_at=expires)
            )
            if _rowcount(reclaimed) != 1:
                return None
            log.warning(
                "lease reclaimed from a dead holder",
                key=key,
                holder=current,
                reason=reason,
                by=holder,
                held_since=row[1].isoformat(),
            )
            return Lease(key=key, holder=holder, acquired_at=now, expires_at=expires)

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
