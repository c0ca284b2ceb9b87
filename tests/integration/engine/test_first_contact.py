"""First contact with a stock Moodle 5.0: what a real directory and a real site do to a run.

A directory with a malformed e-mail, a placeholder address several staff
members share and a teacher of both schools of a cité scolaire; a site whose
auth plugin is missing; manual accounts whose first passwords must not be
mass-mailed; a parent role the stock site lacks.
"""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

from farm.config import Farm
from farm.engine.events import Phase
from farm.model import RoleAssignment, TenantSnapshot
from farm.moodle.preflight import SiteTarget, check_sites
from farm.secrets import Secret
from farm.simulators.moodle import PASSWORD_NOT_CACHED
from farm.simulators.moodle.state import Role, TargetedFault
from farm.site_rules import PasswordDelivery
from tests.farms import snapshot
from tests.integration.engine.conftest import COLLEGE, LYCEE, SITE, TOKEN, Scenario, person

PLACEHOLDER = "noreply@ac-rennes.fr"


def with_site(farm: Farm, **changes: object) -> Farm:
    """The farm with its one site's settings changed."""
    site = dataclasses.replace(farm.sites[SITE], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(farm, sites={SITE: site})


async def test_one_run_writes_every_good_record_and_refuses_each_bad_one_alone(
    scenario: Scenario,
) -> None:
    shared = person("T0001", LYCEE, establishments=frozenset({LYCEE, COLLEGE}))
    lycee = [
        person("L0001"),
        person("L0002", email="l0002@@example"),  # malformed
        person("S0001", email=PLACEHOLDER),
        person("S0002", email=PLACEHOLDER),
        person("S0003", email=PLACEHOLDER.upper()),  # Moodle compares e-mails without case
        shared,
    ]
    scenario.set_people(LYCEE, lycee)
    scenario.set_people(COLLEGE, [person("C0001", COLLEGE), shared])

    outcome = await scenario.sync()

    assert set(scenario.accounts()) == {"L0001", "S0001", "T0001", "C0001"}
    reports = {r.tenant: r for r in scenario.registry.get_report(scenario.runs[-1]).tenants}
    errors = {e.key: e.reason for e in reports[LYCEE].errors}
    assert set(errors) == {"sdet:L0002", "sdet:S0002", "sdet:S0003"}
    assert "[email]" in errors["sdet:L0002"]
    assert "l0002@@example" in errors["sdet:L0002"]
    assert "sdet:S0001" in errors["sdet:S0002"]  # who holds the address
    assert reports[LYCEE].status == "partial"
    # The teacher of both schools is one account, one creation in the reports.
    created = sum(r.counts.get("person", {}).get("create", 0) for r in reports.values())
    assert created == 4
    assert outcome.tenants[COLLEGE].phase is Phase.SUCCEEDED
    # Single sign-on accounts: no password, and Moodle e-mailed none.
    assert {u.auth for u in scenario.site.live_users()} == {"oauth2"}
    assert not any(u.password_emailed for u in scenario.site.live_users())
    assert {u.password for u in scenario.site.live_users()} == {PASSWORD_NOT_CACHED}


async def test_a_site_without_the_auth_plugin_writes_nobody_and_says_which(
    scenario: Scenario,
) -> None:
    scenario.farm = with_site(scenario.farm, auth="cas")
    scenario.set_people(LYCEE, [person("L0001"), person("L0002")])

    outcome = await scenario.sync([LYCEE])

    assert scenario.accounts() == {}
    phase, reason = outcome.tenants[LYCEE].phase, outcome.tenants[LYCEE].reason
    assert phase is Phase.FAILED
    assert "auth plugin 'cas' is not installed" in reason
    # The probes left nothing behind.
    assert scenario.site.live_users() == []


async def test_sites_check_names_the_missing_auth_plugin_before_any_run(
    scenario: Scenario,
) -> None:
    target = SiteTarget(SITE, scenario.site.wwwroot, Secret(TOKEN), auths=("cas", "oauth2"))

    (check,) = await check_sites([target], transport=scenario.sim.transport())

    assert not check.ok
    assert check.missing_auths == ("cas",)
    assert "auth plugin(s) not installed: cas" in check.line()
    assert scenario.site.live_users() == []  # probe accounts deleted

    scenario.site.auth_installed.add("cas")
    (check,) = await check_sites([target], transport=scenario.sim.transport())
    assert check.ok, check.line()


async def test_manual_accounts_get_a_password_in_an_owner_only_file_never_by_mail(
    scenario: Scenario,
) -> None:
    scenario.farm = with_site(scenario.farm, auth="manual", new_passwords=PasswordDelivery.FILE)
    scenario.set_people(LYCEE, [person("L0001"), person("L0002")])

    await scenario.sync([LYCEE])

    (credentials,) = (Path(scenario.farm.root) / "var" / "credentials").glob("*.csv")
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    lines = credentials.read_text().splitlines()
    assert lines[0] == "username,password"
    written = dict(line.split(",", 1) for line in lines[1:])
    accounts = {u.username: u for u in scenario.site.live_users()}
    assert set(written) == {"l0001", "l0002"}
    assert all(accounts[name].password == password for name, password in written.items())
    report = scenario.registry.get_report(scenario.runs[-1]).tenants[0]
    assert not any(password in repr(report) for password in written.values())


async def test_email_delivery_lets_moodle_generate_and_mail_the_password(
    scenario: Scenario,
) -> None:
    scenario.farm = with_site(scenario.farm, auth="manual", new_passwords=PasswordDelivery.EMAIL)
    scenario.set_people(LYCEE, [person("L0001")])

    await scenario.sync([LYCEE])

    (account,) = scenario.site.live_users()
    assert account.auth == "manual"
    assert account.password_emailed
    assert not (Path(scenario.farm.root) / "var" / "credentials").exists()


async def test_a_parent_role_the_site_names_is_given_in_the_childs_context(
    scenario: Scenario,
) -> None:
    scenario.site.roles[9] = Role(9, "parent", "Parent", frozenset({30}))
    scenario.farm = with_site(scenario.farm, roles={"parent": 9})
    parent, child = person("P0001"), person("E0001")
    link = RoleAssignment(parent.source_key, "parent", "user", child.source_key)
    base = snapshot(LYCEE, [parent, child])
    scenario.source.set(dataclasses.replace(base, role_assignments=(link,)))

    outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.SUCCEEDED, outcome.tenants[LYCEE].reason
    accounts = scenario.accounts()
    child_context = scenario.site.user_context(accounts["E0001"].id)
    assert (9, child_context, accounts["P0001"].id) in scenario.site.role_assignments


async def test_a_parent_role_the_stock_site_lacks_is_refused_per_link(
    scenario: Scenario,
) -> None:
    parent, child = person("P0001"), person("E0001")
    link = RoleAssignment(parent.source_key, "parent", "user", child.source_key)
    base: TenantSnapshot = snapshot(LYCEE, [parent, child])
    scenario.source.set(dataclasses.replace(base, role_assignments=(link,)))

    await scenario.sync([LYCEE])

    (report,) = scenario.registry.get_report(scenario.runs[-1]).tenants
    (error,) = report.errors
    assert error.entity == "role_assignment"
    assert "[site.roles] parent" in error.reason
    assert set(scenario.accounts()) == {"P0001", "E0001"}  # the rest went on


async def test_a_simulation_reports_the_same_refusals_and_writes_nothing(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, [person("L0001"), person("L0002", username="l 0002")])

    await scenario.sync([LYCEE], simulate=True)

    (report,) = scenario.registry.get_report(scenario.runs[-1]).tenants
    assert [(e.key, "[username]" in e.reason) for e in report.errors] == [("sdet:L0002", True)]
    assert report.counts["person"] == {"create": 1}
    assert scenario.writes() == 0


async def test_a_user_that_matches_nobody_is_an_error_naming_what_was_searched(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, [person("L0001")])

    outcome = await scenario.sync([LYCEE], person="nobody-here")

    assert outcome.tenants[LYCEE].phase is Phase.FAILED
    assert "no person matches 'nobody-here'" in outcome.tenants[LYCEE].reason


async def test_a_safety_stop_names_the_tenant_it_is_about_in_every_report(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, [person(f"L{i:04d}") for i in range(8)])
    scenario.set_people(COLLEGE, [person("C0001", COLLEGE)])
    await scenario.sync()
    scenario.set_people(LYCEE, [])

    outcome = await scenario.sync()

    assert outcome.tenants[LYCEE].reason.startswith("safety stop: the source returned 0 people")
    college = outcome.tenants[COLLEGE].reason
    assert college.startswith(f"held back: the site's plan stopped because of {LYCEE}")


async def test_a_probe_account_whose_deletion_failed_is_deleted_on_a_new_attempt(
    scenario: Scenario,
) -> None:
    # Moodle fails the deletion of the probe's control account through every retry of the call.
    retries = SiteTarget(SITE, scenario.site.wwwroot, Secret(TOKEN)).limits.retries
    scenario.site.targeted.append(TargetedFault("core_user_delete_users", "502", times=retries + 1))
    target = SiteTarget(SITE, scenario.site.wwwroot, Secret(TOKEN), auths=("cas",))

    (check,) = await check_sites([target], transport=scenario.sim.transport())

    assert check.missing_auths == ("cas",)
    # A run that creates nobody never probes: an account left now would stay for good.
    assert scenario.site.live_users() == []
    assert [f.fired for f in scenario.site.targeted] == [retries + 1]


async def test_a_simulation_says_which_auth_plugin_it_could_not_probe(scenario: Scenario) -> None:
    scenario.farm = with_site(scenario.farm, auth="cas")
    scenario.set_people(LYCEE, [person("L0001")])

    await scenario.sync([LYCEE], simulate=True)

    (report,) = scenario.registry.get_report(scenario.runs[-1]).tenants
    assert any("'cas'" in w.message and "farm sites check" in w.message for w in report.warnings)
    assert scenario.writes() == 0


async def test_a_person_the_source_says_is_suspended_is_created_then_suspended(
    scenario: Scenario,
) -> None:
    scenario.set_people(LYCEE, [person("L0001", suspended=True), person("L0002")])

    outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.SUCCEEDED, outcome.tenants[LYCEE].reason
    accounts = scenario.accounts()
    assert (accounts["L0001"].suspended, accounts["L0002"].suspended) == (True, False)
    await scenario.sync([LYCEE])
    assert scenario.site.calls["core_user_update_users"] == 1  # the rerun changes nothing


async def test_credentials_of_many_slices_go_to_one_file(scenario: Scenario) -> None:
    scenario.farm = with_site(scenario.farm, auth="manual", new_passwords=PasswordDelivery.FILE)
    scenario.set_people(LYCEE, [person(f"L{i:04d}") for i in range(90)])  # several slices at once

    outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.SUCCEEDED, outcome.tenants[LYCEE].reason
    (credentials,) = (Path(scenario.farm.root) / "var" / "credentials").glob("*.csv")
    assert len(credentials.read_text().splitlines()) == 1 + 90  # the header, every account


async def test_a_credentials_file_that_cannot_be_written_creates_nobody(scenario: Scenario) -> None:
    scenario.farm = with_site(scenario.farm, auth="manual", new_passwords=PasswordDelivery.FILE)
    (Path(scenario.farm.root) / "var").mkdir(exist_ok=True)
    (Path(scenario.farm.root) / "var" / "credentials").write_text("not a folder")
    scenario.set_people(LYCEE, [person("L0001")])

    outcome = await scenario.sync([LYCEE])

    assert outcome.tenants[LYCEE].phase is Phase.FAILED
    assert "cannot write the credentials file" in outcome.tenants[LYCEE].reason
    assert scenario.accounts() == {}
