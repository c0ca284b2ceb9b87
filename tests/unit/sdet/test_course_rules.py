"""Course rules: what they accept and refuse, and what they make of a directory's entries."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from farm.engine.schedule import task_options
from farm.index import SiteIndex, apply_confirmed
from farm.model import Enrolment, GroupMembership, Kind, RoleAssignment, TenantSnapshot
from farm.options import PlanDefaults
from farm.plan import plan_site
from farm.site_rules import SiteRules
from farm.snapshot import merge_site
from farm.sources.sdet import MappingRules
from farm.sources.sdet.course_rules import CourseRules
from farm.sources.sdet.people import person_facts
from farm.sources.sdet.snapshots import build_snapshots
from tests.unit.sdet.test_snapshots import COLLEGE, COLLEGE_DN, LYCEE, LYCEE_DN, person, structures


def rules(**tables: Any) -> CourseRules:
    return CourseRules.model_validate(tables)


def error_of(**tables: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        rules(**tables)
    return str(caught.value)


def test_an_unknown_attribute_is_refused_naming_the_key_and_the_attributes_a_rule_reads() -> None:
    message = error_of(enrolments=[{"attribute": "ENTEleveMEF", "course": "{uai}"}])
    assert "enrolments.0.attribute" in message
    assert "unknown attribute 'ENTEleveMEF'" in message
    assert "ENTAuxEnsClassesMatieres" in message


def test_a_placeholder_the_attribute_cannot_fill_is_refused_with_those_it_can() -> None:
    message = error_of(enrolments=[{"attribute": "ENTEleveClasses", "course": "{uai}-{subject}"}])
    assert "unknown placeholder(s) {subject}" in message
    assert "allows {class}, {uai}" in message
    message = error_of(
        roles=[{"function": "DIR", "role": "manager", "context": "category", "category": "{etab}"}]
    )
    assert "roles.0.category" in message
    assert "{etab}" in message


def test_roles_and_profiles_must_be_names_the_rule_can_use() -> None:
    assert "not a role shortname" in error_of(
        enrolments=[
            {"attribute": "ENTEleveClasses", "course": "{class}", "roles": {"student": "Élève"}}
        ]
    )
    # A level says nothing of teachers: a teacher role there would never enrol anyone.
    assert "teacher cannot be enrolled by ENTEleveNivFormation" in error_of(
        enrolments=[
            {
                "attribute": "ENTEleveNivFormation",
                "course": "{level}",
                "roles": {"teacher": "editingteacher"},
            }
        ]
    )
    assert "exactly one of function and profile" in error_of(roles=[{"role": "manager"}])
    assert "needs category" in error_of(
        roles=[{"profile": "staff", "role": "manager", "context": "category"}]
    )


def test_attribute_names_are_matched_without_case_and_kept_as_the_schema_spells_them() -> None:
    loaded = rules(enrolments=[{"attribute": "entauxensclassesmatieres", "course": "{subject}"}])
    assert loaded.enrolments[0].attribute == "ENTAuxEnsClassesMatieres"
    assert loaded.attributes() == {"ENTAuxEnsClassesMatieres"}


CLASS_SUBJECT = {
    "attribute": "ENTAuxEnsClassesMatieres",
    "course": "{uai}-{class}-{subject}",
    "groups": ["class", "group"],
    "group_teachers": True,
}
STUDENT = person(
    "E1",
    "ENTEleve",
    ENTPersonProfils="National_ELV",
    ENTEleveClasses=f"{LYCEE_DN}$2NDE1",
    ENTEleveGroupes=f"{LYCEE_DN}$2NDE1_ESP",
    ENTEleveNivFormation="SECONDE GENERALE",
)
TEACHER = person(
    "T1",
    "ENTAuxEnseignant",
    ENTPersonProfils="National_ENS",
    ENTPersonFonctions=[f"{LYCEE_DN}$ENS$ENSEIGNEMENT$L1300$MATHS"],
    ENTAuxEnsClasses=[f"{LYCEE_DN}$2NDE1", f"{COLLEGE_DN}$3EME2"],
    ENTAuxEnsClassesMatieres=[f"{LYCEE_DN}$2NDE1$061300", f"{COLLEGE_DN}$3EME2$061300"],
    ENTAuxEnsGroupesMatieres=[f"{LYCEE_DN}$2NDE1_ESP$061300", "no-dollar-here"],
)
HEAD = person(
    "D1",
    "ENTAuxNonEnsEtab",
    ENTPersonProfils="National_DIR",
    ENTPersonFonctions=[f"{COLLEGE_DN}$DIR$DIRECTION$-$-"],
)


def links(course_rules: CourseRules) -> dict[str, Any]:
    smap = structures()
    mapping = MappingRules()
    facts = [person_facts(e, smap, mapping) for e in (STUDENT, TEACHER, HEAD)]
    return build_snapshots(
        facts, smap, (LYCEE, COLLEGE), mapping, complete=True, courses=course_rules
    )


def test_a_class_and_subject_rule_enrols_the_class_and_its_teacher_in_one_course_per_pair() -> None:
    snapshots = links(rules(enrolments=[CLASS_SUBJECT]))
    lycee, college = snapshots[LYCEE], snapshots[COLLEGE]
    assert set(lycee.enrolments) == {
        Enrolment("0999901Z-2NDE1-061300", "sdet:E1", "student"),
        Enrolment("0999901Z-2NDE1-061300", "sdet:T1", "editingteacher"),
    }
    # The collège's class has no student read: its teacher is enrolled all the same.
    assert set(college.enrolments) == {
        Enrolment("0999902A-3EME2-061300", "sdet:T1", "editingteacher")
    }
    # A group of the class's students and the class itself, each with the teacher who teaches it.
    assert {(g.idnumber, g.name) for g in lycee.groups} == {
        ("farm:0999901Z:class:2NDE1", "2NDE1"),
        ("farm:0999901Z:group:2NDE1_ESP", "2NDE1_ESP"),
    }
    assert set(lycee.group_members) == {
        GroupMembership("0999901Z-2NDE1-061300", group, who)
        for group in ("farm:0999901Z:class:2NDE1", "farm:0999901Z:group:2NDE1_ESP")
        for who in ("sdet:E1", "sdet:T1")
    }
    assert not college.groups
    # The malformed subject value is a warning naming the entry and the attribute.
    assert any(
        w.attribute == "ENTAuxEnsGroupesMatieres" and "no-dollar-here" in w.message
        for w in lycee.warnings
    )


def test_level_and_shortname_rules_and_role_rules_by_function_and_profile() -> None:
    course_rules = rules(
        enrolments=[
            {"attribute": "ENTEleveNivFormation", "course": "{uai} {level}", "match": "shortname"}
        ],
        roles=[
            {"function": "DIR", "role": "manager", "context": "category", "category": "{uai}"},
            {"profile": "teacher", "role": "coursecreator"},
            {"profile": "student", "role": "student", "context": "course", "course": "{uai}-CDI"},
        ],
    )
    snapshots = links(course_rules)
    lycee, college = snapshots[LYCEE], snapshots[COLLEGE]
    assert lycee.enrolments == (
        Enrolment("shortname:0999901Z SECONDE GENERALE", "sdet:E1", "student"),
    )
    assert set(lycee.role_assignments) == {
        RoleAssignment("sdet:T1", "coursecreator", "system", ""),
        RoleAssignment("sdet:E1", "student", "course", "0999901Z-CDI"),
    }
    # DIR is held in the collège: the manager role is at the collège's category only.
    assert set(college.role_assignments) == {
        RoleAssignment("sdet:D1", "manager", "coursecat", "idnumber:0999902A"),
        RoleAssignment("sdet:T1", "coursecreator", "system", ""),
    }


def test_no_course_rules_make_no_links_and_read_no_more_attributes() -> None:
    snapshots = links(CourseRules())
    assert not any(s.enrolments or s.groups or s.role_assignments for s in snapshots.values())
    assert CourseRules().attributes() == frozenset()


SITE = SiteRules(site="s", auth="oauth2")


def kinds_planned(index: SiteIndex, snapshot: TenantSnapshot, task: str) -> set[Kind]:
    options = task_options(task).resolve(PlanDefaults(cohort_prefix="farm:"))
    planned = plan_site("s", merge_site([snapshot]), index, options, SITE)
    return {op.kind for op in planned.operations}


def test_the_roles_task_enrols_and_assigns_and_the_groups_task_makes_the_course_groups() -> None:
    course_rules = rules(
        enrolments=[CLASS_SUBJECT],
        roles=[{"profile": "teacher", "role": "coursecreator"}],
    )
    snapshot = links(course_rules)[LYCEE]
    users = task_options("users").resolve(PlanDefaults(cohort_prefix="farm:"))
    first = plan_site("s", merge_site([snapshot]), SiteIndex(), users, SITE)
    people = apply_confirmed(
        SiteIndex(),
        first.operations,
        {(op.kind, op.key): n for n, op in enumerate(first.operations, 100)},
    )

    assert kinds_planned(people, snapshot, "roles") == {Kind.ENROLMENT, Kind.ROLE_ASSIGNMENT}
    assert kinds_planned(people, snapshot, "groups") == {Kind.GROUP, Kind.GROUP_MEMBER}
    assert kinds_planned(people, snapshot, "cohorts") == {Kind.COHORT, Kind.COHORT_MEMBER}
