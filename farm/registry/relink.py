"""Reconciliation in the registry: a CSV person's account handed over to their directory key.

When the directory brings a person an establishment had imported from a
CSV file, ``farm reconcile --apply`` makes the two one (seed 004, §7): the
person keeps the CSV account, with its history, and the directory key
takes it over. Moodle is written first (the account's idnumber, and the
duplicate directory-side account suspended, if a sync created one); then
:meth:`RelinkStore.relink_person` records what Moodle confirmed, in one
transaction:

* the duplicate's index entries (its account and links), if any, move to
  the key ``duplicate:<moodle id>``, the account suspended and held by no
  tenant, as the farm records any account it suspended;
* the CSV key's entries (the account and its links) move to the directory
  key: the account's idnumber is the directory's, everything else is what
  Moodle holds, so the next sync updates the account to the directory's
  values and adds it to the directory's cohorts;
* each move is a journal line of a run (``update`` for the idnumber,
  ``reindex`` for a key that moved, ``suspend`` for the duplicate), so
  ``farm journal`` finds the handover from either key; the lines the CSV
  account had stay as they were;
* the person's roster entries in the site's establishments retire, naming
  the directory key: the roster no longer brings the CSV person back.

It is refused (:class:`RelinkRefused`, nothing written) when the index no
longer holds what the reconciliation was computed from.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from farm.model import (
    MEMBERSHIP_KINDS,
    CohortMembership,
    Enrolment,
    GroupMembership,
    Kind,
    Person,
    Profile,
    Record,
    RoleAssignment,
)
from farm.registry.database import Store
from farm.registry.rows import RunId
from farm.registry.staff import retire_entries
from farm.registry.tables import IndexEntryRow, JournalRow
from farm.staff.roster import RosterEntry
from farm.staff.sync_keys import SOURCE_KEY_PREFIX

DUPLICATE_PREFIX = "duplicate:"
"""Index keys of suspended directory-side duplicates: ``duplicate:<moodle id>``."""

_LINKS: Mapping[Kind, type[Record]] = {
    Kind.COHORT_MEMBER: CohortMembership,
    Kind.ENROLMENT: Enrolment,
    Kind.GROUP_MEMBER: GroupMembership,
    Kind.ROLE_ASSIGNMENT: RoleAssignment,
}


class RelinkRefused(ValueError):
    """The index no longer holds what a reconciliation was computed from: nothing written."""


@dataclass(frozen=True, slots=True)
class DuplicateAccount:
    """The directory-side account a sync created for a person the CSV file had brought.

    ``username`` and ``email`` are what Moodle holds now that it is
    suspended: freed, so the person's account can take the directory's.
    """

    moodle_id: int
    username: str
    email: str

    @property
    def key(self) -> str:
        return f"{DUPLICATE_PREFIX}{self.moodle_id}"


@dataclass(frozen=True, slots=True)
class PersonRelink:
    """One confirmed pair, once Moodle holds it: what :meth:`RelinkStore.relink_person` records.

    ``moodle_id`` is the CSV account (the one the person keeps), whose
    idnumber Moodle now says is ``idnumber``, the directory person's.
    ``tenants`` are the site's establishments whose roster entries of the
    sync key retire. ``duplicate`` is the directory-side account, if a sync
    had created one, now suspended.
    """

    site: str
    csv_key: str
    directory_key: str
    moodle_id: int
    idnumber: str
    tenants: tuple[str, ...]
    duplicate: DuplicateAccount | None = None


@dataclass(frozen=True, slots=True)
class RelinkResult:
    """What a relink recorded: journal lines, index entries moved, roster entries retired."""

    lines: int
    moved: int
    retired: tuple[RosterEntry, ...]


class RelinkStore(Store):
    """The registry's side of ``farm reconcile --apply``; see the module docstring."""

    def relink_person(self, relink: PersonRelink, *, run_id: RunId) -> RelinkResult:
        """Record ``relink`` in one transaction, as journal lines of ``run_id``.

        Raises :class:`RelinkRefused` when the CSV key's account is not
        ``relink.moodle_id`` in the index, when the directory key holds an
        account that is not the duplicate named (or one when none is named),
        or when the duplicate's key is taken.
        """
        with self.writing() as session:
            rows = _person_rows(session, relink.site, (relink.csv_key, relink.directory_key))
            csv_row = rows.get(relink.csv_key)
            if csv_row is None or csv_row.moodle_id != relink.moodle_id:
                raise RelinkRefused(
                    f"{relink.csv_key} is no longer account {relink.moodle_id} on {relink.site}"
                )
            held = rows.get(relink.directory_key)
            duplicate = relink.duplicate
            if duplicate is None and held is not None:
                raise RelinkRefused(
                    f"{relink.directory_key} has account {held.moodle_id} on {relink.site}: "
                    "it is a duplicate to suspend first"
                )
            if duplicate is not None and (held is None or held.moodle_id != duplicate.moodle_id):
                raise RelinkRefused(
                    f"{relink.directory_key} is no longer account {duplicate.moodle_id} "
                    f"on {relink.site}"
                )
            if duplicate is not None and _person_rows(session, relink.site, (duplicate.key,)):
                raise RelinkRefused(f"{duplicate.key} is already in the index of {relink.site}")
            now = self.now(session)
            lines: list[JournalRow] = []
            moved = 0
            if duplicate is not None and held is not None:
                moved += self._suspend_duplicate(session, held, duplicate, lines, run_id, now)
            moved += self._hand_over(session, csv_row, relink, lines, run_id, now)
            _number(session, run_id, relink.site, lines)
            session.add_all(lines)
            retired = retire_entries(
                session,
                relink.tenants,
                relink.csv_key.removeprefix(SOURCE_KEY_PREFIX),
                at=now,
                reason=f"reconciled with {relink.directory_key}",
                linked_to=relink.directory_key,
            )
            return RelinkResult(len(lines), moved, tuple(retired))

    def _suspend_duplicate(
        self,
        session: Session,
        row: IndexEntryRow,
        duplicate: DuplicateAccount,
        lines: list[JournalRow],
        run_id: RunId,
        now: datetime,
    ) -> int:
        before = dict(row.values)
        values = {
            **before,
            "username": duplicate.username,
            "email": duplicate.email,
            "idnumber": "",
            "suspended": True,
        }
        tenants = tuple(row.tenants)
        session.delete(row)
        session.flush()
        # Suspended as the farm suspends anyone: the digest of what it last wrote, no tenant.
        session.add(
            _index_row(row, duplicate.key, row.digest, values, [], run_id, now, suspended=True)
        )
        changed = {name: before.get(name) for name in ("username", "email", "idnumber")}
        lines.append(
            _line(
                run_id,
                row.site,
                Kind.PERSON,
                "suspend",
                duplicate.key,
                duplicate.moodle_id,
                {**changed, "suspended": False, "source_key": row.key},
                {
                    "username": duplicate.username,
                    "email": duplicate.email,
                    "idnumber": "",
                    "suspended": True,
                    "source_key": duplicate.key,
                },
                tenants,
                duplicate.key,
                now,
            )
        )
        return 1 + _move_links(session, row.site, row.key, duplicate.key, lines, run_id, now)

    def _hand_over(
        self,
        session: Session,
        row: IndexEntryRow,
        relink: PersonRelink,
        lines: list[JournalRow],
        run_id: RunId,
        now: datetime,
    ) -> int:
        before = dict(row.values)
        person = _person(relink.directory_key, {**before, "idnumber": relink.idnumber})
        tenants = tuple(row.tenants)
        session.delete(row)
        session.flush()
        session.add(
            _index_row(
                row,
                relink.directory_key,
                person.digest(),
                person.values(),
                list(tenants),
                run_id,
                now,
                suspended=row.suspended,
            )
        )
        moved_keys = {"source_key": relink.csv_key}, {"source_key": relink.directory_key}
        lines.append(
            _line(
                run_id,
                row.site,
                Kind.PERSON,
                "reindex",
                relink.csv_key,
                relink.moodle_id,
                *moved_keys,
                tenants,
                relink.csv_key,
                now,
            )
        )
        lines.append(
            _line(
                run_id,
                row.site,
                Kind.PERSON,
                "update",
                relink.directory_key,
                relink.moodle_id,
                {"idnumber": before.get("idnumber"), "source_key": relink.csv_key},
                {"idnumber": relink.idnumber, "source_key": relink.directory_key},
                tenants,
                relink.directory_key,
                now,
            )
        )
        moved = _move_links(
            session, row.site, relink.csv_key, relink.directory_key, lines, run_id, now
        )
        return 1 + moved


def _person_rows(session: Session, site: str, keys: Collection[str]) -> dict[str, IndexEntryRow]:
    query = select(IndexEntryRow).where(
        col(IndexEntryRow.site) == site,
        col(IndexEntryRow.entity) == Kind.PERSON.value,
        col(IndexEntryRow.key).in_(list(keys)),
    )
    return {row.key: row for row in session.execute(query).scalars()}


def _move_links(
    session: Session,
    site: str,
    old: str,
    new: str,
    lines: list[JournalRow],
    run_id: RunId,
    now: datetime,
) -> int:
    """Move every link of person ``old`` to person ``new``: new keys, new digests, same tenants."""
    # A link's key holds its person's key: a LIKE narrows, the values decide.
    query = select(IndexEntryRow).where(
        col(IndexEntryRow.site) == site,
        col(IndexEntryRow.entity).in_([k.value for k in MEMBERSHIP_KINDS]),
        col(IndexEntryRow.key).contains(old, autoescape=True),
    )
    rows = [r for r in session.execute(query).scalars() if r.values.get("person") == old]
    for row in rows:
        kind = Kind(row.entity)
        record = _LINKS[kind](**{**row.values, "person": new})
        session.delete(row)
        session.flush()
        session.add(
            _index_row(
                row, record.key, record.digest(), record.values(), list(row.tenants), run_id, now
            )
        )
        lines.append(
            _line(
                run_id,
                site,
                kind,
                "reindex",
                row.key,
                row.moodle_id,
                {"person": old},
                {"person": new, "key": record.key},
                tuple(row.tenants),
                new,
                now,
            )
        )
    return len(rows)


def _person(key: str, values: Mapping[str, Any]) -> Person:
    """The account's record under ``key``, rebuilt from the index's values."""
    return Person(
        source_key=key,
        username=str(values.get("username", "")),
        idnumber=str(values.get("idnumber", "")),
        firstname=str(values.get("firstname", "")),
        lastname=str(values.get("lastname", "")),
        email=str(values.get("email", "")),
        auth=str(values.get("auth", "")),
        profiles=frozenset(Profile(p) for p in values.get("profiles", ())),
        profile_fields=dict(values.get("profile_fields") or {}),
        suspended=bool(values.get("suspended", False)),
    )


def _index_row(
    like: IndexEntryRow,
    key: str,
    digest: str,
    values: Mapping[str, Any],
    tenants: list[str],
    run_id: RunId,
    now: datetime,
    *,
    suspended: bool = False,
) -> IndexEntryRow:
    return IndexEntryRow(
        site=like.site,
        entity=like.entity,
        key=key,
        moodle_id=like.moodle_id,
        digest=digest,
        values=dict(values),
        tenants=sorted(tenants),
        run_id=run_id,
        updated_at=now,
        suspended=suspended,
    )


def _line(
    run_id: RunId,
    site: str,
    kind: Kind,
    action: str,
    key: str,
    moodle_id: int | None,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    tenants: tuple[str, ...],
    person: str,
    now: datetime,
) -> JournalRow:
    return JournalRow(
        run_id=run_id,
        site=site,
        seq=0,
        entity=kind.value,
        action=action,
        key=key,
        moodle_id=moodle_id,
        old=dict(old),
        new=dict(new),
        at=now,
        tenants=sorted(tenants),
        person=person,
    )


def _number(session: Session, run_id: RunId, site: str, lines: list[JournalRow]) -> None:
    """Number the lines after the run's last on the site (one writer per site: no race)."""
    last = session.execute(
        select(func.max(col(JournalRow.seq))).where(
            col(JournalRow.run_id) == run_id, col(JournalRow.site) == site
        )
    ).scalar_one()
    for seq, line in enumerate(lines, int(last or 0) + 1):
        line.seq = seq
