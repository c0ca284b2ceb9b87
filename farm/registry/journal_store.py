"""Reading the journal, and pruning it: who changed what, when, from what to what.

:meth:`JournalStore.journal_entries` answers ``farm journal`` and the
dashboard's journal tab. Its filters combine (all must hold):

- ``tenant``: lines about a tenant (a line's tenants, see
  :mod:`farm.registry.journal`; lines recorded before revision 0007 have
  none and are found by the other filters only);
- ``site``, ``run_id``, ``actions``, ``entities``;
- ``person``: a source key, a username, an idnumber or a source's own id
  (the uid of ``sdet:F1700ivg``, the part after the last ``:``), in any
  case; :meth:`JournalStore.person_keys` resolves it through the index's
  values and through the journal's own (an account renamed, or gone from
  the index, is still found by its old login). The lines returned are the
  account's and its links' (cohorts, groups, enrolments, roles);
- ``since`` (included) and ``until`` (excluded), timezone-aware.

Lines come newest first, or oldest first, ordered by time and then by
write order. Values come through :func:`farm.registry.journal.masked`.

:meth:`JournalStore.prune_journal` deletes the lines of runs whose every
line is older than a time, and :meth:`JournalStore.journal_runs_before`
says which lines that would be, without deleting: a run's journal goes
whole or stays whole (an undo, a report never sees half a run), and the
lines of a run still running are never pruned. Nothing prunes on its own:
only ``farm journal prune --apply`` calls it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col

from farm.registry.database import Store, UTCDateTime
from farm.registry.journal import masked
from farm.registry.rows import JournalEntry, RunId
from farm.registry.tables import IndexEntryRow, JournalRow, RunRow

_PERSON = "person"


@dataclass(frozen=True, slots=True)
class RunJournalLines:
    """How many journal lines one run has (or had) within a prune, and their times."""

    run_id: RunId
    lines: int
    oldest: datetime
    newest: datetime


class JournalStore(Store):
    """The journal's read side: filtered look-ups and pruning (see the module docstring)."""

    def journal_entries(
        self,
        *,
        tenant: str | None = None,
        site: str | None = None,
        person: str | None = None,
        run_id: RunId | None = None,
        actions: Collection[str] = (),
        entities: Collection[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        oldest_first: bool = False,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """The journal lines every given filter keeps, newest first unless ``oldest_first``."""
        for moment in (since, until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("journal look-ups take timezone-aware times")
        with self.reading() as session:
            query = select(JournalRow)
            if person is not None:
                keys = _person_keys(session, person)
                if not keys:
                    return []
                query = query.where(col(JournalRow.person).in_(sorted(keys)))
            if tenant is not None:
                query = query.where(self._has_tenant(tenant))
            if site is not None:
                query = query.where(col(JournalRow.site) == site)
            if run_id is not None:
                query = query.where(col(JournalRow.run_id) == run_id)
            if actions:
                query = query.where(col(JournalRow.action).in_(sorted(set(actions))))
            if entities:
                query = query.where(col(JournalRow.entity).in_(sorted(set(entities))))
            if since is not None:
                query = query.where(col(JournalRow.at) >= since)
            if until is not None:
                query = query.where(col(JournalRow.at) < until)
            at, line = col(JournalRow.at), col(JournalRow.id)
            order = (at, line) if oldest_first else (at.desc(), line.desc())
            query = query.order_by(*order)
            if limit is not None:
                query = query.limit(limit)
            return [_entry(row) for row in session.execute(query).scalars()]

    def person_keys(self, person: str) -> tuple[str, ...]:
        """The source keys ``person`` (a key, login, idnumber or uid) has named, sorted."""
        with self.reading() as session:
            return tuple(sorted(_person_keys(session, person)))

    def journal_runs_before(self, before: datetime) -> list[RunJournalLines]:
        """What :meth:`prune_journal` would delete for ``before``, by run; deletes nothing."""
        with self.reading() as session:
            return _prunable(session, before)

    def prune_journal(self, before: datetime) -> list[RunJournalLines]:
        """Delete the lines of finished runs whose every line is older than ``before``.

        One transaction; returns what was deleted, by run.
        """
        with self.writing() as session:
            runs = _prunable(session, before)
            ids = [r.run_id for r in runs]
            for first in range(0, len(ids), 500):
                chunk = ids[first : first + 500]
                session.execute(delete(JournalRow).where(col(JournalRow.run_id).in_(chunk)))
            return runs

    def _has_tenant(self, tenant: str) -> ColumnElement[bool]:
        tenants = col(JournalRow.tenants)
        if self.backend == "postgresql":
            return type_coerce(tenants, JSONB).contains([tenant])
        each = func.json_each(tenants).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == tenant))


def _person_keys(session: Session, person: str) -> set[str]:
    """See :meth:`JournalStore.person_keys`: the index's values, then the journal's."""
    wanted = person.strip().lower()
    if not wanted:
        return set()
    uid = ":" + wanted
    index = IndexEntryRow.__table__.c  # type: ignore[attr-defined]
    found = select(index.key).where(
        index.entity == _PERSON,
        or_(
            func.lower(index.key) == wanted,
            func.lower(index.key).endswith(uid, autoescape=True),
            func.lower(index["values"]["username"].as_string()) == wanted,
            func.lower(index["values"]["idnumber"].as_string()) == wanted,
        ),
    )
    keys = {str(key) for key in session.execute(found).scalars()}
    journal = JournalRow.__table__.c  # type: ignore[attr-defined]
    named = [
        func.lower(journal[side][name].as_string()) == wanted
        for side in ("old", "new")
        for name in ("username", "idnumber")
    ]
    lines = (
        select(journal.key)
        .where(
            journal.entity == _PERSON,
            or_(
                func.lower(journal.key) == wanted,
                func.lower(journal.key).endswith(uid, autoescape=True),
                *named,
            ),
        )
        .distinct()
    )
    keys.update(str(key) for key in session.execute(lines).scalars())
    return keys


def _prunable(session: Session, before: datetime) -> list[RunJournalLines]:
    if before.tzinfo is None:
        raise ValueError("the journal is pruned before a timezone-aware time")
    at = col(JournalRow.at)
    query = (
        select(
            col(JournalRow.run_id),
            func.count(),
            # Aggregates lose the column's type: read them back as the registry's timestamps.
            type_coerce(func.min(at), UTCDateTime()),
            type_coerce(func.max(at), UTCDateTime()),
        )
        .join(RunRow, col(RunRow.id) == col(JournalRow.run_id))
        .where(col(RunRow.finished_at).is_not(None))
        .group_by(col(JournalRow.run_id))
        .having(func.max(at) < before)
        .order_by(col(JournalRow.run_id))
    )
    return [
        RunJournalLines(RunId(run), int(count), oldest, newest)
        for run, count, oldest, newest in session.execute(query).all()
    ]


def _entry(row: JournalRow) -> JournalEntry:
    return JournalEntry(
        run_id=RunId(row.run_id),
        site=row.site,
        seq=row.seq,
        entity=row.entity,
        action=row.action,
        key=row.key,
        moodle_id=row.moodle_id,
        old=masked(row.old),
        new=masked(row.new),
        at=row.at,
        tenants=tuple(row.tenants),
        person=row.person,
    )
