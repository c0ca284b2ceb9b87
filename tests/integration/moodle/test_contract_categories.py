"""Contract: core_course_get_categories, as the role rules of category context use it.

MOODLE-WS.md does not describe this function (it is not in the farm's list:
only a site whose role rules name a category by idnumber needs it). These
tests hold the simulator to what Moodle 5.0's ``core_course_get_categories``
does: criteria are ANDed, and every subcategory of what matched is added
unless ``addsubcategories`` is 0. No web-service function of the farm
creates categories, so they run on the simulator only.
"""

from __future__ import annotations

from farm.simulators.moodle import Site
from tests.fixtures.moodle import SIM_TOKEN, MoodleTarget

LOOKUP = "core_course_get_categories"


def with_categories(moodle: MoodleTarget) -> tuple[Site, int, int]:
    """A school's category with a child, and the lookup in the token's service."""
    site = moodle.sim
    site.tokens[SIM_TOKEN] = site.tokens[SIM_TOKEN] | {LOOKUP}
    school = site.add_category("LYCEE MOULIN", idnumber="0999901Z")
    child = site.add_category("Seconde", idnumber="0999901Z-2NDE", parent=school.id)
    return site, school.id, child.id


async def test_a_lookup_by_idnumber_adds_the_subcategories_unless_told_not_to(
    moodle: MoodleTarget,
) -> None:
    _, school, child = with_categories(moodle)
    criteria = {"criteria": [{"key": "idnumber", "value": "0999901Z"}]}
    answer = await moodle.call(LOOKUP, criteria)
    assert [(c["id"], c["parent"], c["path"]) for c in answer] == [
        (school, 0, f"/{school}"),
        (child, school, f"/{school}/{child}"),
    ]
    answer = await moodle.call(LOOKUP, {**criteria, "addsubcategories": 0})
    assert [c["id"] for c in answer] == [school]
    assert await moodle.call(LOOKUP, {"criteria": [{"key": "idnumber", "value": "none"}]}) == []


async def test_the_client_finds_one_category_by_idnumber_and_none_for_an_unknown_one(
    moodle: MoodleTarget,
) -> None:
    _, school, child = with_categories(moodle)
    async with moodle.client() as client:
        assert [c.id for c in await client.get_categories_by_idnumber("0999901Z")] == [school]
        found = await client.get_categories_by_idnumber("0999901Z-2NDE")
        assert [(c.id, c.parent, c.name) for c in found] == [(child, school, "Seconde")]
        assert await client.get_categories_by_idnumber("0999999X") == []
