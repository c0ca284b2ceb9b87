"""Contract: MOODLE-WS.md, "Functions the farm needs", profile fields and cost."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import anyio
import pytest

import farm.simulators.moodle
from farm.moodle import REQUIRED_FUNCTIONS, MoodleLimits, SiteTarget, check_site
from farm.simulators.moodle import FARM_FUNCTIONS, CostModel
from tests.fixtures.moodle import MoodleTarget, simulator_target


def target(moodle: MoodleTarget, **extra: object) -> SiteTarget:
    return SiteTarget(moodle.kind, moodle.url, moodle.token, **extra)  # type: ignore[arg-type]


async def test_site_info_lists_the_functions_the_token_may_call(moodle: MoodleTarget) -> None:
    """ "A pre-flight check (core_webservice_get_site_info lists the functions the token may
    call) should tell the operator which are missing, per site." """
    check = await check_site(target(moodle), transport=moodle.transport)
    assert check.error is None
    assert check.release
    if moodle.site is not None:
        assert check.missing_functions == ()
        moodle.site.tokens[moodle.token.reveal()] -= {
            "core_group_create_groups",
            "core_role_assign_roles",
        }
        check = await check_site(target(moodle), transport=moodle.transport)
        assert check.missing_functions == ("core_role_assign_roles", "core_group_create_groups")
        assert not check.ok
        assert "missing functions: core_role_assign_roles, core_group_create_groups" in check.line()
    assert len(REQUIRED_FUNCTIONS) == 25


@pytest.mark.parametrize("function", REQUIRED_FUNCTIONS)
async def test_a_service_without_any_one_function_is_refused_naming_it(function: str) -> None:
    """The same line, one function at a time: whichever the token's service lacks, the check
    names it (site info itself missing, the check cannot read the list and says so)."""
    _, moodle = simulator_target()
    assert moodle.site is not None
    moodle.site.tokens[moodle.token.reveal()] -= {function}
    check = await check_site(target(moodle), transport=moodle.transport)
    assert not check.ok
    assert function in check.line()
    if function == "core_webservice_get_site_info":
        assert check.error is not None
        assert "accessexception" in check.error
    else:
        assert check.error is None
        assert check.missing_functions == (function,)


def test_the_simulator_keeps_its_own_list_of_the_farm_functions() -> None:
    """ "Functions the farm needs in the token's service: core_webservice_get_site_info, …,
    core_enrol_get_enrolled_users.": the simulator's copy of that list, not the client's."""
    assert len(FARM_FUNCTIONS) == 25
    assert FARM_FUNCTIONS[0] == "core_webservice_get_site_info"
    assert FARM_FUNCTIONS[-1] == "core_enrol_get_enrolled_users"
    # The same list as the client's, kept apart: the simulator never imports the client.
    assert FARM_FUNCTIONS == REQUIRED_FUNCTIONS
    assert FARM_FUNCTIONS is not REQUIRED_FUNCTIONS
    package = Path(farm.simulators.moodle.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "farm.moodle" or n.startswith("farm.moodle.") for n in names), (
                module.name
            )


async def test_the_pre_flight_says_which_profile_fields_are_missing(moodle: MoodleTarget) -> None:
    """ "No web-service function creates profile fields: they must exist on the site (a
    pre-flight check should say which are missing)." """
    wanted = (*moodle.profile_fields, f"{moodle.prefix}missing")
    check = await check_site(target(moodle, profile_fields=wanted), transport=moodle.transport)
    assert check.missing_profile_fields == (f"{moodle.prefix}missing",)
    assert f"missing profile fields: {moodle.prefix}missing" in check.line()
    if moodle.site is not None:
        assert moodle.site.users[2].customfields == {}


async def test_the_pre_flight_notices_a_site_that_drops_form_fields(moodle: MoodleTarget) -> None:
    """ "The client must cap the number of form fields per request (configurable per site,
    default well under 5000)": the check says when the cap is above the site's limit."""
    check = await check_site(target(moodle), transport=moodle.transport)
    assert check.form_fields_kept is True
    moodle.sim.max_input_vars = 1000
    check = await check_site(target(moodle), transport=moodle.transport)
    assert check.form_fields_kept is False
    assert "drops form fields" in check.line()
    limits = MoodleLimits(form_fields_per_request=900)
    assert (await check_site(target(moodle, limits=limits), transport=moodle.transport)).ok


async def test_a_bad_token_is_reported_on_the_site_line(moodle: MoodleTarget) -> None:
    """ "Bad token: invalidtoken." as the pre-flight reports it."""
    from farm.secrets import Secret

    bad = SiteTarget(moodle.kind, moodle.url, Secret("0000-not-a-token"))
    check = await check_site(bad, transport=moodle.transport)
    assert not check.ok
    assert check.line().startswith(f"{moodle.kind}: FAIL")
    assert "invalidtoken" in check.line()
    assert "0000-not-a-token" not in check.line()


async def test_cost_is_per_call_plus_per_record_with_a_worker_count(moodle: MoodleTarget) -> None:
    """ "Roughly 10 ms per user inside Moodle plus 30 ms per call; … The simulator models cost
    as a per-call plus per-record delay with a per-site worker count, so benchmarks can
    reason about it." """
    site = moodle.sim
    site.cost = CostModel(per_call=0.03, per_record=0.01, workers=1)
    site._workers = None
    users = [moodle.new_user(f"c{i}") for i in range(20)]
    started = time.monotonic()
    async with moodle.client(MoodleLimits(records_per_batch=10, calls_in_flight=4)) as client:
        await client.create_users(users)
    elapsed = time.monotonic() - started
    # Two calls of ten records through one worker cannot take less than the model says.
    assert elapsed >= 2 * site.cost.delay(10) - 0.01
    assert site.peak_working == 1
    assert site.peak_in_flight == 2


@pytest.mark.parametrize("count", [500])
async def test_batches_above_about_100_records_are_cut(moodle: MoodleTarget, count: int) -> None:
    """ "batches above about 100 records gain nothing": the default batch is 100 records."""
    users = [moodle.new_user(f"b{i}") for i in range(count)]
    async with moodle.client() as client:
        result = await client.create_users(users)
    assert len(result.confirmed) == count
    if moodle.site is not None:
        assert moodle.site.calls["core_user_create_users"] == count // 100


async def test_deleting_costs_more_than_creating_in_the_measured_model(
    moodle: MoodleTarget,
) -> None:
    """ "Deleting is slower than creating (500 in 8–9 s). Looking up 200 idnumbers in one call:
    0.7 s. Four parallel clients scale while the site has free PHP workers." """
    site = moodle.sim
    site.cost = CostModel.measured(workers=4)
    assert site.cost.delay(500, "core_user_delete_users") == pytest.approx(8.53)
    # "one call of 500 took 5.1 s, five calls of 100 took 5.1 s, 500 single calls took 19.4 s"
    assert 5 * site.cost.delay(100, "core_user_create_users") == pytest.approx(5.15)
    assert 500 * site.cost.delay(1, "core_user_create_users") == pytest.approx(20.0)
    assert site.cost.delay(500, "core_user_create_users") == pytest.approx(5.03)
    assert site.cost.delay(200, "core_user_get_users_by_field") == pytest.approx(0.73)
    site.cost = CostModel(
        per_call=0.0,
        per_record=0.01,
        workers=4,
        per_record_by_function={"core_user_delete_users": 0.02},
    )
    site._workers = None
    users = [moodle.new_user(f"d{i}") for i in range(10)]
    async with moodle.client(MoodleLimits(records_per_batch=10)) as client:
        created = await client.create_users(users)
        started = time.monotonic()
        await client.delete_users([c.id for c in created.confirmed if c.id is not None])
    assert time.monotonic() - started >= 10 * 0.02 - 0.01


async def test_parallel_clients_scale_while_the_site_has_free_workers(
    moodle: MoodleTarget,
) -> None:
    """ "Four parallel clients scale while the site has free PHP workers." """
    site = moodle.sim
    site.cost = CostModel(per_call=0.2, per_record=0.0, workers=4)
    site._workers = None

    async def four_clients() -> float:
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(moodle.call, "core_webservice_get_site_info")
        return time.monotonic() - started

    assert await four_clients() < 2 * 0.2
    assert site.peak_working == 4
    site.cost = CostModel(per_call=0.2, per_record=0.0, workers=2)
    site._workers = None
    assert await four_clients() >= 2 * 0.2 - 0.01
