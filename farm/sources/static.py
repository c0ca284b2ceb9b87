"""A source of fixed records, for tests, demos and one-off imports.

:class:`StaticSource` holds one :class:`~farm.model.TenantSnapshot` per
tenant and answers reads from them, exactly as a directory that never
changes would. Tests change what it says between runs with :meth:`set` and
:meth:`fail`, which is how a scenario renames, removes or brings back a
person, or takes the source down, without a server.

It honours the parts of :class:`~farm.sources.ReadRequest` a real source
does: a ``person`` read keeps that person (source key, username or idnumber)
and their links, and makes the snapshot incomplete, as does a ``since``
read. ``reads`` counts the reads, so a test can tell the engine asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from farm.model import Person, TenantSnapshot
from farm.sources import ReadRequest, ReadResult, SourceError


class StaticSource:
    """A :class:`~farm.sources.Source` answering from snapshots held in memory."""

    def __init__(self, name: str, snapshots: Iterable[TenantSnapshot] = ()) -> None:
        self._name = name
        self._snapshots: dict[str, TenantSnapshot] = {s.tenant: s for s in snapshots}
        self._failure: str | None = None
        self.reads = 0
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def snapshots(self) -> Mapping[str, TenantSnapshot]:
        return dict(self._snapshots)

    def set(self, snapshot: TenantSnapshot) -> None:
        """Replace what the source says about ``snapshot.tenant``."""
        self._snapshots[snapshot.tenant] = snapshot

    def fail(self, reason: str | None) -> None:
        """Make every read raise :class:`SourceError` with ``reason`` (None heals it)."""
        self._failure = reason

    async def read(self, request: ReadRequest) -> ReadResult:
        self.reads += 1
        if self._failure is not None:
            raise SourceError(f"source {self._name}: {self._failure}")
        unknown = [t for t in request.tenants if t not in self._snapshots]
        if unknown:
            raise SourceError(f"source {self._name} knows no tenant {', '.join(unknown)}")
        partial = request.since is not None or request.person is not None
        out: dict[str, TenantSnapshot] = {}
        for tenant in request.tenants:
            snapshot = self._snapshots[tenant]
            if request.person is not None:
                snapshot = _only(snapshot, request.person)
            out[tenant] = replace(snapshot, complete=False) if partial else snapshot
        return ReadResult(out, bookmark=datetime.now(UTC))

    async def aclose(self) -> None:
        self.closed = True


def _only(snapshot: TenantSnapshot, wanted: str) -> TenantSnapshot:
    """The snapshot cut down to one person and the links naming them."""

    def chosen(person: Person) -> bool:
        return wanted in (person.source_key, person.username, person.idnumber)

    people = tuple(p for p in snapshot.people if chosen(p))
    keys = {p.source_key for p in people}
    return replace(
        snapshot,
        people=people,
        cohort_members=tuple(m for m in snapshot.cohort_members if m.person in keys),
        enrolments=tuple(e for e in snapshot.enrolments if e.person in keys),
        group_members=tuple(m for m in snapshot.group_members if m.person in keys),
        role_assignments=tuple(r for r in snapshot.role_assignments if r.person in keys),
    )
