"""From NetYpareo answers to the farm's records, with no I/O.

Key schemes (stable across runs; usernames and e-mails may change, these do not):

* people: ``netypareo:<endpoint>:<kind>:<code>`` with kind ``apprenant``,
  ``formateur`` or ``tuteur``;
* cohorts: ``<cohort_prefix>netypareo:<tenant>:group:<code>`` for groups and
  ``...:pdgroup:<code>`` for continuing-education groups.

Every person carries the six profile fields of the Moodle connector, empty
when they do not apply (so that a value that disappears is cleared).
A learner found in several groups is one person, member of each cohort; the
first group read (apprenticeship groups before pdgroups) gives the cursus,
program and step.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from farm.cohorts import DEFAULT_PREFIX
from farm.cohorts import cohort_idnumber as farm_cohort_idnumber
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Person,
    Profile,
    RoleAssignment,
    SourceWarning,
    TenantSnapshot,
    shared_set,
)
from farm.sources.netypareo.settings import NetYpareoSettings
from farm.sources.netypareo.tenant import NetYpareoTenant

LEARNER: Final = "apprenant"
TRAINER: Final = "formateur"
TUTOR: Final = "tuteur"

NON_NETYPAREO_TEACHER_USERTYPE: Final = "_teacher"
"""netypareo_usertype of trainers who come from no NetYpareo source (CSV imports)."""

USERTYPE: Final = "netypareo_usertype"
OUVERAGE: Final = "netypareo_ouverage"
STATUS: Final = "netypareo_status"
CURSUS: Final = "netypareo_cursus"
PROGRAM: Final = "netypareo_program"
PROGRAM_STEP: Final = "netypareo_program_step"
PROFILE_FIELDS: Final = (USERTYPE, OUVERAGE, STATUS, CURSUS, PROGRAM, PROGRAM_STEP)

MAJORITY_AGE: Final = 18
_USERNAME_REFUSED = re.compile(r"[^a-z0-9._@-]")


def source_key(endpoint: str, kind: str, code: str) -> str:
    return f"netypareo:{endpoint}:{kind}:{code}"


def cohort_idnumber(prefix: str, tenant: str, continuing: bool, code: str) -> str:
    """The idnumber of a group's cohort, on the farm's ``prefix`` (:mod:`farm.cohorts`)."""
    family = "pdgroup" if continuing else "group"
    return farm_cohort_idnumber(prefix, "netypareo", tenant, family, code)


def age_on(birthdate: date, day: date) -> int:
    """Completed years on ``day``; someone born on 29 February ages on 1 March."""
    before_birthday = (day.month, day.day) < (birthdate.month, birthdate.day)
    return day.year - birthdate.year - before_birthday


def is_major(birthdate: date, day: date) -> bool:
    """True from the 18th birthday on, that day included."""
    return age_on(birthdate, day) >= MAJORITY_AGE


def usertype(value: str, index: int, prefixed: bool) -> str:
    """The netypareo_usertype value; ``0teacher`` for site 0 when prefixed."""
    return f"{index}{value}" if prefixed else value


def parse_date(value: Any) -> date | None:
    """A date from xsd:date, ISO text or French ``dd/mm/yyyy``; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text[:10], pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")


def moodle_username(text: str) -> str:
    """Lower-case, accents removed, only the characters Moodle accepts."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _USERNAME_REFUSED.sub("", plain.lower().strip())


def text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def codes(row: Mapping[str, Any], name: str) -> list[str]:
    """A list of codes, whether zeep gave a list or a wrapper holding one."""
    value = row.get(name)
    while isinstance(value, Mapping) and len(value) == 1:
        value = next(iter(value.values()))
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value).strip()]


@dataclass(frozen=True, slots=True)
class GroupInfo:
    code: str
    name: str
    cursus: str
    program: str
    step: str
    continuing: bool
    cohort: str


@dataclass(slots=True)
class TenantRecords:
    """Collects the records of one tenant as answers arrive, then makes the snapshot."""

    endpoint: str
    tenant: NetYpareoTenant
    settings: NetYpareoSettings
    run_date: date
    statuses: Mapping[str, str]
    programs: Mapping[str, str]
    site_name: str = ""
    cohort_prefix: str = DEFAULT_PREFIX
    groups: dict[str, GroupInfo] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    learner_keys: dict[str, str] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    members: set[CohortMembership] = field(default_factory=set)
    enrolments: set[Enrolment] = field(default_factory=set)
    roles: set[RoleAssignment] = field(default_factory=set)
    warnings: list[SourceWarning] = field(default_factory=list)
    # Seen but unreadable: their absence must not suspend anyone (TenantSnapshot.held).
    held: set[str] = field(default_factory=set)

    def warn(self, entry: str, message: str, attribute: str | None = None) -> None:
        self.warnings.append(SourceWarning(self.tenant.id, entry, message, attribute))

    def add_group(self, row: Mapping[str, Any], continuing: bool) -> GroupInfo | None:
        f = self.settings.fields
        code = text(row, f.group_code)
        if not code:
            self.warn("group", "no code: skipped", f.group_code)
            return None
        info = GroupInfo(
            code=code,
            name=text(row, f.group_name) or code,
            cursus=text(row, f.group_cursus),
            program=text(row, f.group_program),
            step=text(row, f.group_step),
            continuing=continuing,
            cohort=cohort_idnumber(self.cohort_prefix, self.tenant.id, continuing, code),
        )
        self.groups[code] = info
        family = "continuing-education group" if continuing else "group"
        description = f"NetYpareo {family} {code}"
        if self.site_name:
            description += f", {self.site_name}"
        self.cohorts[info.cohort] = Cohort(
            idnumber=info.cohort,
            name=info.name,
            description=description,
            establishment=self.tenant.id,
        )
        return info

    def courses(self, group: GroupInfo) -> set[str]:
        """The course idnumbers a group's people are enrolled in: the template, then the maps."""
        found = set()
        if self.settings.group_course is not None:
            found.add(
                self.settings.group_course.format(
                    code=group.code,
                    cursus=group.cursus,
                    program=group.program,
                    step=group.step,
                    site=self.tenant.site_code,
                    tenant=self.tenant.id,
                )
            )
        if group.code in self.settings.group_courses:
            found.add(self.settings.group_courses[group.code])
        if group.program in self.settings.program_courses:
            found.add(self.settings.program_courses[group.program])
        return found

    def _person(
        self, kind: str, row: Mapping[str, Any], names: tuple[str, str, str, str, str]
    ) -> tuple[str, dict[str, str]] | None:
        code_field, last_field, first_field, email_field, login_field = names
        code = text(row, code_field)
        if not code:
            self.warn(kind, "no code: skipped", code_field)
            return None
        entry = f"{kind} {code}"
        values = {
            "code": code,
            "kind": kind,
            "login": text(row, login_field),
            "firstname": text(row, first_field),
            "lastname": text(row, last_field),
            "email": text(row, email_field),
            "endpoint": self.endpoint,
        }
        if not values["lastname"]:
            self.warn(entry, "no last name: skipped, their account left as it is", last_field)
            self.held.add(source_key(self.endpoint, kind, code))
            return None
        return entry, values

    def _account(
        self,
        kind: str,
        entry: str,
        values: dict[str, str],
        profile: Profile,
        fields: dict[str, str],
    ) -> Person:
        s = self.settings
        username = moodle_username(s.username.format_map(values))
        if not username:
            username = moodle_username(s.username_fallback.format_map(values))
        email = values["email"]
        if not email and s.email_fallback is not None:
            email = s.email_fallback.format_map({**values, "email": ""})
        if not email:
            self.warn(entry, "no e-mail address", "email")
        return Person(
            source_key=source_key(self.endpoint, kind, values["code"]),
            username=username,
            idnumber=s.idnumber.format_map(values),
            firstname=values["firstname"],
            lastname=values["lastname"],
            email=email,
            auth=s.auth or "",
            profiles=shared_set(frozenset({profile})),
            establishments=shared_set(frozenset({self.tenant.id})),
            profile_fields={name: fields.get(name, "") for name in PROFILE_FIELDS},
        )

    def _usertype(self, value: str) -> str:
        return usertype(value, self.tenant.index, self.settings.usertype_prefix)

    def add_learner(self, row: Mapping[str, Any], group: GroupInfo) -> None:
        f = self.settings.fields
        found = self._person(
            LEARNER,
            row,
            (f.learner_code, f.learner_lastname, f.learner_firstname, f.learner_email,
             f.learner_login),
        )  # fmt: skip
        if found is None:
            return
        entry, values = found
        key = source_key(self.endpoint, LEARNER, values["code"])
        if key not in self.people:
            self.people[key] = self._account(
                LEARNER, entry, values, Profile.STUDENT, self._learner_fields(entry, row, group)
            )
            self.learner_keys[values["code"]] = key
        self.members.add(CohortMembership(cohort=group.cohort, person=key))
        for course in self.courses(group):
            self.enrolments.add(Enrolment(course, key, self.settings.student_role))

    def _learner_fields(
        self, entry: str, row: Mapping[str, Any], group: GroupInfo
    ) -> dict[str, str]:
        f, values = self.settings.fields, self.settings.values
        fields = {
            USERTYPE: self._usertype(values.student),
            CURSUS: group.cursus,
            PROGRAM: self.programs.get(group.program, group.program),
            PROGRAM_STEP: group.step,
        }
        try:
            birthdate = parse_date(row.get(f.learner_birthdate))
        except ValueError as exc:
            self.warn(entry, str(exc), f.learner_birthdate)
            birthdate = None
        if birthdate is None:
            self.warn(entry, "no birth date: majority unknown", f.learner_birthdate)
        else:
            major = is_major(birthdate, self.run_date)
            fields[OUVERAGE] = values.major if major else values.minor
        status = text(row, f.learner_status)
        if status:
            if status not in self.statuses:
                self.warn(entry, f"status {status!r} not in the statuses table", f.learner_status)
            fields[STATUS] = self.statuses.get(status, status)
        return fields

    def add_trainer(self, row: Mapping[str, Any]) -> None:
        f = self.settings.fields
        found = self._person(
            TRAINER,
            row,
            (f.trainer_code, f.trainer_lastname, f.trainer_firstname, f.trainer_email,
             f.trainer_login),
        )  # fmt: skip
        if found is None:
            return
        entry, values = found
        person = self._account(
            TRAINER,
            entry,
            values,
            Profile.TEACHER,
            {USERTYPE: self._usertype(self.settings.values.teacher)},
        )
        self.people[person.source_key] = person
        for code in codes(row, f.trainer_groups):
            group = self.groups.get(code)
            if group is None:
                self.warn(entry, f"teaches unknown group {code}", f.trainer_groups)
                continue
            for course in self.courses(group):
                self.enrolments.add(
                    Enrolment(course, person.source_key, self.settings.teacher_role)
                )

    def add_tutor(self, row: Mapping[str, Any]) -> None:
        f = self.settings.fields
        found = self._person(
            TUTOR,
            row,
            (f.tutor_code, f.tutor_lastname, f.tutor_firstname, f.tutor_email, f.tutor_login),
        )
        if found is None:
            return
        entry, values = found
        person = self._account(
            TUTOR,
            entry,
            values,
            Profile.TUTOR,
            {USERTYPE: self._usertype(self.settings.values.tutor)},
        )
        self.people[person.source_key] = person
        role = self.settings.tutor_role
        for code in codes(row, f.tutor_learners):
            learner = self.learner_keys.get(code)
            if learner is None:
                self.warn(
                    entry, f"tutors learner {code}, who is in no group read", f.tutor_learners
                )
            elif role is not None:
                # The tutor's role over the apprentice, in the apprentice's user context.
                self.roles.add(
                    RoleAssignment(
                        person=person.source_key, role=role, context_level="user", context=learner
                    )
                )

    def snapshot(self, *, person: str | None = None) -> TenantSnapshot:
        """The tenant's snapshot; for ``person`` (source key, username or code), only theirs."""
        people = sorted(self.people.values(), key=lambda p: p.source_key)
        members = sorted(self.members, key=lambda m: m.key)
        enrolments = sorted(self.enrolments, key=lambda e: e.key)
        roles = sorted(self.roles, key=lambda r: r.key)
        if person is not None:
            wanted = {
                p.source_key
                for p in people
                if person in (p.source_key, p.username, p.source_key.rsplit(":", 1)[-1])
            }
            people = [p for p in people if p.source_key in wanted]
            members = [m for m in members if m.person in wanted]
            enrolments = [e for e in enrolments if e.person in wanted]
            roles = [r for r in roles if r.person in wanted]
        return TenantSnapshot(
            tenant=self.tenant.id,
            people=tuple(people),
            cohorts=tuple(sorted(self.cohorts.values(), key=lambda c: c.key)),
            cohort_members=tuple(members),
            enrolments=tuple(enrolments),
            role_assignments=tuple(roles),
            warnings=tuple(self.warnings),
            complete=person is None,
            held=frozenset(self.held - self.people.keys()),
        )
