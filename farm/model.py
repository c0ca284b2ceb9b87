"""Records and snapshots: the normalised facts that sources produce and plans consume.

Everything here is a plain frozen dataclass with no I/O. A *record* is one fact
read from a source (a person, a cohort, a membership...). Each record has a
``key`` that identifies it within a site and a ``digest`` that changes exactly
when something Moodle stores for it changes; the per-site index keeps the
digest of what was last written, which is what makes syncs differential.

Keys are plain strings so that they can be stored, logged and compared
without knowing the record type. They never contain secrets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self


class Profile(StrEnum):
    """What a person is to an establishment, in the farm's own words."""

    STUDENT = "student"
    TEACHER = "teacher"
    STAFF = "staff"
    PARENT = "parent"
    TUTOR = "tutor"


class Entity(StrEnum):
    """The kinds of record a sync can select (``--entities users,cohorts``)."""

    USERS = "users"
    COHORTS = "cohorts"
    ROLES = "roles"
    GROUPS = "groups"
    ENROLMENTS = "enrolments"


def _canonical(value: Any) -> Any:
    """Turn a record field into something JSON can encode in one stable way."""
    if isinstance(value, frozenset | set):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def stable_digest(parts: Mapping[str, Any]) -> str:
    """A short digest of ``parts`` that is identical across processes and runs."""
    encoded = json.dumps(_canonical(parts), ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(encoded.encode("utf-8"), digest_size=12).hexdigest()


class Record:
    """Behaviour shared by every record type.

    Subclasses are frozen dataclasses; ``DIGEST_EXCLUDES`` names the fields
    that identify a record or describe where it came from, and so do not take
    part in its digest.
    """

    __slots__ = ()

    DIGEST_EXCLUDES: ClassVar[frozenset[str]] = frozenset()

    @property
    def key(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def digest(self) -> str:
        """Digest of everything Moodle stores for this record."""
        parts = {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if f.name not in self.DIGEST_EXCLUDES
        }
        return stable_digest(parts)


@dataclass(frozen=True, slots=True)
class Person(Record):
    """One account-to-be on a Moodle site.

    ``source_key`` is the source's own stable identifier, qualified by the
    source (``sdet:F1700ivg``, ``netypareo:cfa-31:apprenant:1234``). It is the
    index key: usernames and e-mails may change, the source key does not.
    ``establishments`` holds the tenant ids (UAI or NetYpareo site id) the
    person belongs to; ``profile_fields`` maps Moodle custom profile field
    shortnames to values.
    """

    source_key: str
    username: str
    idnumber: str
    firstname: str
    lastname: str
    email: str
    auth: str = "manual"
    profiles: frozenset[Profile] = frozenset()
    establishments: frozenset[str] = frozenset()
    profile_fields: Mapping[str, str] = field(default_factory=dict)
    suspended: bool = False

    DIGEST_EXCLUDES: ClassVar[frozenset[str]] = frozenset({"source_key", "establishments"})

    @property
    def key(self) -> str:
        return self.source_key

    def __hash__(self) -> int:
        return hash(self.source_key)


@dataclass(frozen=True, slots=True)
class Cohort(Record):
    """A site-level cohort. ``idnumber`` carries the farm's prefix; it is the key."""

    idnumber: str
    name: str
    description: str = ""
    context: str = "system"
    establishment: str | None = None

    DIGEST_EXCLUDES: ClassVar[frozenset[str]] = frozenset({"establishment"})

    @property
    def key(self) -> str:
        return self.idnumber


@dataclass(frozen=True, slots=True)
class CohortMembership(Record):
    cohort: str
    person: str

    @property
    def key(self) -> str:
        return f"{self.cohort}|{self.person}"


@dataclass(frozen=True, slots=True)
class Enrolment(Record):
    """A manual enrolment of a person in a course (named by course idnumber)."""

    course: str
    person: str
    role: str = "student"

    @property
    def key(self) -> str:
        return f"{self.course}|{self.person}|{self.role}"


@dataclass(frozen=True, slots=True)
class Group(Record):
    """A course group; ``idnumber`` carries the farm's prefix."""

    course: str
    idnumber: str
    name: str
    description: str = ""

    @property
    def key(self) -> str:
        return f"{self.course}|{self.idnumber}"


@dataclass(frozen=True, slots=True)
class GroupMembership(Record):
    course: str
    group: str
    person: str

    @property
    def key(self) -> str:
        return f"{self.course}|{self.group}|{self.person}"


@dataclass(frozen=True, slots=True)
class RoleAssignment(Record):
    """A role given in a context: ``context_level`` is system, coursecat or course."""

    person: str
    role: str
    context_level: str = "system"
    context: str = ""

    @property
    def key(self) -> str:
        return f"{self.person}|{self.role}|{self.context_level}|{self.context}"


@dataclass(frozen=True, slots=True)
class SourceWarning:
    """Something a source skipped or doubted, naming the entry and the attribute."""

    tenant: str
    entry: str
    message: str
    attribute: str | None = None

    def __str__(self) -> str:
        where = f"{self.entry} [{self.attribute}]" if self.attribute else self.entry
        return f"{self.tenant}: {where}: {self.message}"


@dataclass(frozen=True, slots=True)
class TenantSnapshot:
    """Everything one source said about one tenant in one read.

    ``complete`` is false for a delta or single-person read: such a snapshot
    can add and change records but its absences prove nothing, so a plan built
    on it never removes.
    """

    tenant: str
    people: tuple[Person, ...] = ()
    cohorts: tuple[Cohort, ...] = ()
    cohort_members: tuple[CohortMembership, ...] = ()
    enrolments: tuple[Enrolment, ...] = ()
    groups: tuple[Group, ...] = ()
    group_members: tuple[GroupMembership, ...] = ()
    role_assignments: tuple[RoleAssignment, ...] = ()
    warnings: tuple[SourceWarning, ...] = ()
    complete: bool = True

    def with_warnings(self, extra: Iterable[SourceWarning]) -> Self:
        return type(self)(
            tenant=self.tenant,
            people=self.people,
            cohorts=self.cohorts,
            cohort_members=self.cohort_members,
            enrolments=self.enrolments,
            groups=self.groups,
            group_members=self.group_members,
            role_assignments=self.role_assignments,
            warnings=(*self.warnings, *extra),
            complete=self.complete,
        )
