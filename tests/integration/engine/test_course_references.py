"""Links to courses and categories as the course rules name them, applied by the real job.

A course named by shortname (``shortname:X``), a category by idnumber
(``idnumber:X``), a course that is missing, and one that is deleted while
the farm holds enrolments in it: what the simulated site then holds, and
what the tenant's report says.
"""

from __future__ import annotations

from dataclasses import replace

from farm.engine.events import Phase
from farm.model import Enrolment, Group, GroupMembership, RoleAssignment
from farm.moodle import CATEGORY_LOOKUP
from farm.simulators.moodle.state import CourseRow
from farm.site_rules import STOCK_ROLE_IDS
from tests.farms import snapshot
from tests.integration.engine.conftest import LYCEE, TOKEN, Scenario, person

MANAGER, STUDENT, TEACHER = (STOCK_ROLE_IDS[r] for r in ("manager", "student", "teacher"))


def course(scenario: Scenario, shortname: str, idnumber: str = "") -> CourseRow:
    site = scenario.site
    row = CourseRow(site.new_id(), 0, shortname, shortname, 1, idnumber)
    row.contextid = site.new_context(50, row.id)
    site.courses[row.id] = row
    return row


def warnings(scenario: Scenario) -> list[str]:
    report = scenario.registry.get_report(scenario.runs[-1], LYCEE)
    return [w.message for t in report.tenants for w in t.warnings]


async def test_courses_by_shortname_categories_by_idnumber_and_missing_courses(
    scenario: Scenario,
) -> None:
    site = scenario.site
    site.tokens[TOKEN] = site.tokens[TOKEN] | {CATEGORY_LOOKUP}
    maths = course(scenario, "maths-2nde1")
    category = site.add_category("Lycée", idnumber=LYCEE)
    pupil, head = person("E1"), person("D1")
    group = Group("shortname:maths-2nde1", f"farm:{LYCEE}:class:2NDE1", "2NDE1")
    read = replace(
        snapshot(LYCEE, [pupil, head]),
        enrolments=(
            Enrolment("shortname:maths-2nde1", "sdet:E1"),
            Enrolment("shortname:absent", "sdet:E1"),
            Enrolment("0330001K-ABSENT", "sdet:E1"),
        ),
        groups=(group, Group("shortname:absent", group.idnumber, "2NDE1")),
        group_members=(
            GroupMembership(group.course, group.idnumber, "sdet:E1"),
            GroupMembership("shortname:absent", group.idnumber, "sdet:E1"),
        ),
        role_assignments=(
            RoleAssignment("sdet:D1", "manager", "coursecat", f"idnumber:{LYCEE}"),
            RoleAssignment("sdet:D1", "teacher", "course", "shortname:maths-2nde1"),
            RoleAssignment("sdet:D1", "manager", "coursecat", "idnumber:0000000X"),
        ),
    )
    scenario.source.set(read)

    outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.SUCCEEDED, outcome.tenants[LYCEE].reason
    ids = {u.username: u.id for u in site.live_users()}
    assert set(site.enrolments) == {(maths.id, ids["e1"])}
    (made,) = site.groups.values()
    assert (made.courseid, made.members) == (maths.id, {ids["e1"]})
    assert {
        (MANAGER, site.categories[category.id], ids["d1"]),
        (TEACHER, maths.contextid, ids["d1"]),
        (STUDENT, maths.contextid, ids["e1"]),
    } <= site.role_assignments
    assert sorted(w for w in warnings(scenario) if "is not on the site" in w) == [
        "category 0000000X is not on the site: skipped 1 role_assignment (planned again next run)",
        "course 0330001K-ABSENT is not on the site: skipped 1 enrolment (planned again next run)",
        "course shortname:absent is not on the site: skipped 1 enrolment, 1 group, "
        "1 group_member (planned again next run)",
    ]

    # The course is deleted on the site, and the directory drops the enrolment:
    # Moodle dropped it with the course, so the farm forgets it without a refusal.
    del site.courses[maths.id]
    scenario.source.set(replace(read, enrolments=read.enrolments[1:], groups=(), group_members=()))
    outcome = await scenario.sync([LYCEE])
    assert outcome.tenants[LYCEE].phase is Phase.SUCCEEDED, outcome.tenants[LYCEE].reason
    assert not any(key.startswith("shortname:maths-2nde1|") for key in scenario.index("enrolment"))


async def test_a_changed_role_keeps_the_person_enrolled_and_a_dropped_enrolment_unenrols(
    scenario: Scenario,
) -> None:
    site = scenario.site
    maths = course(scenario, "maths", idnumber="MATHS")
    read = replace(
        snapshot(LYCEE, [person("E1"), person("E2")]),
        enrolments=(Enrolment("MATHS", "sdet:E1"), Enrolment("MATHS", "sdet:E2")),
    )
    scenario.source.set(read)
    await scenario.sync([LYCEE])
    ids = {u.username: u.id for u in site.live_users()}

    # The rule now gives E1 another role, and E2 leaves the course.
    scenario.source.set(replace(read, enrolments=(Enrolment("MATHS", "sdet:E1", "teacher"),)))
    outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.SUCCEEDED, outcome.tenants[LYCEE].reason
    assert set(site.enrolments) == {(maths.id, ids["e1"])}
    roles = {(r, u) for r, ctx, u in site.role_assignments if ctx == maths.contextid}
    assert roles == {(TEACHER, ids["e1"])}
    assert set(scenario.index("enrolment")) == {"MATHS|sdet:E1|teacher"}
    writes = scenario.writes()
    await scenario.sync([LYCEE])
    assert scenario.writes() == writes
