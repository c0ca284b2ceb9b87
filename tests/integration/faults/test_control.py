"""The Moodle simulator's targeted faults and its loopback-only control endpoint."""

from __future__ import annotations

import anyio
import httpx

from farm.simulators.moodle import MoodleSimulator, TargetedFault

TOKEN = "c0ntrol-t0ken-77aa"


def post(function: str, **fields: str) -> dict[str, str]:
    return {"wstoken": TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **fields}


async def test_control_is_absent_unless_asked() -> None:
    sim = MoodleSimulator()
    sim.add_site("a", token=TOKEN)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        assert (await http.get("/_control/a/state")).status_code == 404
        assert (await http.post("/_control/a/faults", json={"bad_gateway": 1})).status_code == 404
    assert sim.sites["a"].faults.bad_gateway == 0


async def test_control_refuses_clients_off_loopback() -> None:
    sim = MoodleSimulator(control=True)
    sim.add_site("a", token=TOKEN)
    transport = httpx.ASGITransport(app=sim, client=("192.0.2.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=sim.base_url) as http:
        assert (await http.post("/_control/a/faults", json={"drop": 1.0})).status_code == 403
    assert sim.sites["a"].faults.drop == 0


async def test_the_nth_call_of_a_function_fails_and_the_state_says_so() -> None:
    sim = MoodleSimulator(control=True)
    site = sim.add_site("a", token=TOKEN)
    rest = "/a/webservice/rest/server.php"
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        spec = {"function": "core_webservice_get_site_info", "nth": 2, "action": "502"}
        answer = await http.post("/_control/a/faults", json={"targeted": [spec]})
        assert answer.status_code == 200, answer.text
        bad = await http.post("/_control/a/faults", json={"targeted": [{**spec, "action": "x"}]})
        assert bad.status_code == 400
        assert (await http.post("/_control/a/faults", json={"nope": 1})).status_code == 400
        statuses = [
            (await http.post(rest, data=post("core_webservice_get_site_info"))).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 502, 200]
        state = (await http.get("/_control/a/state")).json()
    assert state["targeted"][0]["fired"] == 1
    assert [(e["function"], e["action"], e["call"]) for e in state["fault_log"]] == [
        ("core_webservice_get_site_info", "502", 2)
    ]
    assert {u["username"] for u in state["users"]} == {"guest", "admin"}
    assert site.calls["core_webservice_get_site_info"] == 2


async def test_a_held_call_is_applied_and_answers_once_released() -> None:
    sim = MoodleSimulator(control=True)
    site = sim.add_site("a", token=TOKEN)
    user = {
        "users[0][username]": "held",
        "users[0][firstname]": "H",
        "users[0][lastname]": "D",
        "users[0][email]": "held@example.org",
        "users[0][auth]": "oauth2",
    }
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        spec = {"function": "core_user_create_users", "action": "hold", "hold_seconds": 20}
        await http.post("/_control/a/faults", json={"targeted": [spec]})
        answers: list[httpx.Response] = []

        async def create() -> None:
            rest = "/a/webservice/rest/server.php"
            answers.append(await http.post(rest, data=post("core_user_create_users", **user)))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(create)
                while site.holding == 0:  # noqa: ASYNC110  (the simulator's own counter)
                    await anyio.sleep(0.01)
                # Moodle applied the call; its answer has not left.
                assert site.user_by_username("held") is not None
                assert answers == []
                assert (await http.post("/_control/a/release")).status_code == 200
    assert answers[0].status_code == 200
    assert answers[0].json()[0]["username"] == "held"
    assert site.holding == 0


async def test_a_stalled_call_applies_nothing() -> None:
    sim = MoodleSimulator(control=True)
    site = sim.add_site("a", token=TOKEN)
    site.targeted.append(TargetedFault("core_user_create_users", "stall", hold_seconds=0.2))
    fields = post(
        "core_user_create_users",
        **{
            "users[0][username]": "stalled",
            "users[0][firstname]": "S",
            "users[0][lastname]": "T",
            "users[0][email]": "s@example.org",
            "users[0][auth]": "oauth2",
        },
    )
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        answer = await http.post("/a/webservice/rest/server.php", data=fields)
    assert answer.status_code == 503
    assert site.user_by_username("stalled") is None
