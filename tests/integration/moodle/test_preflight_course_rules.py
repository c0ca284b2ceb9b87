"""The pre-flight check of a site's course rules: templates that name no course, categories.

Simulator only: the farm's functions create no category, and the check's
counts need a site whose courses the test knows.
"""

from __future__ import annotations

from farm.moodle import CATEGORY_LOOKUP, CoursePattern, NewCourse, SiteTarget, check_site
from tests.fixtures.moodle import SIM_TOKEN, MoodleTarget

SUBJECTS = CoursePattern(
    "directories.ent.courses.enrolments[0].course",
    "{uai}-{class}-{subject}",
    uais=("0999901Z", "0999902A"),
)
LEVELS = CoursePattern(
    "directories.ent.courses.enrolments[1].course",
    "{uai} {level}",
    match="shortname",
    uais=("0999901Z",),
)


def target(moodle: MoodleTarget, **extra: object) -> SiteTarget:
    return SiteTarget(moodle.kind, moodle.url, moodle.token, **extra)  # type: ignore[arg-type]


async def test_a_course_template_that_names_no_course_is_a_warning_with_the_counts(
    moodle: MoodleTarget,
) -> None:
    moodle.sim  # noqa: B018  (skips on a real Moodle)
    async with moodle.client() as client:
        await client.create_courses(
            [
                NewCourse("maths-2nde1", "Maths 2NDE1", 1, idnumber="0999901Z-2NDE1-061300"),
                NewCourse("maths-3eme2", "Maths 3EME2", 1, idnumber="0999902A-3EME2-061300"),
                # Another school's course, and one the template cannot name: not counted.
                NewCourse("maths-other", "Maths", 1, idnumber="0333333Y-2NDE1-061300"),
                NewCourse("0999901Z", "No level", 1, idnumber="0999901Z--"),
            ]
        )
    check = await check_site(
        target(moodle, course_patterns=(SUBJECTS, LEVELS)), transport=moodle.transport
    )
    assert check.ok, check.line()
    assert [(c.pattern.key, c.courses) for c in check.course_patterns] == [
        (SUBJECTS.key, 2),
        (LEVELS.key, 0),
    ]
    assert "course rules: 1 of 2 course patterns match courses (2 courses)" in check.line()
    assert check.warnings == [
        f"no course matches {LEVELS.key} = '{{uai}} {{level}}' (by shortname)"
    ]
    assert check.as_dict()["course_patterns"][0]["courses"] == 2


async def test_the_role_rules_categories_need_the_lookup_and_each_missing_one_is_counted(
    moodle: MoodleTarget,
) -> None:
    site = moodle.sim
    site.add_category("LYCEE MOULIN", idnumber="0999901Z")
    wanted = target(moodle, categories=("0999901Z", "0999902A"))
    check = await check_site(wanted, transport=moodle.transport)
    # The farm's list does not hold the lookup: a site whose rules need it is not ready.
    assert not check.ok
    assert check.missing_functions == (CATEGORY_LOOKUP,)
    # A site whose rules name no category is not asked for it.
    assert (await check_site(target(moodle), transport=moodle.transport)).ok
    site.tokens[SIM_TOKEN] = site.tokens[SIM_TOKEN] | {CATEGORY_LOOKUP}
    check = await check_site(wanted, transport=moodle.transport)
    assert check.ok, check.line()
    assert (check.categories_found, check.missing_categories) == (1, ("0999902A",))
    assert "1 of 2 categories of the role rules missing (idnumber 0999902A)" in check.line()
