"""Each establishment's roster of imported people: a stored source, and what an import changes.

A staff import does not hand its people to one sync and forget them: they
become a **roster**, kept in the registry per tenant, kind of file and sync
key (:class:`RosterEntry`), which every later sync of the tenant reads as it
reads the directory (:func:`roster_snapshot`). An entry holds what the file
said of the person in that establishment (names, civilité, subjects or
function codes, contact fields), the login the import gave them, and its
history: the import that first brought it and the one that last changed it,
and, once it left, when, why and (after a reconciliation) for which
directory account.

:func:`plan_roster` is what one import changes, computed before anything is
written, so it can be previewed and then applied as it was previewed
(:attr:`RosterPlan.based_on`):

* a row whose sync key the tenant's roster lacks (or held once and retired)
  is **added** (or **revived**);
* a row that says something new of a known person (a subject, an e-mail) is
  **updated**: the entry takes the file's values; a field the file leaves
  empty keeps the roster's (the seed updates with "the same file as the
  initial import", and a file without the e-mail column must not erase
  e-mails);
* the seed's "Complet" mode only (``complete``): the entries of the file's
  kind that the file does not name leave the roster (**retired**), in every
  establishment the import covers. Off by default: people absent from a file
  stay, since an establishment often sends only its newcomers.

Nothing here reads or writes anything: the registry stores entries
(:mod:`farm.registry.staff`), the engine reads them for a sync.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from farm.digest import canonical, list_digest
from farm.model import Person, TenantSnapshot
from farm.staff.fields import StaffKind
from farm.staff.records import RecordOptions, staff_records
from farm.staff.rows import StaffRow
from farm.staff.sync_keys import source_key


class RosterChanged(Exception):
    """The rosters an import was previewed against changed since: nothing was written."""

    def __init__(self, tenants: Collection[str]) -> None:
        super().__init__(
            f"the roster of {', '.join(sorted(tenants))} changed since this import was "
            "previewed (another import?): nothing was written; run the import again"
        )
        self.tenants = tuple(sorted(tenants))


class RosterChange(StrEnum):
    """What an import does to one entry."""

    ADD = "add"
    REVIVE = "revive"
    UPDATE = "update"
    RETIRE = "retire"


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One imported person in one establishment's roster (one kind of file).

    ``codes`` are their subjects (teachers) or function codes (staff) in
    this establishment, first given first. ``login`` is the one the import
    gave them, theirs for life. ``manager_category`` is the Moodle course
    category of the establishment, where function ``DIR`` gets the manager
    role (None: no role). ``import_id`` is the import that last wrote the
    entry, ``first_import`` the one that brought it; ``retired_at`` is set
    once the entry left the roster, with ``retired_reason`` and, after a
    reconciliation, ``linked_to``: the directory person's source key.
    """

    tenant: str
    kind: StaffKind
    sync_key: str
    civility: str
    lastname: str
    firstname: str
    codes: tuple[str, ...]
    login: str
    email: str = ""
    birthdate: date | None = None
    address: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    mobile: str = ""
    usertype: str = ""
    manager_category: str | None = None
    line: int = 0
    import_id: int | None = None
    first_import: int | None = None
    added_at: datetime | None = None
    updated_at: datetime | None = None
    retired_at: datetime | None = None
    retired_reason: str | None = None
    linked_to: str | None = None

    @property
    def key(self) -> tuple[str, StaffKind, str]:
        """What names the entry: tenant, kind of file, sync key."""
        return (self.tenant, self.kind, self.sync_key)

    @property
    def source_key(self) -> str:
        """The person's source key in the farm (``csv:`` + the sync key)."""
        return source_key(self.sync_key)

    @property
    def active(self) -> bool:
        return self.retired_at is None

    def values(self) -> dict[str, Any]:
        """What the file said and the import decided: an update is a change here."""
        return {
            "civility": self.civility,
            "lastname": self.lastname,
            "firstname": self.firstname,
            "codes": list(self.codes),
            "login": self.login,
            "email": self.email,
            "birthdate": self.birthdate.isoformat() if self.birthdate else None,
            "address": self.address,
            "postcode": self.postcode,
            "city": self.city,
            "phone": self.phone,
            "mobile": self.mobile,
            "usertype": self.usertype,
            "manager_category": self.manager_category,
        }

    def row(self) -> StaffRow:
        """The entry as a checked row of its establishment, for :func:`staff_records`."""
        return StaffRow(
            line=self.line,
            sync_key=self.sync_key,
            civility=self.civility,
            lastname=self.lastname,
            firstname=self.firstname,
            assignments=[(self.tenant, code) for code in self.codes],
            login=self.login,
            email=self.email,
            birthdate=self.birthdate,
            address=self.address,
            postcode=self.postcode,
            city=self.city,
            phone=self.phone,
            mobile=self.mobile,
            usertype=self.usertype,
            lines=[self.line],
        )


@dataclass(frozen=True, slots=True)
class RosterItem:
    """One change of a plan: the entry as it will be (as it was, for a retirement)."""

    change: RosterChange
    entry: RosterEntry
    #: The fields an update changes (empty for the other changes).
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RosterPlan:
    """What one import writes to the rosters; apply it only if ``based_on`` still holds.

    ``tenants`` are the establishments the import covers (the ``--tenant``
    and every one a row names); ``kept`` counts the entries of the file's
    kind the file names unchanged, ``left`` those it does not name and that
    stay (not ``complete``). ``based_on`` is :func:`roster_digest` of the
    covered tenants' entries of that kind, retired ones included, as the plan
    found them.
    """

    kind: StaffKind
    file: str
    tenants: tuple[str, ...]
    complete: bool
    items: tuple[RosterItem, ...]
    kept: int
    left: int
    based_on: str
    usertype: str | None = None
    manager_category: str | None = None

    def count(self, change: RosterChange, tenant: str | None = None) -> int:
        return sum(
            1
            for item in self.items
            if item.change is change and (tenant is None or item.entry.tenant == tenant)
        )

    @property
    def retired(self) -> tuple[RosterEntry, ...]:
        return tuple(i.entry for i in self.items if i.change is RosterChange.RETIRE)

    @property
    def written(self) -> tuple[RosterEntry, ...]:
        """The entries added, revived or updated, as they will be stored."""
        return tuple(i.entry for i in self.items if i.change is not RosterChange.RETIRE)

    def counts(self) -> dict[str, int]:
        return {
            **{change.value: self.count(change) for change in RosterChange},
            "kept": self.kept,
            "left": self.left,
        }


def roster_digest(entries: Iterable[RosterEntry]) -> str:
    """One digest of entries (their keys, values and whether they are active), in any order."""
    rows = sorted(
        [e.tenant, e.kind.value, e.sync_key, e.active, canonical(e.values())] for e in entries
    )
    return list_digest(rows)


#: Fields a file may leave empty without erasing what the roster holds.
_KEPT_WHEN_EMPTY = (
    "email",
    "birthdate",
    "address",
    "postcode",
    "city",
    "phone",
    "mobile",
    "usertype",
    "manager_category",
)


def plan_roster(
    kind: StaffKind,
    rows: Sequence[StaffRow],
    logins: Mapping[str, str],
    current: Iterable[RosterEntry],
    *,
    file: str,
    tenants: Collection[str],
    complete: bool = False,
    usertype: str | None = None,
    manager_category: str | None = None,
) -> RosterPlan:
    """What importing ``rows`` (checked, of one ``kind``) changes in the rosters of ``tenants``.

    ``logins`` maps each row's sync key to the login the import gives it
    (:func:`farm.staff.records.staff_records` decides it); ``current`` is
    what the registry holds for those tenants, every kind, retired entries
    included. ``tenants`` are the establishments the import covers; a row
    of another establishment is an error of the caller. ``usertype`` is the
    import's usertype for rows without one (seed 000: ``_teacher`` on a CFA
    site); ``manager_category`` the course category of the ``DIR`` role.
    """
    covered = frozenset(tenants)
    known = {e.key: e for e in current if e.tenant in covered and e.kind is kind}
    items: list[RosterItem] = []
    named: set[tuple[str, StaffKind, str]] = set()
    kept = 0
    for row in rows:
        codes_by_tenant: dict[str, list[str]] = {}
        for tenant, code in row.assignments:
            if tenant not in covered:
                raise ValueError(f"line {row.line}: {tenant} is not a tenant of this import")
            codes = codes_by_tenant.setdefault(tenant, [])
            if code not in codes:
                codes.append(code)
        for tenant, codes in codes_by_tenant.items():
            entry = _entry(
                row, tenant, kind, codes, logins[row.sync_key], usertype, manager_category
            )
            named.add(entry.key)
            before = known.get(entry.key)
            if before is None:
                items.append(RosterItem(RosterChange.ADD, entry))
                continue
            merged = _merged(before, entry)
            if not before.active:
                items.append(RosterItem(RosterChange.REVIVE, merged))
                continue
            changed = tuple(
                name for name, value in merged.values().items() if before.values()[name] != value
            )
            if changed:
                items.append(RosterItem(RosterChange.UPDATE, merged, changed))
            else:
                kept += 1
    left = 0
    for key, entry in sorted(known.items()):
        if key in named or not entry.active:
            continue
        if complete:
            items.append(RosterItem(RosterChange.RETIRE, entry))
        else:
            left += 1
    return RosterPlan(
        kind=kind,
        file=file,
        tenants=tuple(sorted(covered)),
        complete=complete,
        items=tuple(items),
        kept=kept,
        left=left,
        based_on=roster_digest(known.values()),
        usertype=usertype,
        manager_category=manager_category,
    )


def _entry(
    row: StaffRow,
    tenant: str,
    kind: StaffKind,
    codes: list[str],
    login: str,
    usertype: str | None,
    manager_category: str | None,
) -> RosterEntry:
    return RosterEntry(
        tenant=tenant,
        kind=kind,
        sync_key=row.sync_key,
        civility=row.civility,
        lastname=row.lastname,
        firstname=row.firstname,
        codes=tuple(codes),
        login=login,
        email=row.email,
        birthdate=row.birthdate,
        address=row.address,
        postcode=row.postcode,
        city=row.city,
        phone=row.phone,
        mobile=row.mobile,
        usertype=row.usertype or usertype or "",
        manager_category=manager_category,
        line=row.line,
    )


def _merged(before: RosterEntry, entry: RosterEntry) -> RosterEntry:
    """``entry`` over ``before``: an empty optional field keeps the roster's value."""
    kept = {
        name: getattr(before, name)
        for name in _KEPT_WHEN_EMPTY
        if getattr(entry, name) in ("", None) and getattr(before, name) not in ("", None)
    }
    return replace(
        entry,
        **kept,
        # A login is for life: the one the person has wins over a new one.
        login=before.login or entry.login,
        first_import=before.first_import,
        added_at=before.added_at,
    )


def pending_rosters(
    current: Iterable[RosterEntry], plan: RosterPlan
) -> dict[str, tuple[RosterEntry, ...]]:
    """The active roster of each tenant ``plan`` covers, as it will be once applied."""
    active: dict[tuple[str, StaffKind, str], RosterEntry] = {
        e.key: e for e in current if e.tenant in plan.tenants and e.active
    }
    for item in plan.items:
        if item.change is RosterChange.RETIRE:
            active.pop(item.entry.key, None)
        else:
            active[item.entry.key] = item.entry
    out: dict[str, list[RosterEntry]] = {tenant: [] for tenant in plan.tenants}
    for key in sorted(active):
        out[key[0]].append(active[key])
    return {tenant: tuple(entries) for tenant, entries in out.items()}


@dataclass(frozen=True)
class RosterContext:
    """What turning a tenant's roster into records needs besides the roster: the site's words.

    ``auth`` is the site's auth plugin (``manual`` when the site names
    none: an imported person has no directory to take one from).
    """

    cohort_prefix: str
    email_template: str = "{username}@noreply.invalid"
    tenant_names: Mapping[str, str] = field(default_factory=dict)
    auth: str = "manual"


def roster_snapshot(
    tenant: str, entries: Iterable[RosterEntry], context: RosterContext
) -> TenantSnapshot:
    """The records of ``tenant``'s active roster, as a source gives them: one snapshot.

    People, a cohort per subject or function, the manager role of ``DIR``
    where the entry names a course category. The snapshot is complete: the
    roster says exactly who it holds, so its absences are true (a retired
    entry is absent). A person in both rosters (a teacher also imported as
    staff) is one person with both profiles.
    """
    mine = [e for e in entries if e.tenant == tenant and e.active]
    parts: list[TenantSnapshot] = []
    for kind in StaffKind:
        of_kind = [e for e in mine if e.kind is kind]
        if not of_kind:
            continue
        # The category of the establishment: the last entry that names one says it.
        categories = [e.manager_category for e in of_kind if e.manager_category]
        contexts = {tenant: ("coursecat", categories[-1])} if categories else {}
        options = RecordOptions(
            cohort_prefix=context.cohort_prefix,
            email_template=context.email_template,
            tenant_names=context.tenant_names,
            manager_contexts=contexts,
            complete=True,
        )
        records = staff_records(
            kind, [e.row() for e in of_kind], [tenant], options, passwords=False
        )
        parts.append(records.snapshots[tenant])
    people: dict[str, Person] = {}
    for part in parts:
        for person in part.people:
            person = replace(person, auth=context.auth)
            before = people.get(person.source_key)
            people[person.source_key] = (
                person
                if before is None
                else replace(before, profiles=before.profiles | person.profiles)
            )
    return TenantSnapshot(
        tenant=tenant,
        people=tuple(people[key] for key in sorted(people)),
        cohorts=tuple(c for part in parts for c in part.cohorts),
        cohort_members=tuple(m for part in parts for m in part.cohort_members),
        role_assignments=tuple(r for part in parts for r in part.role_assignments),
        warnings=tuple(w for part in parts for w in part.warnings),
        complete=True,
    )
