"""Checked staff rows -> the farm's records: one :class:`~farm.model.TenantSnapshot` per tenant.

Each accepted row becomes one :class:`~farm.model.Person`:

* ``source_key`` ``csv:`` + the sync key, ``idnumber`` the sync key (the
  account's idnumber is what reconciliation rewrites when the directory
  brings the person);
* ``username`` the login of the file, else the login this person was given
  before (``assigned_logins``), else a new one: the first name's initial and
  the last name, ASCII, lowercase (``fplaton``), numbered from 2 when taken;
* ``email`` the file's, else the site's template (Moodle needs one);
* ``auth`` empty: the site's ``[site] auth`` applies, as for directory people;
* ``profiles`` teacher or staff, after the kind of file;
* ``establishments`` every establishment of the row, even those not asked
  for, so that a merge of the site keeps a cité scolaire's person whole;
* ``profile_fields`` the usertype (seed 000: a CFA site's
  ``netypareo_usertype``, ``_teacher`` for trainers who come from no
  NetYpareo source), from the row's usertype cell or the import's
  ``usertype`` option, when either is set.

and, in each of its establishments, a member of one cohort: teachers of
their subject (``farm:csv:<tenant>:subject:<slug>``) or staff of their
function (``farm:csv:<tenant>:function:<CODE>``), under the farm's cohort
prefix (:func:`farm.cohorts.cohort_idnumber`). ``DIR`` also gives the
manager role in the establishment's context, when the caller says which
context that is (``manager_contexts``); without one, a warning says no role
was given.

Passwords (the file's, or new ones from :func:`farm.passwords.new_password`
for people the site does not have yet) are never part of a record: they are
returned beside the snapshots, as :class:`~farm.secrets.Secret`, for the
report file and for whoever creates the accounts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from farm.cohorts import DEFAULT_PREFIX, cohort_idnumber
from farm.model import (
    Cohort,
    CohortMembership,
    Person,
    Profile,
    RoleAssignment,
    SourceWarning,
    TenantSnapshot,
    shared_set,
)
from farm.passwords import new_password
from farm.secrets import Secret
from farm.staff.fields import StaffKind, header_words
from farm.staff.functions import function_code
from farm.staff.rows import StaffRow
from farm.staff.sync_keys import fold_name
from farm.staff.values import MAX_NAME

USERTYPE_FIELD: Final = "netypareo_usertype"
"""The CFA sites' usertype profile field (``farm.sources.netypareo.records.USERTYPE``)."""

PROFILES: Final = {StaffKind.TEACHERS: Profile.TEACHER, StaffKind.STAFF: Profile.STAFF}


@dataclass(frozen=True)
class RecordOptions:
    """How one import turns rows into records, beyond the rows themselves.

    ``manager_contexts`` maps a tenant to the (context level, context) of
    its establishment for the manager role ``DIR`` gives, e.g.
    ``("coursecat", "12")``. ``complete`` makes the snapshots complete, so a
    plan removes people absent from the file: the seed's "Complet" mode,
    which an import must ask for explicitly.
    """

    cohort_prefix: str = DEFAULT_PREFIX
    usertype: str | None = None
    usertype_field: str = USERTYPE_FIELD
    email_template: str = "{username}@noreply.invalid"
    tenant_names: Mapping[str, str] = field(default_factory=dict)
    manager_contexts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    complete: bool = False


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One imported person as the report file shows them (one line per establishment).

    ``password`` is None for a person the site already has (their password
    is theirs) and for rows without one when no password is wanted.
    """

    row: StaffRow
    person: Person
    password: Secret | None
    login_generated: bool
    password_generated: bool


@dataclass(frozen=True)
class StaffRecords:
    """The records of one import: a snapshot per tenant asked for, and the report's rows."""

    snapshots: Mapping[str, TenantSnapshot]
    report: tuple[ReportRow, ...]

    @property
    def passwords(self) -> dict[str, Secret]:
        """Source key -> first password, for the people that have one."""
        return {r.person.source_key: r.password for r in self.report if r.password is not None}


def ascii_login(firstname: str, lastname: str) -> str:
    """``fplaton`` for Francis Platon: initial and last name, ASCII letters and digits."""

    def plain(text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", fold_name(text)).encode("ascii", "ignore")
        return ascii_text.decode("ascii")

    first, last = plain(firstname), plain(lastname)
    return ((first[:1] + last) or "staff")[: MAX_NAME - 4]


def subject_slug(subject: str) -> str:
    """A subject as it goes into a cohort idnumber: ``Physique-Chimie`` -> ``physique-chimie``."""
    return "-".join(header_words(subject)) or fold_name(subject)


def staff_records(
    kind: StaffKind,
    rows: Iterable[StaffRow],
    tenants: Collection[str],
    options: RecordOptions | None = None,
    *,
    taken_logins: Mapping[str, str] | None = None,
    assigned_logins: Mapping[str, str] | None = None,
    existing: Collection[str] = (),
    passwords: bool = True,
) -> StaffRecords:
    """The records of ``rows`` (checked, of one ``kind`` of file) for each tenant of ``tenants``.

    ``taken_logins`` maps logins held in the directory or on the site to
    their holder's source key; a new login avoids them. ``assigned_logins``
    maps sync keys to the login each person was given by an earlier import,
    which they keep. ``existing`` names (by source key) the people the site
    already has: they get no new password. ``passwords=False`` generates
    none at all (a site whose accounts log in through CAS, say).
    """
    options = options or RecordOptions()
    taken = dict(taken_logins or {})
    assigned = assigned_logins or {}
    existing_keys = frozenset(existing)
    rows = list(rows)
    for row in rows:
        if row.login:
            taken.setdefault(row.login, row.source_key)
    for row in rows:
        login = assigned.get(row.sync_key)
        if login and not row.login:
            taken.setdefault(login, row.source_key)
    builder = _Builder(kind, frozenset(tenants), options)
    report: list[ReportRow] = []
    for row in rows:
        login, generated = _login(row, assigned, taken)
        password: Secret | None = row.password
        made = False
        if password is None and passwords and row.source_key not in existing_keys:
            password, made = new_password(), True
        person = builder.add(row, login)
        report.append(ReportRow(row, person, password, generated, made))
    return StaffRecords(builder.snapshots(), tuple(report))


def _login(row: StaffRow, assigned: Mapping[str, str], taken: dict[str, str]) -> tuple[str, bool]:
    if row.login:
        return row.login, False
    login = assigned.get(row.sync_key)
    if login:
        return login, False
    base = ascii_login(row.firstname, row.lastname)
    login, number = base, 1
    while taken.get(login, row.source_key) != row.source_key:
        number += 1
        login = f"{base}{number}"
    taken[login] = row.source_key
    return login, True


@dataclass(slots=True)
class _Parts:
    people: dict[str, Person] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    members: set[tuple[str, str]] = field(default_factory=set)
    roles: set[RoleAssignment] = field(default_factory=set)
    warnings: list[SourceWarning] = field(default_factory=list)


class _Builder:
    def __init__(self, kind: StaffKind, tenants: frozenset[str], options: RecordOptions) -> None:
        self.kind = kind
        self.options = options
        self.parts = {tenant: _Parts() for tenant in sorted(tenants)}

    def add(self, row: StaffRow, login: str) -> Person:
        o = self.options
        usertype = row.usertype or o.usertype
        person = Person(
            source_key=row.source_key,
            username=login,
            idnumber=row.sync_key,
            firstname=row.firstname,
            lastname=row.lastname,
            email=row.email
            or o.email_template.format(username=login, idnumber=row.sync_key, key=row.source_key),
            auth="",
            profiles=shared_set(frozenset({PROFILES[self.kind]})),
            establishments=shared_set(frozenset(row.establishments)),
            profile_fields={o.usertype_field: usertype} if usertype else {},
        )
        for tenant, code in row.assignments:
            parts = self.parts.get(tenant)
            if parts is None:
                continue
            parts.people[person.source_key] = person
            cohort = self._cohort(parts, tenant, code)
            parts.members.add((cohort.idnumber, person.source_key))
            function = function_code(code) if self.kind is StaffKind.STAFF else None
            if function is not None and function.role is not None:
                self._role(parts, tenant, person, function.role)
        return person

    def _cohort(self, parts: _Parts, tenant: str, code: str) -> Cohort:
        o = self.options
        etab = o.tenant_names.get(tenant, tenant)
        if self.kind is StaffKind.TEACHERS:
            idnumber = cohort_idnumber(
                o.cohort_prefix, "csv", tenant, "subject", subject_slug(code)
            )
            name = f"Teachers of {code} ({etab})"
            description = f"Teachers of {code} imported from staff CSV files"
        else:
            function = function_code(code)
            label = function.label if function is not None else code
            idnumber = cohort_idnumber(o.cohort_prefix, "csv", tenant, "function", code)
            name = f"{label} ({etab})"
            description = f"Staff of function {code} imported from staff CSV files"
        cohort = parts.cohorts.get(idnumber)
        if cohort is None:
            cohort = Cohort(idnumber, name, description, establishment=tenant)
            parts.cohorts[idnumber] = cohort
        return cohort

    def _role(self, parts: _Parts, tenant: str, person: Person, role: str) -> None:
        context = self.options.manager_contexts.get(tenant)
        if context is None:
            parts.warnings.append(
                SourceWarning(
                    tenant,
                    person.source_key,
                    f"function DIR gives the {role} role in the establishment, but no context "
                    "is known for it: no role given",
                    "function",
                )
            )
            return
        level, where = context
        parts.roles.add(RoleAssignment(person.source_key, role, level, where))

    def snapshots(self) -> dict[str, TenantSnapshot]:
        return {
            tenant: TenantSnapshot(
                tenant=tenant,
                people=tuple(sorted(p.people.values(), key=lambda x: x.source_key)),
                cohorts=tuple(sorted(p.cohorts.values(), key=lambda c: c.idnumber)),
                cohort_members=tuple(
                    CohortMembership(cohort=cohort, person=person)
                    for cohort, person in sorted(p.members)
                ),
                role_assignments=tuple(sorted(p.roles, key=lambda r: r.key)),
                warnings=tuple(p.warnings),
                complete=self.options.complete,
            )
            for tenant, p in self.parts.items()
        }
