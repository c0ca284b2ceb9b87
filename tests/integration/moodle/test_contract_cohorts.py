"""Contract: MOODLE-WS.md, section "Cohorts". Each test quotes the line it checks."""

from __future__ import annotations

from typing import Any

from farm.moodle import CohortMember, NewCohort
from tests.fixtures.moodle import MoodleTarget


def cohort(moodle: MoodleTarget, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "categorytype": {"type": "system", "value": ""},
        "name": f"Classe {key}",
        "idnumber": f"{moodle.prefix}-{key}",
        **extra,
    }


async def users(moodle: MoodleTarget, *names: str) -> list[int]:
    async with moodle.client() as client:
        result = await client.create_users([moodle.new_user(n) for n in names])
    return [c.id for c in result.confirmed if c.id is not None]


async def test_cohort_idnumber_is_required_and_unique_names_may_repeat(
    moodle: MoodleTarget,
) -> None:
    """ "idnumber is required on create and unique ("record already exists: idnumber=…");
    names may repeat." """
    record = cohort(moodle, "3a")
    del record["idnumber"]
    answer = await moodle.call("core_cohort_create_cohorts", {"cohorts": [record]})
    assert answer["errorcode"] == "invalidparameter"
    created = await moodle.call(
        "core_cohort_create_cohorts",
        {"cohorts": [cohort(moodle, "3a"), cohort(moodle, "3b", name="Classe 3a")]},
    )
    assert [c["name"] for c in created] == ["Classe 3a", "Classe 3a"]
    if moodle.site is not None:
        moodle.site.debug = True
    answer = await moodle.call("core_cohort_create_cohorts", {"cohorts": [cohort(moodle, "3a")]})
    assert answer["errorcode"] == "invalidparameter"
    if moodle.site is not None:
        assert answer["debuginfo"] == f"record already exists: idnumber={moodle.prefix}-3a"


async def test_cohort_context_is_system_or_a_category_id(moodle: MoodleTarget) -> None:
    """ "Context: categorytype[type]=system or by category id." """
    created = await moodle.call(
        "core_cohort_create_cohorts",
        {"cohorts": [cohort(moodle, "cat", categorytype={"type": "id", "value": "1"})]},
    )
    assert created[0]["idnumber"] == f"{moodle.prefix}-cat"
    async with moodle.client() as client:
        result = await client.create_cohorts(
            [
                NewCohort(f"{moodle.prefix}-sys", "System"),
                NewCohort(f"{moodle.prefix}-c1", "Cat", category_id=1),
            ]
        )
    assert len(result.confirmed) == 2


async def test_add_cohort_members_warns_per_item_and_applies_the_rest(moodle: MoodleTarget) -> None:
    """ "core_cohort_add_cohort_members works per item: unknown user or cohort, or an existing
    member, comes back as warnings and the rest is applied." """
    first, second = await users(moodle, "m1", "m2")
    created = await moodle.call("core_cohort_create_cohorts", {"cohorts": [cohort(moodle, "mem")]})
    cohort_id = created[0]["id"]

    def member(cohort_value: Any, user_value: Any) -> dict[str, Any]:
        return {
            "cohorttype": {"type": "id", "value": str(cohort_value)},
            "usertype": {"type": "id", "value": str(user_value)},
        }

    await moodle.call("core_cohort_add_cohort_members", {"members": [member(cohort_id, first)]})
    answer = await moodle.call(
        "core_cohort_add_cohort_members",
        {
            "members": [
                member(cohort_id, first),
                member(cohort_id, 99999999),
                member(99999999, second),
                member(cohort_id, second),
            ]
        },
    )
    assert len(answer["warnings"]) == 3
    members = await moodle.call("core_cohort_get_cohort_members", {"cohortids": [cohort_id]})
    assert sorted(members[0]["userids"]) == sorted([first, second])
    async with moodle.client() as client:
        result = await client.add_cohort_members(
            [
                CohortMember(cohort_id, first),
                CohortMember(cohort_id, 99999999),
                CohortMember(99999998, first),
            ]
        )
    assert [c.item.user_id for c in result.confirmed] == [first]
    assert sorted((f.item.cohort_id, f.item.user_id) for f in result.failed) == [
        (cohort_id, 99999999),
        (99999998, first),
    ]


async def test_cohort_members_are_named_by_id_or_username_only(moodle: MoodleTarget) -> None:
    """ "Users are named by id or username only (idnumber gives a warning)." """
    (user_id,) = await users(moodle, "named")
    created = await moodle.call("core_cohort_create_cohorts", {"cohorts": [cohort(moodle, "nm")]})
    by_username = {
        "cohorttype": {"type": "idnumber", "value": f"{moodle.prefix}-nm"},
        "usertype": {"type": "username", "value": moodle.username("named")},
    }
    answer = await moodle.call("core_cohort_add_cohort_members", {"members": [by_username]})
    assert answer["warnings"] == []
    by_idnumber = {**by_username, "usertype": {"type": "idnumber", "value": "x"}}
    answer = await moodle.call("core_cohort_add_cohort_members", {"members": [by_idnumber]})
    assert len(answer["warnings"]) == 1
    members = await moodle.call("core_cohort_get_cohort_members", {"cohortids": [created[0]["id"]]})
    assert members[0]["userids"] == [user_id]


async def test_delete_cohort_members_is_silent_for_non_members_but_fails_for_an_unknown_cohort(
    moodle: MoodleTarget,
) -> None:
    """ "core_cohort_delete_cohort_members is silent for non-members but fails for an unknown
    cohort." """
    (user_id,) = await users(moodle, "nonmember")
    created = await moodle.call("core_cohort_create_cohorts", {"cohorts": [cohort(moodle, "dm")]})
    answer = await moodle.call(
        "core_cohort_delete_cohort_members",
        {"members": [{"cohortid": created[0]["id"], "userid": user_id}]},
    )
    assert answer is None
    answer = await moodle.call(
        "core_cohort_delete_cohort_members",
        {"members": [{"cohortid": 99999999, "userid": user_id}]},
    )
    assert "errorcode" in answer
    async with moodle.client() as client:
        result = await client.remove_cohort_members(
            [CohortMember(created[0]["id"], user_id), CohortMember(99999999, user_id)]
        )
    assert [c.item.cohort_id for c in result.confirmed] == [created[0]["id"]]
    assert [f.item.cohort_id for f in result.failed] == [99999999]


async def test_get_cohorts_without_ids_returns_all_and_unknown_ids_return_nothing(
    moodle: MoodleTarget,
) -> None:
    """ "core_cohort_get_cohorts with no ids returns all; unknown ids return []." """
    created = await moodle.call(
        "core_cohort_create_cohorts", {"cohorts": [cohort(moodle, "g1"), cohort(moodle, "g2")]}
    )
    everything = await moodle.call("core_cohort_get_cohorts")
    assert {c["id"] for c in created} <= {c["id"] for c in everything}
    assert await moodle.call("core_cohort_get_cohorts", {"cohortids": [99999999]}) == []


async def test_search_cohorts_also_matches_idnumber_text(moodle: MoodleTarget) -> None:
    """ "core_cohort_search_cohorts also matches idnumber text." """
    await moodle.call(
        "core_cohort_create_cohorts", {"cohorts": [cohort(moodle, "zq9", name="Terminale B")]}
    )
    async with moodle.client() as client:
        found = await client.search_cohorts(f"{moodle.prefix}-zq")
    assert [c.name for c in found] == ["Terminale B"]


async def test_no_parameter_sets_a_cohort_component(moodle: MoodleTarget) -> None:
    """ "No web-service parameter sets a cohort's owning component, so ownership is kept by
    the farm: an idnumber prefix and the index." """
    answer = await moodle.call(
        "core_cohort_create_cohorts", {"cohorts": [cohort(moodle, "own", component="farm")]}
    )
    assert answer["errorcode"] == "invalidparameter"
