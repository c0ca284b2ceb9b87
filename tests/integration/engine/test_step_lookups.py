"""A step of person creations is looked up once, and each slice decides as if alone."""

from __future__ import annotations

from farm.simulators.moodle import UserRow
from tests.integration.engine.conftest import LYCEE, Scenario, person


async def test_people_created_over_several_slices_are_looked_up_once_and_adopted_where_found(
    scenario: Scenario,
) -> None:
    site = scenario.site
    # The scenario's sites take 20 records per call: slices hold 40 creations (two
    # batches), so L0001 is in the first of 12 slices, L0250 in the 7th, L0420 in the 11th.
    site.users[900] = UserRow(900, "old0001", "Old", "Name", "x@example.org", idnumber="L0001")
    site.users[901] = UserRow(901, "a", "A", "A", "a@example.org", idnumber="L0250")
    site.users[902] = UserRow(902, "b", "B", "B", "b@example.org", idnumber="L0250")
    site.users[903] = UserRow(903, "other0420", "C", "D", "l0420@example.org")
    scenario.set_people(LYCEE, [person(f"L{i:04d}") for i in range(1, 451)])

    outcome = await scenario.sync([LYCEE])

    counts = outcome.tenants[LYCEE].counts
    assert counts["person.adopt"] == 2
    assert counts["person.create"] == 447
    # The whole step at once, 200 values a call (ten batches' worth): 3 calls for each of
    # idnumber, username and e-mail, where a lookup per slice made 12 each.
    assert site.calls["core_user_get_users_by_field"] == 9
    index = scenario.index("person")
    assert index["sdet:L0001"].moodle_id == 900
    assert index["sdet:L0420"].moodle_id == 903
    assert "sdet:L0250" not in index
    report = scenario.registry.get_report(scenario.runs[-1], LYCEE).tenants[0]
    assert [e.key for e in report.errors if e.entity == "person"] == ["sdet:L0250"]
    # 447 new accounts, the two adopted, and the two sharing L0250 left alone.
    assert len(site.live_users()) == 447 + 4
