"""The client against the simulator served by uvicorn over real loopback HTTP."""

from __future__ import annotations

import httpx
import pytest

from farm.moodle import (
    MoodleClient,
    MoodleLimits,
    NewCohort,
    NewCourse,
    NewUser,
    SiteTarget,
    check_sites,
)
from farm.secrets import Secret
from farm.simulators.moodle import FARM_FUNCTIONS, Faults
from tests.fixtures.moodle import MoodleTarget, ServedSimulator, clean_real_moodle

TOKEN = "served-t0ken-99aa77"
PASSWORD = Secret("Served-pass-1")
DELETE_COURSES = "core_course_delete_courses"


async def test_many_sites_answer_under_their_own_prefix_over_http(
    served_moodle: ServedSimulator,
) -> None:
    sim = served_moodle.sim
    for name in ("lycee-a", "lycee-b", "college-c"):
        sim.add_site(name, token=f"{TOKEN}-{name}", profile_fields=["uai"])
    targets = [
        SiteTarget(name, sim.url(name), Secret(f"{TOKEN}-{name}"), profile_fields=("uai",))
        for name in sim.sites
    ]
    checks = await check_sites(targets)
    assert [c.site for c in checks] == ["lycee-a", "lycee-b", "college-c"]
    assert all(c.ok for c in checks), [c.line() for c in checks]
    async with MoodleClient("lycee-a", sim.url("lycee-a"), Secret(f"{TOKEN}-lycee-a")) as client:
        result = await client.create_users(
            [NewUser("solo", "F", "L", "solo@example.org", password=PASSWORD)]
        )
    assert len(result.confirmed) == 1
    assert [u.username for u in sim.sites["lycee-a"].live_users()] == ["solo"]
    assert sim.sites["lycee-b"].live_users() == []


async def test_dropped_connections_and_gateway_errors_are_retried_over_http(
    served_moodle: ServedSimulator,
) -> None:
    sim = served_moodle.sim
    site = sim.add_site("flaky", token=TOKEN, faults=Faults(drop=0.3, bad_gateway=0.2), seed=11)
    limits = MoodleLimits(records_per_batch=10, retries=20, timeout=5)
    people = [NewUser(f"p{i}", "F", "L", f"p{i}@example.org", auth="ldap") for i in range(100)]
    async with MoodleClient("flaky", sim.url("flaky"), Secret(TOKEN), limits) as client:
        result = await client.create_users(people)
    assert client.retries > 0
    assert len(result.confirmed) == 100
    assert sorted(u.username for u in site.live_users()) == sorted(p.username for p in people)


async def test_a_dropped_connection_is_a_real_protocol_error_on_the_wire(
    served_moodle: ServedSimulator,
) -> None:
    sim = served_moodle.sim
    sim.add_site("drop", token=TOKEN, faults=Faults(drop=1.0))
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(
                sim.url("drop") + "/webservice/rest/server.php",
                data={"wstoken": TOKEN, "wsfunction": "core_webservice_get_site_info"},
            )


async def test_login_token_gives_the_farm_service_token(served_moodle: ServedSimulator) -> None:
    sim = served_moodle.sim
    site = sim.add_site("login", token=TOKEN)
    async with MoodleClient("login", sim.url("login"), Secret(TOKEN)) as client:
        await client.create_users(
            [NewUser("wsfarm", "Web", "Service", "ws@example.org", password=Secret("Farm-pass-1"))]
        )
    async with httpx.AsyncClient() as http:
        response = await http.post(
            site.wwwroot + "/login/token.php",
            data={"username": "wsfarm", "password": "Farm-pass-1", "service": "farm"},
        )
    assert response.json() == {"token": TOKEN, "privatetoken": None}


async def test_errors_cross_the_wire_with_namespaced_classes(
    served_moodle: ServedSimulator,
) -> None:
    """Over real HTTP the JSON keeps the escaped backslashes of Moodle 5.0's class names."""
    sim = served_moodle.sim
    sim.add_site("errors", token=TOKEN)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            sim.url("errors") + "/webservice/rest/server.php",
            data={
                "wstoken": "not-the-token",
                "wsfunction": "core_webservice_get_site_info",
                "moodlewsrestformat": "json",
            },
        )
    assert b'"core\\\\exception\\\\moodle_exception"' in response.content
    assert response.json()["errorcode"] == "invalidtoken"


async def test_the_real_moodle_teardown_removes_what_a_test_created(
    served_moodle: ServedSimulator,
) -> None:
    """The ``moodle`` fixture's cleanup of a real site, run over HTTP against a served site
    whose service also has core_course_delete_courses."""
    sim = served_moodle.sim
    site = sim.add_site("clean", token=TOKEN, functions={*FARM_FUNCTIONS, DELETE_COURSES})
    target = MoodleTarget("real", site.wwwroot, Secret(TOKEN))
    other = MoodleTarget("real", site.wwwroot, Secret(TOKEN))
    async with target.client() as client:
        for who in (target, other):
            await client.create_users([who.new_user("a"), who.new_user("b", auth="ldap")])
            await client.create_cohorts([NewCohort(f"{who.prefix}-c", "C")])
            await client.create_courses([NewCourse(f"{who.prefix}-k", "K", 1)])
    await clean_real_moodle(target)
    assert [u.email.split("@")[1] for u in site.live_users()] == [f"{other.prefix}.example.org"] * 2
    assert [c.idnumber for c in site.cohorts.values()] == [f"{other.prefix}-c"]
    assert [c.shortname for c in site.courses.values()] == [f"{other.prefix}-k"]
    # Without core_course_delete_courses in the service, the courses stay (and nothing fails).
    site.tokens[TOKEN] -= {DELETE_COURSES}
    await clean_real_moodle(other)
    assert (site.live_users(), site.cohorts) == ([], {})
    assert [c.shortname for c in site.courses.values()] == [f"{other.prefix}-k"]
