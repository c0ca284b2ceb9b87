"""Declared rules that bind what the directory says to courses and roles on the site.

A directory's ``[directories.NAME.courses]`` table holds two arrays:

- ``[[...courses.enrolments]]``: one :class:`EnrolmentRule` each. A rule
  names the directory attribute that declares its courses (a class, a group,
  a level, or a class or group with a subject), a template that turns each
  value into a course reference (``{uai}-{class}-{subject}``), matched on the
  course's idnumber or shortname, and the Moodle role of each profile:
  students of the class (or group, or level) as ``student``, teachers of
  that class (and subject) as ``editingteacher``. It may also make course
  groups in those courses, one per class or group of the enrolled students,
  with the teachers of that class or group when ``group_teachers`` says so.
- ``[[...courses.roles]]``: one :class:`RoleRule` each. A function code of
  ``ENTPersonFonctions`` (``DIR``) or a profile gets a role at system
  context, at a category named by a template over its idnumber (the
  establishment's, ``{uai}``) or in a course.

Every name is checked when the farm loads: an attribute the rules cannot
read, a placeholder a template cannot fill, a profile without a meaning
here. Role names are checked against each site's roles by ``farm tenants
check``, since a site may add its own (``[site] roles``). The rules are
plain frozen models; :mod:`farm.sources.sdet.course_links` applies them.
"""

from __future__ import annotations

import string
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from farm.model import CATEGORY_BY_IDNUMBER, COURSE_BY_SHORTNAME, Profile


class Binding(StrEnum):
    """What the directory value a course is made from says: its placeholders follow."""

    CLASS = "class"
    GROUP = "group"
    LEVEL = "level"
    CLASS_SUBJECT = "class_subject"
    GROUP_SUBJECT = "group_subject"


#: Attributes a rule may name (lower-cased), and what their values bind.
ATTRIBUTES: dict[str, tuple[str, Binding]] = {
    name.lower(): (name, binding)
    for name, binding in (
        ("ENTEleveClasses", Binding.CLASS),
        ("ENTAuxEnsClasses", Binding.CLASS),
        ("ENTEleveGroupes", Binding.GROUP),
        ("ENTAuxEnsGroupes", Binding.GROUP),
        ("ENTEleveNivFormation", Binding.LEVEL),
        ("ENTAuxEnsClassesMatieres", Binding.CLASS_SUBJECT),
        ("ENTAuxEnsGroupesMatieres", Binding.GROUP_SUBJECT),
    )
}
#: The attributes read for each binding (beyond those the source always reads).
READS: dict[Binding, tuple[str, ...]] = {
    Binding.CLASS: (),
    Binding.GROUP: (),
    Binding.LEVEL: ("ENTEleveNivFormation",),
    Binding.CLASS_SUBJECT: ("ENTAuxEnsClassesMatieres",),
    Binding.GROUP_SUBJECT: ("ENTAuxEnsGroupesMatieres",),
}
PLACEHOLDERS: dict[Binding, frozenset[str]] = {
    Binding.CLASS: frozenset({"uai", "class"}),
    Binding.GROUP: frozenset({"uai", "group"}),
    Binding.LEVEL: frozenset({"uai", "level"}),
    Binding.CLASS_SUBJECT: frozenset({"uai", "class", "subject"}),
    Binding.GROUP_SUBJECT: frozenset({"uai", "group", "subject"}),
}
#: Who a course of each binding enrols: the level says nothing of teachers.
ENROLLED: dict[Binding, frozenset[Profile]] = {
    Binding.CLASS: frozenset({Profile.STUDENT, Profile.TEACHER}),
    Binding.GROUP: frozenset({Profile.STUDENT, Profile.TEACHER}),
    Binding.LEVEL: frozenset({Profile.STUDENT}),
    Binding.CLASS_SUBJECT: frozenset({Profile.STUDENT, Profile.TEACHER}),
    Binding.GROUP_SUBJECT: frozenset({Profile.STUDENT, Profile.TEACHER}),
}
DEFAULT_ROLES: dict[Profile, str] = {Profile.STUDENT: "student", Profile.TEACHER: "editingteacher"}
ROLE_PLACEHOLDERS = frozenset({"uai"})

Match = Literal["idnumber", "shortname"]


def template_names(template: str) -> frozenset[str]:
    """The placeholders of a ``str.format`` template; ValueError when it is malformed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"malformed template {template!r}: {exc}") from None
    names = set()
    for _, name, spec, _ in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"template {template!r}: {{{name}}} is not a placeholder name")
        if spec:
            raise ValueError(f"template {template!r}: {{{name}:{spec}}} takes no format spec")
        names.add(name)
    return frozenset(names)


def _check(template: str, allowed: frozenset[str], what: str) -> str:
    names = template_names(template)
    unknown = names - allowed
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in sorted(unknown))} in "
            f"{template!r}; {what} allows {', '.join('{' + n + '}' for n in sorted(allowed))}"
        )
    if not template.strip():
        raise ValueError("an empty template names no course")
    return template


def course_reference(match: Match, value: str) -> str:
    """How an enrolment or group names its course: the idnumber, or ``shortname:`` and it."""
    return value if match == "idnumber" else COURSE_BY_SHORTNAME + value


def _role_name(value: str) -> str:
    if not value or not value.replace("_", "").isalnum() or value != value.lower():
        raise ValueError(f"{value!r} is not a role shortname, e.g. 'student' or 'editingteacher'")
    return value


class EnrolmentRule(BaseModel):
    """Courses made from one directory attribute, and who is enrolled in them as what.

    ``attribute`` declares the courses: each (establishment, value) it holds
    is one course, named by ``course`` (placeholders ``{uai}`` and those of
    the attribute: ``{class}``, ``{group}``, ``{level}``, ``{subject}``) and
    found on the site by ``match`` (``idnumber`` or ``shortname``). Students
    and teachers of the class get the role ``roles`` gives their profile; a
    profile left out of ``roles`` is not enrolled (left out, ``roles`` enrols
    students as ``student`` and teachers as ``editingteacher``). A class (or group) course
    is made from either side's attribute and enrols both sides: the
    students of the class and the teachers of it. A level enrols its
    students only. A subject course enrols the teachers of that class and
    subject and every student of the class.

    ``groups`` lists what course groups the rule makes in each of its
    courses: ``class`` (one per class of the enrolled students), ``group``
    (one per group of theirs). ``group_teachers`` adds each enrolled teacher
    to the groups of the classes or groups they teach.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str = Field(description="the attribute whose values declare the courses")
    course: str = Field(description="course template, e.g. '{uai}-{class}-{subject}'")
    match: Match = Field("idnumber", description="match the course's idnumber or shortname")
    roles: dict[Profile, str] = Field(
        default_factory=lambda: dict(DEFAULT_ROLES),
        description="Moodle role (shortname) of each profile enrolled",
    )
    groups: frozenset[Literal["class", "group"]] = Field(
        frozenset(), description="course groups to make: per class, per group"
    )
    group_teachers: bool = Field(False, description="teachers join the groups they teach")

    @model_validator(mode="before")
    @classmethod
    def _default_roles(cls, data: Any) -> Any:
        # Left out, roles are those of the profiles the attribute enrols.
        if isinstance(data, dict) and "roles" not in data:
            found = ATTRIBUTES.get(str(data.get("attribute", "")).strip().lower())
            if found is not None:
                enrolled = ENROLLED[found[1]]
                data = {**data, "roles": {p: r for p, r in DEFAULT_ROLES.items() if p in enrolled}}
        return data

    @field_validator("attribute")
    @classmethod
    def _known_attribute(cls, value: str) -> str:
        found = ATTRIBUTES.get(value.strip().lower())
        if found is None:
            raise ValueError(
                f"unknown attribute {value!r}: a course rule reads one of "
                + ", ".join(name for name, _ in ATTRIBUTES.values())
            )
        return found[0]

    @field_validator("course")
    @classmethod
    def _course_fits_the_attribute(cls, value: str, info: ValidationInfo) -> str:
        attribute = info.data.get("attribute")
        if attribute is None:
            return value  # the attribute itself is refused
        binding = ATTRIBUTES[attribute.lower()][1]
        return _check(value, PLACEHOLDERS[binding], f"attribute {attribute}")

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[Profile, str]) -> dict[Profile, str]:
        for role in value.values():
            _role_name(role)
        return value

    @property
    def binding(self) -> Binding:
        return ATTRIBUTES[self.attribute.lower()][1]

    @model_validator(mode="after")
    def _fits_the_attribute(self) -> Self:
        binding = self.binding
        extra = set(self.roles) - ENROLLED[binding]
        if extra:
            raise ValueError(
                f"roles: {', '.join(sorted(extra))} cannot be enrolled by {self.attribute}; "
                f"it enrols {', '.join(sorted(ENROLLED[binding]))}"
            )
        if self.group_teachers and not self.groups:
            raise ValueError("group_teachers needs groups = ['class'] or ['group']")
        return self

    def reference(self, names: dict[str, str]) -> str:
        """The course one set of values names."""
        return course_reference(self.match, self.course.format_map(names))


class RoleRule(BaseModel):
    """A role given to the people with a function code or a profile, in one context.

    Exactly one of ``function`` (the code of ``ENTPersonFonctions``, e.g.
    ``DIR``, in the establishment it names) and ``profile`` chooses the
    people. ``context`` is ``system``, ``category`` (``category`` is the
    category's idnumber template, e.g. ``{uai}``) or ``course`` (``course``
    a course template matched by ``match``). Templates know ``{uai}``, the
    establishment the function or profile is held in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: str | None = Field(None, description="ENTPersonFonctions code, e.g. DIR")
    profile: Profile | None = Field(None, description="a profile: student, teacher, staff...")
    role: str = Field(description="Moodle role shortname, e.g. manager")
    context: Literal["system", "category", "course"] = Field("system")
    category: str | None = Field(None, description="category idnumber template, e.g. '{uai}'")
    course: str | None = Field(None, description="course template, e.g. '{uai}-VIE-SCOLAIRE'")
    match: Match = Field("idnumber", description="match the course's idnumber or shortname")

    @field_validator("function")
    @classmethod
    def _function_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if not code or "$" in code:
            raise ValueError(f"{value!r} is not a function code, e.g. 'DIR' or 'ENS'")
        return code

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return _role_name(value)

    @field_validator("category", "course")
    @classmethod
    def _templates(cls, value: str | None) -> str | None:
        return None if value is None else _check(value, ROLE_PLACEHOLDERS, "a role rule")

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.function is None) == (self.profile is None):
            raise ValueError("a role rule needs exactly one of function and profile")
        if self.context == "category" and self.category is None:
            raise ValueError("context = 'category' needs category, e.g. category = '{uai}'")
        if self.context == "course" and self.course is None:
            raise ValueError("context = 'course' needs course, e.g. course = '{uai}-CDI'")
        if self.context != "category" and self.category is not None:
            raise ValueError("category is only for context = 'category'")
        if self.context != "course" and self.course is not None:
            raise ValueError("course is only for context = 'course'")
        return self

    def target(self, uai: str) -> tuple[str, str]:
        """The context level and context of an assignment in establishment ``uai``."""
        names = {"uai": uai}
        if self.context == "category":
            assert self.category is not None
            return "coursecat", CATEGORY_BY_IDNUMBER + self.category.format_map(names)
        if self.context == "course":
            assert self.course is not None
            return "course", course_reference(self.match, self.course.format_map(names))
        return "system", ""


class CourseRules(BaseModel):
    """A directory's course rules: enrolments (with course groups) and role assignments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enrolments: tuple[EnrolmentRule, ...] = Field((), description="courses and who they enrol")
    roles: tuple[RoleRule, ...] = Field((), description="roles by function code or profile")

    def __bool__(self) -> bool:
        return bool(self.enrolments or self.roles)

    def attributes(self) -> frozenset[str]:
        """Directory attributes the rules read beyond those the source always reads."""
        return frozenset(name for rule in self.enrolments for name in READS[rule.binding])

    def role_names(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Each role the rules name, with its key under the table, for the site checks."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        for at, rule in enumerate(self.enrolments):
            for profile, role in rule.roles.items():
                found.append((("enrolments", at, "roles", profile.value), role))
        for at, role_rule in enumerate(self.roles):
            found.append((("roles", at, "role"), role_rule.role))
        return found

    def categories(self, uai: str) -> list[str]:
        """The idnumbers of the categories the role rules give roles in, for ``uai``."""
        return [
            rule.category.format_map({"uai": uai})
            for rule in self.roles
            if rule.category is not None
        ]

    def course_patterns(self) -> list[tuple[tuple[str | int, ...], Match, str]]:
        """Each course template, with its key and what it matches, for ``farm sites check``."""
        found: list[tuple[tuple[str | int, ...], Match, str]] = [
            (("enrolments", at, "course"), rule.match, rule.course)
            for at, rule in enumerate(self.enrolments)
        ]
        found += [
            (("roles", at, "course"), rule.match, rule.course)
            for at, rule in enumerate(self.roles)
            if rule.course is not None
        ]
        return found
