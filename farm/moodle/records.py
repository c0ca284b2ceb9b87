"""Typed records the client sends to and reads from Moodle, and batch results.

Records to send are frozen dataclasses with ``params()``, the dictionary
Moodle expects for one item; records read back are built by ``from_answer``
and tolerate the keys Moodle leaves out (no ``idnumber`` when it is empty,
no ``customfields`` when the user has no profile data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from farm.moodle.errors import MoodleError
from farm.secrets import Secret

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user to create.

    ``password`` is sent when given; ``createpassword`` asks Moodle to generate
    one and e-mail it to the person. An external auth (CAS, OAuth 2,
    Shibboleth, LDAP) needs neither, and gets neither: Moodle records the
    password as "not cached". ``core_user_create_users`` has no
    ``suspended`` key (a real 5.0.6+ refuses the whole call): an account
    born suspended is created, then suspended by an update. ``lang``,
    ``timezone`` and ``country`` left None are not sent: Moodle gives its
    defaults (the site's language, its time zone ``99``, no country).
    """

    username: str
    firstname: str
    lastname: str
    email: str
    auth: str = "manual"
    idnumber: str = ""
    password: Secret | None = None
    lang: str | None = None
    customfields: Mapping[str, str] = field(default_factory=dict)
    createpassword: bool = False
    timezone: str | None = None
    country: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "email": self.email,
            "auth": self.auth,
            "idnumber": self.idnumber,
            "password": self.password,
            "createpassword": True if self.createpassword else None,
            "lang": self.lang,
            "timezone": self.timezone,
            "country": self.country,
            "customfields": _customfields(self.customfields),
        }


@dataclass(frozen=True, slots=True)
class UserUpdate:
    """Changes to one user; ``None`` leaves a field as it is, ``""`` clears a profile field."""

    id: int
    username: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    auth: str | None = None
    idnumber: str | None = None
    suspended: bool | None = None
    password: Secret | None = None
    customfields: Mapping[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "email": self.email,
            "auth": self.auth,
            "idnumber": self.idnumber,
            "suspended": self.suspended,
            "password": self.password,
            "customfields": _customfields(self.customfields),
        }


def _customfields(values: Mapping[str, str]) -> list[dict[str, str]] | None:
    if not values:
        return None
    return [{"type": shortname, "value": value} for shortname, value in values.items()]


@dataclass(frozen=True, slots=True)
class MoodleUser:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    auth: str
    idnumber: str
    suspended: bool
    customfields: Mapping[str, str]

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> MoodleUser:
        return cls(
            id=int(data["id"]),
            username=str(data.get("username", "")),
            firstname=str(data.get("firstname", "")),
            lastname=str(data.get("lastname", "")),
            email=str(data.get("email", "")),
            auth=str(data.get("auth", "")),
            idnumber=str(data.get("idnumber", "")),
            suspended=bool(data.get("suspended", False)),
            customfields={
                str(f.get("shortname", f.get("type"))): str(f.get("value", ""))
                for f in data.get("customfields", [])
            },
        )


@dataclass(frozen=True, slots=True)
class NewCohort:
    """A cohort to create, at system context or in a category (by id)."""

    idnumber: str
    name: str
    description: str = ""
    category_id: int | None = None
    visible: bool = True

    def params(self) -> dict[str, Any]:
        categorytype = (
            {"type": "system", "value": ""}
            if self.category_id is None
            else {"type": "id", "value": str(self.category_id)}
        )
        return {
            "categorytype": categorytype,
            "name": self.name,
            "idnumber": self.idnumber,
            "description": self.description,
            "visible": self.visible,
        }


@dataclass(frozen=True, slots=True)
class MoodleCohort:
    id: int
    idnumber: str
    name: str
    description: str
    visible: bool

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> MoodleCohort:
        return cls(
            id=int(data["id"]),
            idnumber=str(data.get("idnumber") or ""),
            name=str(data.get("name", "")),
            description=str(data.get("description") or ""),
            visible=bool(data.get("visible", True)),
        )


@dataclass(frozen=True, slots=True)
class CohortMember:
    cohort_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class NewCourse:
    shortname: str
    fullname: str
    category_id: int
    idnumber: str = ""

    def params(self) -> dict[str, Any]:
        return {
            "fullname": self.fullname,
            "shortname": self.shortname,
            "categoryid": self.category_id,
            "idnumber": self.idnumber or None,
        }


@dataclass(frozen=True, slots=True)
class MoodleCourse:
    id: int
    shortname: str
    fullname: str
    category_id: int
    idnumber: str

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> MoodleCourse:
        return cls(
            id=int(data["id"]),
            shortname=str(data.get("shortname", "")),
            fullname=str(data.get("fullname", "")),
            category_id=int(data.get("categoryid", 0)),
            idnumber=str(data.get("idnumber") or ""),
        )


@dataclass(frozen=True, slots=True)
class MoodleCategory:
    """A course category as ``core_course_get_categories`` answers it (``parent`` 0: top)."""

    id: int
    name: str
    idnumber: str
    parent: int

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> MoodleCategory:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name", "")),
            idnumber=str(data.get("idnumber") or ""),
            parent=int(data.get("parent") or 0),
        )


@dataclass(frozen=True, slots=True)
class ManualEnrolment:
    """An item of ``enrol_manual_enrol_users``: a person in a course, with a role.

    The one call both enrols and changes an enrolment Moodle already has, so
    this is not a ``New...`` record: ``suspend``/``timestart``/``timeend`` set
    or clear; None keeps. (``farm.model.Enrolment`` is the source's fact, by
    source keys; this is Moodle's, by Moodle ids.)
    """

    course_id: int
    user_id: int
    role_id: int
    suspend: bool | None = None
    timestart: int | None = None
    timeend: int | None = None

    def params(self) -> dict[str, Any]:
        return {
            "roleid": self.role_id,
            "userid": self.user_id,
            "courseid": self.course_id,
            "timestart": self.timestart,
            "timeend": self.timeend,
            "suspend": self.suspend,
        }


@dataclass(frozen=True, slots=True)
class Unenrolment:
    course_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class AssignedRole:
    """A person's role in a context, named by ``context_id`` or by level name + instance id.

    The item of both ``core_role_assign_roles`` and ``core_role_unassign_roles``
    (the same fields): the role assigned, or the one to take away, hence not a
    ``New...`` record. ``farm.model.RoleAssignment`` is the source's fact, by
    source keys; this is Moodle's, by Moodle ids.
    """

    role_id: int
    user_id: int
    context_id: int | None = None
    context_level: str = "system"
    instance_id: int = 0

    def params(self) -> dict[str, Any]:
        if self.context_id is not None:
            return {"roleid": self.role_id, "userid": self.user_id, "contextid": self.context_id}
        return {
            "roleid": self.role_id,
            "userid": self.user_id,
            "contextlevel": self.context_level,
            "instanceid": self.instance_id,
        }


@dataclass(frozen=True, slots=True)
class NewGroup:
    course_id: int
    name: str
    idnumber: str = ""
    description: str = ""

    def params(self) -> dict[str, Any]:
        return {
            "courseid": self.course_id,
            "name": self.name,
            "description": self.description,
            "idnumber": self.idnumber or None,
        }


@dataclass(frozen=True, slots=True)
class MoodleGroup:
    id: int
    course_id: int
    name: str
    idnumber: str
    description: str

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> MoodleGroup:
        return cls(
            id=int(data["id"]),
            course_id=int(data.get("courseid", 0)),
            name=str(data.get("name", "")),
            idnumber=str(data.get("idnumber") or ""),
            description=str(data.get("description") or ""),
        )


@dataclass(frozen=True, slots=True)
class GroupMember:
    group_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class EnrolledUser:
    user: MoodleUser
    role_ids: frozenset[int]
    group_ids: frozenset[int]

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> EnrolledUser:
        return cls(
            user=MoodleUser.from_answer(data),
            role_ids=frozenset(int(r["roleid"]) for r in data.get("roles", [])),
            group_ids=frozenset(int(g["id"]) for g in data.get("groups", [])),
        )


@dataclass(frozen=True, slots=True)
class SiteInfo:
    sitename: str
    siteurl: str
    release: str
    version: str
    username: str
    userid: int
    functions: frozenset[str]

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> SiteInfo:
        return cls(
            sitename=str(data.get("sitename", "")),
            siteurl=str(data.get("siteurl", "")),
            release=str(data.get("release", "")),
            version=str(data.get("version", "")),
            username=str(data.get("username", "")),
            userid=int(data.get("userid", 0)),
            functions=frozenset(str(f["name"]) for f in data.get("functions", [])),
        )


@dataclass(frozen=True, slots=True)
class Confirmed(Generic[T]):
    """An item Moodle confirmed; ``id`` is its Moodle id when the call returns one.

    ``adopted`` means Moodle already had the record (a create retried after a
    lost answer, or ``adopt_existing``) and the client looked it up.
    """

    item: T
    id: int | None = None
    adopted: bool = False


@dataclass(frozen=True, slots=True)
class Failed(Generic[T]):
    """An item Moodle refused, with Moodle's reason."""

    item: T
    error: MoodleError

    @property
    def reason(self) -> str:
        return self.error.reason


@dataclass(slots=True)
class BatchResult(Generic[T]):
    """What one call (or a whole operation, merged) confirmed and refused."""

    confirmed: list[Confirmed[T]] = field(default_factory=list)
    failed: list[Failed[T]] = field(default_factory=list)

    def extend(self, other: BatchResult[T]) -> None:
        self.confirmed.extend(other.confirmed)
        self.failed.extend(other.failed)

    @property
    def ids(self) -> list[int | None]:
        return [c.id for c in self.confirmed]

    def __len__(self) -> int:
        return len(self.confirmed) + len(self.failed)
