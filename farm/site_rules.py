"""What one Moodle site will take, checked before anything is sent to it. Pure.

Moodle refuses a whole create batch for one bad record and, with debugging
off as in production, its answer names neither the record nor the field
(MOODLE-WS.md). So the planner applies the site's rules first, the same way
in a simulation and in a real run, and whatever the site would refuse is
refused here, alone, with a reason that names the person and the field:

- the auth plugin of the accounts: the site's ``auth`` wins over the
  source's; an account with none is refused;
- usernames Moodle refuses (anything but ``a-z 0-9 - . _ @``), blank names,
  malformed e-mails, values longer than Moodle's columns;
- one username, idnumber or e-mail for two people (e-mail case aside, as
  Moodle compares it): the account that already holds it keeps it, else the
  first by source key; the others are refused, or for e-mails given an
  address from ``email_template`` when the site's policy says so;
- role assignments and enrolments whose role has no id on the site.

How a new manual account gets its password (``new_passwords``) is a site
fact too, but a farm whose manual site lacks it does not load (``farm
tenants check`` names it), and the applier refuses such a creation anyway.

A refused person is held: not created, and if the index has them, left
exactly as they are (never suspended for a value the site cannot take).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from operator import attrgetter
from types import MappingProxyType

from farm.index import SiteIndex
from farm.model import IndexEntry, Kind, Person, Record, SourceWarning
from farm.snapshot import SiteSnapshot
from farm.user_defaults import UserDefaults

STOCK_ROLE_IDS: Mapping[str, int] = MappingProxyType(
    {
        "manager": 1,
        "coursecreator": 2,
        "editingteacher": 3,
        "teacher": 4,
        "student": 5,
        "guest": 6,
        "user": 7,
        "frontpage": 8,
    }
)
"""Role ids of a stock Moodle 5.0; a role the operator created has the id the site gave it."""

STOCK_AUTH_PLUGINS = frozenset(
    {"email", "ldap", "lti", "manual", "nologin", "none", "oauth2", "shibboleth", "webservice"}
)
"""The auth plugins Moodle 5.0 ships; ``cas`` is no longer one of them."""

INTERNAL_AUTH_PLUGINS = frozenset({"manual", "email", "nologin", "none"})
"""Plugins whose accounts Moodle creates only with a password (``is_internal()``)."""

FIELD_LIMITS: Mapping[str, int] = MappingProxyType(
    {"username": 100, "firstname": 100, "lastname": 100, "email": 100, "idnumber": 255}
)
"""Moodle's column sizes for the account fields the farm writes."""

_USERNAME = re.compile(r"[-.@_a-z0-9]+")
# Moodle's validate_email(), as PHP writes it.
_ATOM = r"[-!#$%&'*+/0-9=?A-Z^_`a-z{|}~]+"
_EMAIL = re.compile(rf"{_ATOM}(\.{_ATOM})*@{_ATOM}\.[-!#$%&'*+./0-9=?A-Z^_`a-z{{|}}~]+")


class PasswordDelivery(StrEnum):
    """How a new manual account gets its first password (``[site] new_passwords``).

    ``email``: Moodle generates one and e-mails it (``createpassword``), and
    forces a change at first login. ``file``: the farm generates one, sends
    it, and writes it to an owner-only credentials file under the farm
    folder, for the establishment to hand out; it is never printed or logged.
    """

    EMAIL = "email"
    FILE = "file"


class EmailConflicts(StrEnum):
    """What happens when two people would share an e-mail (``[site] email_conflicts``).

    ``hold``: the account that holds the address keeps it (else the first by
    source key), the others are refused until the source is fixed.
    ``template``: the others get an address from ``email_template``.
    ``allow``: the site sets Moodle's ``allowaccountssameemail``; no check.
    """

    HOLD = "hold"
    TEMPLATE = "template"
    ALLOW = "allow"


@dataclass(frozen=True, slots=True)
class SiteRules:
    """The facts about one site that decide what it accepts; see the module docstring.

    ``profile_fields`` are the custom profile fields the site declares
    (None: not checked). ``user_defaults`` are the language, time zone and
    country the site gives the accounts the farm creates
    (:mod:`farm.user_defaults`): sent on creation only.
    """

    site: str = ""
    auth: str | None = None
    new_passwords: PasswordDelivery | None = None
    email_conflicts: EmailConflicts = EmailConflicts.HOLD
    email_template: str = "{username}@noreply.invalid"
    roles: Mapping[str, int] = field(default_factory=lambda: STOCK_ROLE_IDS)
    profile_fields: frozenset[str] | None = None
    user_defaults: UserDefaults = field(default_factory=UserDefaults)

    def role_id(self, shortname: str) -> int | None:
        return self.roles.get(shortname)

    def email_for(self, person: Person) -> str:
        return self.email_template.format(
            username=person.username, idnumber=person.idnumber, key=person.source_key
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record the site would refuse, refused by the farm before any call."""

    kind: Kind
    key: str
    tenants: frozenset[str]
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.kind} {self.key}{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Checked:
    """The snapshot the site can take, and what was refused or changed on the way.

    ``digests`` are the :meth:`~farm.model.Record.digest` of the people the
    check had to digest (those the index holds), as they are in ``snapshot``:
    the planner compares them with the index without digesting them again.
    """

    snapshot: SiteSnapshot
    refusals: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()
    digests: Mapping[str, str] = field(default_factory=dict)


def check_site_rules(snapshot: SiteSnapshot, index: SiteIndex, rules: SiteRules) -> Checked:
    """Apply ``rules`` to ``snapshot``: the people and links the site can take."""
    return _Checker(snapshot, index, rules).run()


class _Checker:
    def __init__(self, snapshot: SiteSnapshot, index: SiteIndex, rules: SiteRules) -> None:
        self.snapshot = snapshot
        self.index = index
        self.rules = rules
        self.refusals: list[Refusal] = []
        self.warnings: list[SourceWarning] = []
        self.notes: list[str] = []
        self.tenants_of = snapshot.origins_of(Kind.PERSON)
        #: Source key -> digest of the person as checked so far; dropped when changed.
        self.digests: dict[str, str] = {}

    def refuse(self, person: Person, reason: str, field_name: str | None) -> None:
        tenants = self.tenants_of.get(person.source_key, frozenset())
        label = f"{person.username} ({person.firstname} {person.lastname})".strip()
        self.refusals.append(
            Refusal(Kind.PERSON, person.source_key, tenants, f"{label}: {reason}", field_name)
        )

    def warn(self, person: Person, message: str, attribute: str) -> None:
        tenants = sorted(self.tenants_of.get(person.source_key, ()))
        tenant = tenants[0] if tenants else next(iter(sorted(self.snapshot.tenants)), "")
        self.warnings.append(SourceWarning(tenant, person.source_key, message, attribute))

    def run(self) -> Checked:
        people: dict[str, Person] = {}
        site_auth = self.rules.auth
        indexed = self.index.of(Kind.PERSON)
        for key, person in self.snapshot.people.items():
            if site_auth and person.auth != site_auth:
                person = person.with_auth(site_auth)
            entry = indexed.get(key)
            if entry is not None and not entry.suspended:
                # Exactly what the site took last time: its checks hold still, and
                # the planner needs this digest anyway.
                digest = self.digests[key] = person.digest()
                if digest == entry.digest:
                    people[key] = person
                    continue
            checked = self.one(person)
            if checked is not person:
                self.digests.pop(key, None)  # refused, or changed on the way
            if checked is not None:
                people[key] = checked
        people = self.unique(people)
        refused = set(self.snapshot.people) - set(people)
        records: dict[Kind, Mapping[str, Record]] = dict(self.snapshot.records)
        records[Kind.PERSON] = people
        for kind in (Kind.ROLE_ASSIGNMENT, Kind.ENROLMENT):
            if kind in records:
                records[kind] = self.with_roles(kind, records[kind])
        self.note_profile_fields(people.values())
        snapshot = replace(
            self.snapshot,
            records=records,
            warnings=(*self.snapshot.warnings, *self.warnings),
            held=self.snapshot.held | refused,
        )
        digests = {key: digest for key, digest in self.digests.items() if key in people}
        return Checked(snapshot, tuple(self.refusals), tuple(self.notes), digests)

    # -- one person at a time ------------------------------------------------------------

    def one(self, person: Person) -> Person | None:
        rules = self.rules
        auth = rules.auth or person.auth
        if not auth:
            self.refuse(
                person,
                f"no auth plugin for the accounts of site {rules.site}: set [site] auth",
                "auth",
            )
            return None
        if auth != person.auth:
            person = person.with_auth(auth)
        if not _USERNAME.fullmatch(person.username):
            self.refuse(
                person,
                f"username {person.username!r} has characters Moodle refuses "
                "(only a-z, 0-9, '-', '.', '_' and '@')",
                "username",
            )
            return None
        for name in ("firstname", "lastname"):
            if not str(getattr(person, name)).strip():
                self.refuse(person, f"{name} is blank", name)
                return None
        if not _EMAIL.fullmatch(person.email):
            if rules.email_conflicts is not EmailConflicts.TEMPLATE:
                self.refuse(
                    person, f"e-mail {person.email!r} is not an address Moodle takes", "email"
                )
                return None
            email = rules.email_for(person)
            self.warn(person, f"e-mail {person.email!r} is malformed: using {email}", "email")
            person = replace(person, email=email)
        for name, limit in FIELD_LIMITS.items():
            value = str(getattr(person, name))
            if len(value) > limit:
                self.refuse(
                    person, f"{name} is {len(value)} characters long, Moodle keeps {limit}", name
                )
                return None
        return person

    # -- values two people cannot share ------------------------------------------------

    def unique(self, people: dict[str, Person]) -> dict[str, Person]:
        """Refuse (or re-address) the people whose username, idnumber or e-mail is taken.

        Of the people who want one value, the one whose account holds it
        keeps it, else the first by source key. Only contested values are
        looked at (wanted by two people, or held by another account): on a
        site where nothing clashes, that is nobody.
        """
        indexed = self.index.of(Kind.PERSON)
        for name, fold in (("username", False), ("idnumber", False), ("email", True)):
            if name == "email" and self.rules.email_conflicts is EmailConflicts.ALLOW:
                continue
            # Accounts whose person the source does not give (or a value before refused):
            # they hold their values still.
            absent = [entry for key, entry in indexed.items() if key not in people]
            values = self.contested(name, fold, people, absent)
            if not values:
                continue
            holders = self.holders(name, fold, people, values)
            contested = [p for p in people.values() if _value(p, name, fold) in values]

            def rank(
                person: Person, name: str = name, fold: bool = fold, held: dict[str, str] = holders
            ) -> tuple[bool, str]:
                # The person whose account holds the value keeps it; then source-key order.
                holder = held.get(_value(person, name, fold))
                return (holder != person.source_key, person.source_key)

            for person in sorted(contested, key=rank):
                value = _value(person, name, fold)
                holder = holders.setdefault(value, person.source_key)
                if holder == person.source_key:
                    continue
                if name == "email" and self.rules.email_conflicts is EmailConflicts.TEMPLATE:
                    email = self.rules.email_for(person)
                    self.warn(
                        person, f"e-mail {person.email} is also {holder}'s: using {email}", "email"
                    )
                    people[person.source_key] = replace(person, email=email)
                    self.digests.pop(person.source_key, None)
                    continue
                self.refuse(
                    person,
                    f"{name} {getattr(person, name)!r} is also the {name} of {holder}"
                    + (
                        " (email_conflicts = 'template' gives the others an address)"
                        if name == "email"
                        else ""
                    ),
                    name,
                )
                del people[person.source_key]
        return people

    def contested(
        self, name: str, fold: bool, people: Mapping[str, Person], absent: Sequence[IndexEntry]
    ) -> set[str]:
        """The values of ``name`` that two people, or a person and another account, claim.

        A person claims the value the source gives; an account whose person
        is ``absent`` from the source still holds its stored one. An account
        whose person is here holds either the person's value or nothing
        (:meth:`holders`), so a value is contested exactly when it is
        claimed twice. On a site where nothing clashes the answer is empty
        after one pass over the values, with no holder map built.
        """
        claimed = list(map(attrgetter(name), people.values()))
        if fold:
            claimed = [value.lower() for value in claimed]
        for entry in absent:
            stored = str(entry.values.get(name) or "")
            claimed.append(stored.lower() if fold else stored)
        claimed = [value for value in claimed if value]
        if len(set(claimed)) == len(claimed):
            return set()
        return {value for value, count in Counter(claimed).items() if count > 1}

    def holders(
        self, name: str, fold: bool, people: Mapping[str, Person], only: Container[str]
    ) -> dict[str, str]:
        """Value -> the person whose account holds it on the site, for the values in ``only``.

        Every indexed account counts (suspended, held or gone from the
        source, it still holds its values in Moodle), except when the source
        gives that person another value this run. An account whose person is
        unchanged (same digest) holds the person's own values: its stored
        ones are not decoded.
        """
        found: dict[str, str] = {}
        digests = self.digests
        for key, entry in self.index.of(Kind.PERSON).items():
            person = people.get(key)
            if person is not None:
                digest = digests.get(key)
                if digest is None:
                    digest = digests[key] = person.digest()
                if digest == entry.digest:
                    value = _value(person, name, fold)
                    if value in only:
                        found.setdefault(value, key)
                    continue
            value = str(entry.values.get(name) or "")
            if fold:
                value = value.lower()
            if person is not None and _value(person, name, fold) != value:
                continue  # the person takes another value this run
            if value in only:
                found.setdefault(value, key)
        return found

    # -- links ---------------------------------------------------------------------------

    def with_roles(self, kind: Kind, records: Mapping[str, Record]) -> Mapping[str, Record]:
        """Drop new links whose role the site has no id for, with one refusal each."""
        kept: dict[str, Record] = {}
        indexed = self.index.of(kind)
        for key, record in records.items():
            role = str(getattr(record, "role", "") or "")
            if role and self.rules.role_id(role) is None and key not in indexed:
                self.refusals.append(
                    Refusal(
                        kind,
                        key,
                        self.snapshot.origins_of(kind).get(key, frozenset()),
                        f"role {role!r} has no id on site {self.rules.site}: create it on the "
                        f"site, then set [site.roles] {role} = <its id>",
                        "role",
                    )
                )
                continue
            kept[key] = record
        return kept

    def note_profile_fields(self, people: Iterable[Person]) -> None:
        declared = self.rules.profile_fields
        if declared is None:
            return
        used = {name for person in people for name in person.profile_fields}
        missing = sorted(used - declared)
        if missing:
            self.notes.append(
                "profile field(s) " + ", ".join(missing) + " are written but not declared in "
                "[site] profile_fields: Moodle ignores unknown fields without a word; declare "
                "them and `farm sites check` proves the site has them"
            )


def _value(person: Person, name: str, fold: bool) -> str:
    value = str(getattr(person, name) or "")
    return value.lower() if fold else value
