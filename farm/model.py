"""Records and snapshots: the normalised facts that sources produce and plans consume.

Everything here is a plain frozen dataclass with no I/O. A *record* is one fact
read from a source (a person, a cohort, a membership...). Each record has a
``key`` that identifies it within a site and a ``digest`` that changes exactly
when something Moodle stores for it changes; the per-site index keeps the
digest of what was last written, which is what makes syncs differential.

Keys are plain strings so that they can be stored, logged and compared
without knowing the record type. They never contain secrets.

A digest is blake2b over the JSON list of the record's :meth:`Record.values`
in field order (:mod:`farm.digest`), so it is identical across processes and machines. The same
values, as a JSON object, are what the index keeps of the last write, which
lets an update send only the fields that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar, cast

from farm.digest import canonical, list_digest

_T = TypeVar("_T")


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


class Kind(StrEnum):
    """One record type, as the index and the plan name it (the registry's ``entity`` column)."""

    PERSON = "person"
    COHORT = "cohort"
    COHORT_MEMBER = "cohort_member"
    ENROLMENT = "enrolment"
    GROUP = "group"
    GROUP_MEMBER = "group_member"
    ROLE_ASSIGNMENT = "role_assignment"

    @property
    def entity(self) -> Entity:
        """The operator-facing selection (``--entities``) this kind belongs to."""
        return _ENTITY_OF[self]

    @property
    def has_moodle_id(self) -> bool:
        """True for kinds Moodle gives an id of their own (accounts, cohorts, groups)."""
        return self in (Kind.PERSON, Kind.COHORT, Kind.GROUP)


_ENTITY_OF = {
    Kind.PERSON: Entity.USERS,
    Kind.COHORT: Entity.COHORTS,
    Kind.COHORT_MEMBER: Entity.COHORTS,
    Kind.ENROLMENT: Entity.ENROLMENTS,
    Kind.GROUP: Entity.GROUPS,
    Kind.GROUP_MEMBER: Entity.GROUPS,
    Kind.ROLE_ASSIGNMENT: Entity.ROLES,
}

#: Kinds that link a person to something; they follow the person when it leaves.
MEMBERSHIP_KINDS = frozenset(
    {Kind.COHORT_MEMBER, Kind.ENROLMENT, Kind.GROUP_MEMBER, Kind.ROLE_ASSIGNMENT}
)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _value_fields(cls: type[Record]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(
            f.name
            for f in fields(cls)  # type: ignore[arg-type]
            if f.name not in cls.DIGEST_EXCLUDES
        )
        _FIELD_NAMES[cls] = names
    return names


class Record:
    """Behaviour shared by every record type.

    Subclasses are frozen dataclasses; ``DIGEST_EXCLUDES`` names the fields
    that identify a record or describe where it came from, and so do not take
    part in its digest.
    """

    __slots__ = ()

    DIGEST_EXCLUDES: ClassVar[frozenset[str]] = frozenset()
    KIND: ClassVar[Kind]

    @property
    def key(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @property
    def kind(self) -> Kind:
        return self.KIND

    def canonical(self) -> list[Any]:
        """The digested field values, in field order, as JSON-ready plain values."""
        return [canonical(getattr(self, name)) for name in _value_fields(type(self))]

    def values(self) -> dict[str, Any]:
        """The digested fields as a JSON object: what the index keeps of the last write."""
        return dict(zip(_value_fields(type(self)), self.canonical(), strict=True))

    def digest(self) -> str:
        """Digest of everything Moodle stores for this record."""
        return list_digest(self.canonical())


_SHARED_SETS: dict[frozenset[Any], frozenset[Any]] = {}
# Distinct sets of UAIs and profiles are few (a farm's establishments, cités scolaires);
# past this many, the table starts again rather than grow without bound in a long worker.
_SHARED_SETS_MAX = 65_536


def shared_set(items: frozenset[_T]) -> frozenset[_T]:
    """One frozenset object for every equal set: the one made first.

    A person's profiles and establishments repeat across a whole read
    (one UAI, one profile for most): a set of one costs 216 bytes, once per
    person and field without this. Thread-safe (``setdefault`` is atomic).
    """
    if len(_SHARED_SETS) >= _SHARED_SETS_MAX:
        _SHARED_SETS.clear()
    return cast("frozenset[_T]", _SHARED_SETS.setdefault(items, items))


# One empty mapping for every person without profile fields, not a dict of 64 bytes each
# (a plain dict, so that records pickle; a Mapping to everyone, so nobody writes to it).
_NO_PROFILE_FIELDS: Mapping[str, str] = {}


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
    profile_fields: Mapping[str, str] = field(default_factory=lambda: _NO_PROFILE_FIELDS)
    suspended: bool = False

    DIGEST_EXCLUDES: ClassVar[frozenset[str]] = frozenset({"source_key", "establishments"})
    KIND: ClassVar[Kind] = Kind.PERSON

    @property
    def key(self) -> str:
        return self.source_key

    def with_auth(self, auth: str) -> Person:
        """This person with another auth plugin; :func:`dataclasses.replace`, four times as fast.

        The site rules give every account its site's plugin, for each person on every run.
        """
        return _person_with_auth(self, auth)

    def canonical(self) -> list[Any]:
        # Spelled out because it runs once per person and plan: about 3x faster than the loop.
        profiles = self.profiles
        fields_ = self.profile_fields
        return [
            self.username,
            self.idnumber,
            self.firstname,
            self.lastname,
            self.email,
            self.auth,
            sorted(p.value for p in profiles) if profiles else [],
            dict(sorted(fields_.items())) if fields_ else {},
            self.suspended,
        ]

    def __hash__(self) -> int:
        return hash(self.source_key)


def _cloner() -> Callable[[Person, str], Person]:
    # Each field set through its slot's own descriptor, spelled out: no name looked up
    # and no frozen-dataclass check per field (2.5 -> 1.0-1.2 us a person, on every run).
    slots = Person.__dict__
    assert [f.name for f in fields(Person)] == [
        "source_key", "username", "idnumber", "firstname", "lastname", "email", "auth",
        "profiles", "establishments", "profile_fields", "suspended",
    ]  # fmt: skip
    set_source_key, set_username, set_idnumber = (
        slots["source_key"].__set__,
        slots["username"].__set__,
        slots["idnumber"].__set__,
    )
    set_firstname, set_lastname, set_email, set_auth = (
        slots["firstname"].__set__,
        slots["lastname"].__set__,
        slots["email"].__set__,
        slots["auth"].__set__,
    )
    set_profiles, set_establishments, set_profile_fields, set_suspended = (
        slots["profiles"].__set__,
        slots["establishments"].__set__,
        slots["profile_fields"].__set__,
        slots["suspended"].__set__,
    )
    new = object.__new__

    def with_auth(person: Person, auth: str) -> Person:
        clone = new(Person)
        set_source_key(clone, person.source_key)
        set_username(clone, person.username)
        set_idnumber(clone, person.idnumber)
        set_firstname(clone, person.firstname)
        set_lastname(clone, person.lastname)
        set_email(clone, person.email)
        set_auth(clone, auth)
        set_profiles(clone, person.profiles)
        set_establishments(clone, person.establishments)
        set_profile_fields(clone, person.profile_fields)
        set_suspended(clone, person.suspended)
        return clone

    return with_auth


_person_with_auth = _cloner()


@dataclass(frozen=True, slots=True)
class Cohort(Record):
    """A site-level cohort. ``idnumber`` carries the farm's prefix; it is the key.

    ``visible`` is false only on a cohort the farm archives
    (``cohort_retirement = "archive"``, :mod:`farm.plan_objects`), which it
    renames too. It is not digested: sources never set it, so the digests
    of every cohort stay what they were, and the rename is what makes a
    cohort read again differ from its archived entry (its update shows it).
    """

    idnumber: str
    name: str
    description: str = ""
    context: str = "system"
    establishment: str | None = None
    visible: bool = True

    DIGEST_EXCLUDES: ClassVar[frozenset[str]] = frozenset({"establishment", "visible"})
    KIND: ClassVar[Kind] = Kind.COHORT

    @property
    def key(self) -> str:
        return self.idnumber


@dataclass(frozen=True, slots=True)
class CohortMembership(Record):
    """``person`` is the person's source key; ``cohort`` the cohort's idnumber."""

    cohort: str
    person: str

    KIND: ClassVar[Kind] = Kind.COHORT_MEMBER

    @property
    def key(self) -> str:
        return f"{self.cohort}|{self.person}"


#: How a link names a course by its shortname: ``shortname:`` and the shortname.
COURSE_BY_SHORTNAME = "shortname:"
#: How a role assignment names a category by its idnumber: ``idnumber:`` and the idnumber.
CATEGORY_BY_IDNUMBER = "idnumber:"


@dataclass(frozen=True, slots=True)
class Enrolment(Record):
    """A manual enrolment of a person in a course.

    ``course`` is the course's idnumber, or :data:`COURSE_BY_SHORTNAME` and
    its shortname; a course group names its course the same way.
    """

    course: str
    person: str
    role: str = "student"

    KIND: ClassVar[Kind] = Kind.ENROLMENT

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

    KIND: ClassVar[Kind] = Kind.GROUP

    @property
    def key(self) -> str:
        return f"{self.course}|{self.idnumber}"


@dataclass(frozen=True, slots=True)
class GroupMembership(Record):
    """``group`` is the group's idnumber within ``course``; ``person`` a source key."""

    course: str
    group: str
    person: str

    KIND: ClassVar[Kind] = Kind.GROUP_MEMBER

    @property
    def key(self) -> str:
        return f"{self.course}|{self.group}|{self.person}"


@dataclass(frozen=True, slots=True)
class RoleAssignment(Record):
    """A role given in a context: ``context_level`` is system, coursecat, course or user.

    ``context`` names the instance: a course as :class:`Enrolment` does, a
    category by id or as :data:`CATEGORY_BY_IDNUMBER` and its idnumber, a
    person by source key; empty at system level.
    """

    person: str
    role: str
    context_level: str = "system"
    context: str = ""

    KIND: ClassVar[Kind] = Kind.ROLE_ASSIGNMENT

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

    ``held`` names people (by source key) the source saw for this tenant but
    could not read, such as a directory entry missing a required attribute:
    their absence from ``people`` proves nothing either, so the plan leaves
    them, and their links, exactly as they are.

    ``stored`` names people (by source key) that come from a store the farm
    keeps rather than from the source read: a staff roster
    (:func:`farm.snapshot.with_stored`). They are people of the snapshot in
    every way but one: the safety checks judge a source by what it returned
    itself, so they are not counted among the people read.
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
    held: frozenset[str] = frozenset()
    stored: frozenset[str] = frozenset()

    def with_warnings(self, extra: Iterable[SourceWarning]) -> Self:
        return replace(self, warnings=(*self.warnings, *extra))

    def records(self, kind: Kind) -> tuple[Record, ...]:
        """The records of one kind, in the order the source gave them."""
        return cast("tuple[Record, ...]", getattr(self, _SNAPSHOT_FIELD[kind]))


_SNAPSHOT_FIELD = {
    Kind.PERSON: "people",
    Kind.COHORT: "cohorts",
    Kind.COHORT_MEMBER: "cohort_members",
    Kind.ENROLMENT: "enrolments",
    Kind.GROUP: "groups",
    Kind.GROUP_MEMBER: "group_members",
    Kind.ROLE_ASSIGNMENT: "role_assignments",
}


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One record the farm wrote to a site.

    ``moodle_id`` is None for kinds Moodle gives no id of their own
    (memberships, enrolments, role assignments). ``suspended`` is true when
    the farm suspended the account because every tenant dropped the person;
    ``tenants`` is then empty.
    """

    kind: Kind
    key: str
    moodle_id: int | None
    digest: str
    values: Mapping[str, Any] = field(default_factory=dict)
    tenants: frozenset[str] = frozenset()
    suspended: bool = False

    def __hash__(self) -> int:
        return hash((self.kind, self.key))

    @classmethod
    def restore(
        cls,
        kind: Kind | str,
        key: str,
        moodle_id: int | None,
        digest: str,
        values: Mapping[str, Any],
        tenants: Iterable[str],
    ) -> IndexEntry:
        """Rebuild an entry from parts that do not say whether it is suspended.

        The farm suspends a person only when no tenant holds them, and then
        records ``suspended: true`` in the values, so the two together say it
        (the registry's revision 0009 filled its ``suspended`` column so).
        """
        held = frozenset(tenants)
        kind = Kind(kind)
        suspended = kind is Kind.PERSON and not held and values.get("suspended") is True
        return cls(kind, key, moodle_id, digest, values, held, suspended)
