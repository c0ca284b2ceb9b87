"""Staff rosters: each establishment's people imported from CSV files, and the imports' history.

The operations speak :mod:`farm.staff.roster`'s types (entries, plans);
rows stay inside the registry. A roster is a stored source: every sync of a
tenant reads its active entries (:meth:`StaffStore.staff_roster`) beside
the directory. Entries are never deleted: one that leaves (the seed's
"Complet" mode, or a reconciliation) keeps its row with ``retired_at``, its
reason and, once reconciled, the directory account it became.

:meth:`StaffStore.apply_roster_plan` writes a whole import in one
transaction, and only if the rosters are still those the plan was computed
from (else :class:`~farm.staff.roster.RosterChanged`, nothing written):
what the operator previewed is what is stored.

:meth:`StaffStore.with_pending_rosters` is how an import is previewed
before anything is stored: a view of the registry that reads the covered
tenants' rosters as the import would leave them, for one simulated sync.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Self, cast

from sqlalchemy import Table, func, insert, select, update
from sqlmodel import Session, col

from farm.registry.database import Store
from farm.registry.tables import StaffImportRow, StaffRosterRow, StaffScanRow
from farm.staff.fields import StaffKind
from farm.staff.roster import (
    RosterChange,
    RosterChanged,
    RosterEntry,
    RosterPlan,
    roster_digest,
)


@dataclass(frozen=True, slots=True)
class StaffImport:
    """One applied staff import: its file, options, what it changed, and its sync run.

    ``counts`` says how many entries it added, revived, updated, retired,
    kept unchanged, and left (absent from a file that was not complete).
    """

    id: int
    kind: StaffKind
    tenants: tuple[str, ...]
    file: str
    at: datetime
    complete: bool
    usertype: str | None
    manager_category: str | None
    counts: Mapping[str, int]
    run_id: int | None = None
    report: str | None = None


@dataclass(frozen=True, slots=True)
class StaffScan:
    """What ``farm reconcile`` last found for a tenant (see :mod:`farm.staff.matching`)."""

    tenant: str
    at: datetime
    pending: int
    ambiguous: int
    duplicates: int
    ghosts: int


@dataclass(frozen=True, slots=True)
class StaffTally:
    """A tenant's imported people and its last reconciliation scan: the dashboard's counts.

    ``people`` counts the distinct people of the tenant's active roster
    (a person in both the teachers' and the staff roster counts once);
    ``scan`` is None until ``farm reconcile`` listed the tenant once.
    """

    tenant: str
    people: int
    scan: StaffScan | None = None

    @property
    def pending(self) -> int:
        return self.scan.pending if self.scan is not None else 0

    @property
    def ghosts(self) -> int:
        return self.scan.ghosts if self.scan is not None else 0


_ROSTER = cast("Table", StaffRosterRow.__table__)  # type: ignore[attr-defined]


class StaffStore(Store):
    """Rosters, imports and scans: the operations ``farm staff`` and ``farm reconcile`` use."""

    #: Tenant -> its active roster as an import being previewed would leave it.
    _pending: Mapping[str, tuple[RosterEntry, ...]] = MappingProxyType({})

    def with_pending_rosters(self, pending: Mapping[str, Sequence[RosterEntry]]) -> Self:
        """A view of this registry whose roster reads show ``pending`` as if stored.

        Every other operation is this registry's own, on the same
        connections: a simulated sync run through the view records its run,
        reports and plan as any simulation does, and reads the previewed
        tenants' rosters from ``pending`` (:func:`farm.staff.roster.pending_rosters`).
        Close the registry, never the view.
        """
        view = copy.copy(self)
        view._pending = MappingProxyType({t: tuple(e) for t, e in pending.items()})
        return view

    def staff_roster(
        self,
        tenants: Collection[str] | None = None,
        *,
        kind: StaffKind | None = None,
        retired: bool = False,
    ) -> list[RosterEntry]:
        """The roster entries of ``tenants`` (every tenant's when None), by tenant, kind and key.

        Active entries only, unless ``retired``, which adds the entries that
        left. A sync reads it; so does an import, to compute its plan.
        """
        with self.reading() as session:
            # Columns, not ORM objects: every sync of a tenant reads its roster whole.
            query = select(_ROSTER).order_by(_ROSTER.c.tenant, _ROSTER.c.kind, _ROSTER.c.sync_key)
            if tenants is not None:
                query = query.where(_ROSTER.c.tenant.in_(list(tenants)))
            if kind is not None:
                query = query.where(_ROSTER.c.kind == kind.value)
            if not retired:
                query = query.where(_ROSTER.c.retired_at.is_(None))
            entries = [_entry(row) for row in session.execute(query)]
        if not self._pending:
            return entries
        kept = [e for e in entries if e.tenant not in self._pending or (retired and not e.active)]
        for tenant, pending in self._pending.items():
            if tenants is None or tenant in tenants:
                kept.extend(e for e in pending if kind is None or e.kind is kind)
        return sorted(kept, key=lambda e: (e.tenant, e.kind.value, e.sync_key))

    def staff_logins(self, sync_keys: Collection[str]) -> dict[str, str]:
        """The login each of ``sync_keys`` was given by an earlier import, retired entries too.

        A login is for life: a person imported again, in another
        establishment or years later, gets the same one.
        """
        wanted = list(sync_keys)
        found: dict[str, str] = {}
        with self.reading() as session:
            for start in range(0, len(wanted), 500):
                query = (
                    select(col(StaffRosterRow.sync_key), col(StaffRosterRow.login))
                    .where(col(StaffRosterRow.sync_key).in_(wanted[start : start + 500]))
                    .order_by(col(StaffRosterRow.added_at), col(StaffRosterRow.tenant))
                )
                for key, login in session.execute(query):
                    found.setdefault(key, login)
        return found

    def apply_roster_plan(self, plan: RosterPlan) -> StaffImport:
        """Store ``plan`` and one import row in one transaction; return the import.

        Raises :class:`~farm.staff.roster.RosterChanged` (nothing written)
        when the covered tenants' rosters of the plan's kind are no longer
        those the plan was computed from.
        """
        with self.writing() as session:
            current = _current(session, plan.tenants, plan.kind)
            if roster_digest(current.values()) != plan.based_on:
                raise RosterChanged(plan.tenants)
            now = self.now(session)
            row = StaffImportRow(
                kind=plan.kind.value,
                tenants=list(plan.tenants),
                file=plan.file,
                imported_at=now,
                complete=plan.complete,
                usertype=plan.usertype,
                manager_category=plan.manager_category,
                counts=plan.counts(),
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            # Plain rows, in bulk: an import of a whole académie's substitutes is many rows.
            added: list[dict[str, Any]] = []
            changed: list[dict[str, Any]] = []
            for item in plan.items:
                entry = item.entry
                key = {"tenant": entry.tenant, "kind": entry.kind.value, "sync_key": entry.sync_key}
                if item.change is RosterChange.RETIRE:
                    if (entry.tenant, entry.sync_key) in current:
                        reason = (
                            f"absent from {plan.file}, imported in Complet mode (import {row.id})"
                        )
                        changed.append(
                            {**_columns(current[(entry.tenant, entry.sync_key)]), **key,
                             "import_id": row.id, "updated_at": now, "retired_at": now,
                             "retired_reason": reason, "linked_to": None}
                        )  # fmt: skip
                    continue
                values = {**_columns(entry), **key, "import_id": row.id, "updated_at": now}
                values.update(retired_at=None, retired_reason=None, linked_to=None)
                if (entry.tenant, entry.sync_key) in current:
                    changed.append(values)
                else:
                    added.append({**values, "first_import": row.id, "added_at": now})
            if added:
                session.execute(insert(StaffRosterRow), added)
            if changed:
                session.execute(update(StaffRosterRow), changed)
            return _import(row)

    def set_staff_import_run(
        self, import_id: int, run_id: int | None, report: str | None = None
    ) -> None:
        """Say which sync run brought import ``import_id`` to Moodle, and its report file."""
        with self.writing() as session:
            row = session.get(StaffImportRow, import_id)
            if row is None:
                raise LookupError(f"no staff import {import_id} in the registry")
            row.run_id = run_id
            if report is not None:
                row.report = report
            session.add(row)

    def staff_imports(self, tenant: str | None = None, *, limit: int = 50) -> list[StaffImport]:
        """The last imports (of ``tenant`` when given), newest first."""
        with self.reading() as session:
            query = select(StaffImportRow).order_by(col(StaffImportRow.id).desc())
            rows = list(session.execute(query).scalars())
            chosen = [r for r in rows if tenant is None or tenant in r.tenants]
            return [_import(r) for r in chosen[:limit]]

    def retire_roster_entries(
        self, tenants: Collection[str], sync_key: str, *, reason: str, linked_to: str | None
    ) -> list[RosterEntry]:
        """Retire every active entry of ``sync_key`` in ``tenants``; return them as they were.

        A reconciliation whose CSV person has no account yet calls it: there
        is nothing to hand over, only the roster to stop bringing them.
        """
        with self.writing() as session:
            return retire_entries(
                session,
                tenants,
                sync_key,
                at=self.now(session),
                reason=reason,
                linked_to=linked_to,
            )

    def record_staff_scan(self, scan: StaffScan) -> StaffScan:
        """Keep what ``farm reconcile`` found for a tenant (replacing its last scan)."""
        with self.writing() as session:
            row = session.get(StaffScanRow, scan.tenant)
            if row is not None:
                session.delete(row)
                session.flush()
            row = StaffScanRow(
                tenant=scan.tenant,
                scanned_at=self.now(session),
                pending=scan.pending,
                ambiguous=scan.ambiguous,
                duplicates=scan.duplicates,
                ghosts=scan.ghosts,
            )
            session.add(row)
            session.flush()
            return _scan(row)

    def staff_tallies(self, tenants: Collection[str]) -> dict[str, StaffTally]:
        """Each tenant's imported people and last scan (every tenant given is there).

        This is what the dashboard shows per tenant: CSV people, pending
        reconciliations, ghosts. One query per table, whatever the count.
        """
        wanted = list(tenants)
        with self.reading() as session:
            people = dict(
                session.execute(
                    select(
                        col(StaffRosterRow.tenant),
                        func.count(func.distinct(col(StaffRosterRow.sync_key))),
                    )
                    .where(
                        col(StaffRosterRow.tenant).in_(wanted),
                        col(StaffRosterRow.retired_at).is_(None),
                    )
                    .group_by(col(StaffRosterRow.tenant))
                ).all()
            )
            scans = {
                row.tenant: _scan(row)
                for row in session.execute(
                    select(StaffScanRow).where(col(StaffScanRow.tenant).in_(wanted))
                ).scalars()
            }
        return {
            tenant: StaffTally(tenant, int(people.get(tenant, 0)), scans.get(tenant))
            for tenant in wanted
        }


def retire_entries(
    session: Session,
    tenants: Collection[str],
    sync_key: str,
    *,
    at: datetime,
    reason: str,
    linked_to: str | None,
) -> list[RosterEntry]:
    """Retire every active entry of ``sync_key`` in ``tenants``, inside the caller's transaction.

    Returns the entries as they were. A reconciliation calls it in the
    transaction that moves the index (:mod:`farm.registry.relink`).
    """
    rows = (
        session.execute(
            select(StaffRosterRow).where(
                col(StaffRosterRow.tenant).in_(list(tenants)),
                col(StaffRosterRow.sync_key) == sync_key,
                col(StaffRosterRow.retired_at).is_(None),
            )
        )
        .scalars()
        .all()
    )
    before = [_entry(row) for row in rows]
    for row in rows:
        row.retired_at = at
        row.retired_reason = reason
        row.linked_to = linked_to
        row.updated_at = at
        session.add(row)
    return before


def _current(
    session: Session, tenants: Sequence[str], kind: StaffKind
) -> dict[tuple[str, str], RosterEntry]:
    """The tenants' entries of ``kind``, retired ones too, by (tenant, sync key)."""
    query = select(_ROSTER).where(_ROSTER.c.tenant.in_(list(tenants)), _ROSTER.c.kind == kind.value)
    return {(e.tenant, e.sync_key): e for e in map(_entry, session.execute(query))}


def _columns(entry: RosterEntry) -> dict[str, Any]:
    return {
        "civility": entry.civility,
        "lastname": entry.lastname,
        "firstname": entry.firstname,
        "codes": list(entry.codes),
        "login": entry.login,
        "email": entry.email,
        "birthdate": entry.birthdate,
        "address": entry.address,
        "postcode": entry.postcode,
        "city": entry.city,
        "phone": entry.phone,
        "mobile": entry.mobile,
        "usertype": entry.usertype,
        "manager_category": entry.manager_category,
        "line": entry.line,
    }


def _entry(row: Any) -> RosterEntry:
    """An entry from a row of ``staff_roster``: an ORM object or a plain row, read by name."""
    return RosterEntry(
        tenant=row.tenant,
        kind=StaffKind(row.kind),
        sync_key=row.sync_key,
        civility=row.civility,
        lastname=row.lastname,
        firstname=row.firstname,
        codes=tuple(row.codes),
        login=row.login,
        email=row.email,
        birthdate=row.birthdate,
        address=row.address,
        postcode=row.postcode,
        city=row.city,
        phone=row.phone,
        mobile=row.mobile,
        usertype=row.usertype,
        manager_category=row.manager_category,
        line=row.line,
        import_id=row.import_id,
        first_import=row.first_import,
        added_at=row.added_at,
        updated_at=row.updated_at,
        retired_at=row.retired_at,
        retired_reason=row.retired_reason,
        linked_to=row.linked_to,
    )


def _import(row: StaffImportRow) -> StaffImport:
    assert row.id is not None
    return StaffImport(
        id=row.id,
        kind=StaffKind(row.kind),
        tenants=tuple(row.tenants),
        file=row.file,
        at=row.imported_at,
        complete=row.complete,
        usertype=row.usertype,
        manager_category=row.manager_category,
        counts=dict(row.counts),
        run_id=row.run_id,
        report=row.report,
    )


def _scan(row: StaffScanRow) -> StaffScan:
    return StaffScan(
        tenant=row.tenant,
        at=row.scanned_at,
        pending=row.pending,
        ambiguous=row.ambiguous,
        duplicates=row.duplicates,
        ghosts=row.ghosts,
    )
