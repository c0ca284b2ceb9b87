"""One tenant's people -> enrolments, course groups and role assignments, by the course rules.

Pure, no I/O: :func:`course_links` reads the facts of one read
(:class:`~farm.sources.sdet.people.PersonFacts`) for one establishment and
applies a directory's :class:`~farm.sources.sdet.course_rules.CourseRules`.
A course exists in this tenant when the directory says something of it
here: a class or group some student or teacher of the establishment has, a
level of its students, a class or group with a subject some teacher of it
teaches. Whether Moodle has such a course is the site's business: the
applier skips, counted per course, the links of a course it does not find.

Course group idnumbers are the farm's (:func:`farm.cohorts.cohort_idnumber`
with the cohort year), so the planner touches no group the farm does not
own: ``farm:2026:0999901Z:class:2NDE1`` in each course the class is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from farm.cohorts import cohort_idnumber
from farm.model import Enrolment, Group, GroupMembership, Profile, RoleAssignment
from farm.sources.sdet.course_rules import Binding, CourseRules, EnrolmentRule
from farm.sources.sdet.people import PersonFacts


@dataclass(frozen=True, slots=True)
class CourseLinks:
    """What the course rules make of one tenant, each record once, sorted by key."""

    enrolments: tuple[Enrolment, ...] = ()
    groups: tuple[Group, ...] = ()
    group_members: tuple[GroupMembership, ...] = ()
    role_assignments: tuple[RoleAssignment, ...] = ()


def _add(table: dict[str, set[str]], code: str, key: str) -> None:
    found = table.get(code)
    if found is None:
        found = table[code] = set()
    found.add(key)


@dataclass(slots=True)
class _Classes:
    """Who is in which class, group and level of one establishment, both ways."""

    class_students: dict[str, set[str]] = field(default_factory=dict)
    group_students: dict[str, set[str]] = field(default_factory=dict)
    level_students: dict[str, set[str]] = field(default_factory=dict)
    class_teachers: dict[str, set[str]] = field(default_factory=dict)
    group_teachers: dict[str, set[str]] = field(default_factory=dict)
    subject_teachers: dict[tuple[Binding, str, str], set[str]] = field(default_factory=dict)
    # The other way: each person's classes and groups here (taught ones for teachers).
    classes_of: dict[str, set[str]] = field(default_factory=dict)
    groups_of: dict[str, set[str]] = field(default_factory=dict)
    taught_classes_of: dict[str, set[str]] = field(default_factory=dict)
    taught_groups_of: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, tenant: str, people: Iterable[PersonFacts]) -> _Classes:
        here = cls()
        for facts in people:
            if facts.person is None:
                continue
            key = facts.person.source_key
            for uai, code in facts.classes:
                if uai == tenant:
                    _add(here.class_students, code, key)
                    _add(here.classes_of, key, code)
            for uai, code in facts.groups:
                if uai == tenant:
                    _add(here.group_students, code, key)
                    _add(here.groups_of, key, code)
            if Profile.STUDENT in facts.person.profiles:
                for level in facts.course_levels:
                    _add(here.level_students, level, key)
            for uai, code in facts.taught_classes:
                if uai == tenant:
                    _add(here.class_teachers, code, key)
                    _add(here.taught_classes_of, key, code)
            for uai, code in facts.taught_groups:
                if uai == tenant:
                    _add(here.group_teachers, code, key)
                    _add(here.taught_groups_of, key, code)
            for binding, triples, taught in (
                (Binding.CLASS_SUBJECT, facts.class_subjects, here.taught_classes_of),
                (Binding.GROUP_SUBJECT, facts.group_subjects, here.taught_groups_of),
            ):
                for uai, code, subject in triples:
                    if uai == tenant:
                        teachers = here.subject_teachers.setdefault((binding, code, subject), set())
                        teachers.add(key)
                        _add(taught, key, code)
        return here

    def courses(
        self, tenant: str, binding: Binding
    ) -> Iterable[tuple[dict[str, str], set[str], set[str]]]:
        """Each course of ``binding`` here: its template values, its students, its teachers."""
        none: set[str] = set()
        if binding is Binding.CLASS or binding is Binding.GROUP:
            name = binding.value
            students = self.class_students if binding is Binding.CLASS else self.group_students
            teachers = self.class_teachers if binding is Binding.CLASS else self.group_teachers
            for code in sorted(students.keys() | teachers.keys()):
                yield (
                    {"uai": tenant, name: code},
                    students.get(code, none),
                    teachers.get(code, none),
                )
        elif binding is Binding.LEVEL:
            for level, members in sorted(self.level_students.items()):
                yield {"uai": tenant, "level": level}, members, none
        else:
            part = "class" if binding is Binding.CLASS_SUBJECT else "group"
            pupils = self.class_students if part == "class" else self.group_students
            for (kind, code, subject), taught in sorted(self.subject_teachers.items()):
                if kind is binding:
                    values = {"uai": tenant, part: code, "subject": subject}
                    yield values, pupils.get(code, none), taught


@dataclass(slots=True)
class _Made:
    enrolments: dict[str, Enrolment] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    members: dict[str, GroupMembership] = field(default_factory=dict)
    roles: dict[str, RoleAssignment] = field(default_factory=dict)

    def enrol(self, course: str, person: str, role: str) -> None:
        record = Enrolment(course=course, person=person, role=role)
        self.enrolments.setdefault(record.key, record)

    def group(self, course: str, idnumber: str, name: str, person: str) -> None:
        group = Group(course=course, idnumber=idnumber, name=name)
        self.groups.setdefault(group.key, group)
        member = GroupMembership(course=course, group=idnumber, person=person)
        self.members.setdefault(member.key, member)


def course_links(
    tenant: str,
    people: Sequence[PersonFacts],
    rules: CourseRules,
    *,
    prefix: str,
    year: str | None = None,
) -> CourseLinks:
    """The enrolments, course groups and role assignments ``rules`` make of ``tenant``.

    ``people`` are the facts of the people this tenant's snapshot holds;
    group idnumbers start with the farm's ``prefix`` and ``year``.
    """
    if not rules:
        return CourseLinks()
    made = _Made()
    if rules.enrolments:
        here = _Classes.of(tenant, people)
        for rule in rules.enrolments:
            _enrol(made, here, tenant, rule, prefix, year)
    for facts in people:
        person = facts.person
        if person is None:
            continue
        for role_rule in rules.roles:
            if role_rule.function is not None:
                held = (tenant, role_rule.function) in facts.functions
            else:
                held = role_rule.profile in person.profiles
            if held:
                level, context = role_rule.target(tenant)
                record = RoleAssignment(
                    person=person.source_key,
                    role=role_rule.role,
                    context_level=level,
                    context=context,
                )
                made.roles.setdefault(record.key, record)
    return CourseLinks(
        enrolments=tuple(made.enrolments[k] for k in sorted(made.enrolments)),
        groups=tuple(made.groups[k] for k in sorted(made.groups)),
        group_members=tuple(made.members[k] for k in sorted(made.members)),
        role_assignments=tuple(made.roles[k] for k in sorted(made.roles)),
    )


def _enrol(
    made: _Made,
    here: _Classes,
    tenant: str,
    rule: EnrolmentRule,
    prefix: str,
    year: str | None,
) -> None:
    """One rule's enrolments, and its course groups with their members."""
    student_role = rule.roles.get(Profile.STUDENT)
    teacher_role = rule.roles.get(Profile.TEACHER)
    for values, students, teachers in here.courses(tenant, rule.binding):
        course = rule.reference(values)
        enrolled_students = sorted(students) if student_role is not None else []
        enrolled_teachers = sorted(teachers) if teacher_role is not None else []
        for key in enrolled_students:
            made.enrol(course, key, student_role or "")
        for key in enrolled_teachers:
            made.enrol(course, key, teacher_role or "")
        for kind in sorted(rule.groups):
            mine = here.classes_of if kind == "class" else here.groups_of
            taught = here.taught_classes_of if kind == "class" else here.taught_groups_of
            codes: set[str] = set()
            for key in enrolled_students:
                for code in mine.get(key, ()):
                    codes.add(code)
                    made.group(course, _group_id(prefix, year, tenant, kind, code), code, key)
            if rule.group_teachers:
                for key in enrolled_teachers:
                    for code in taught.get(key, set()) & codes:
                        made.group(course, _group_id(prefix, year, tenant, kind, code), code, key)


def _group_id(prefix: str, year: str | None, tenant: str, kind: str, code: str) -> str:
    return cohort_idnumber(prefix, year or "", f"{tenant}:{kind}:{code}")
