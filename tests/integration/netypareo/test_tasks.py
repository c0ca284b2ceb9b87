"""Each NetYpareo task, run by name (``farm sync --task NAME``), plans exactly its entities.

One farm folder for the module, on the served NetYpareo simulator (zeep over
loopback) and a served Moodle simulator: one Moodle site, one endpoint and
one tenant per test (the same simulated CFA site, so each test starts from
an empty Moodle), one registry. ``farm`` runs in this process (click's
runner), so the tests read what it wrote in the simulators.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from farm.cli import main
from farm.demo.farmdir import CFA_PROFILE_FIELDS
from farm.registry import Registry
from farm.simulators.moodle import MoodleSimulator, Site
from farm.simulators.moodle.state import CourseRow, Role
from farm.simulators.netypareo.server import BackgroundServer
from tests.fixtures.netypareo import ServedNetYpareo

PARENT = 9
#: Every test has a Moodle site, an endpoint and a tenant of its own, all named after it.
NAMES = ("students", "teachers", "groups", "tutors", "caches", "sites", "names", "defaults")
#: The Moodle user defaults of the "defaults" site (its Moodle has the French pack).
DEFAULTS = 'lang = "fr"\ntimezone = "Europe/Paris"\ncountry = "FR"\n'


@dataclass
class World:
    folder: Path
    moodle: MoodleSimulator
    netypareo: ServedNetYpareo
    code: str  # the simulated CFA site every tenant reads

    def site(self, name: str) -> Site:
        return self.moodle.sites[name]

    def tenant(self, name: str) -> str:
        return f"{name}-{self.code}"

    def farm(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--farm-dir", str(self.folder), *args])

    def task(self, name: str, task: str) -> dict[str, Any]:
        """``farm sync --task TASK --site NAME --json``: the tenant's part of the summary."""
        done = self.farm("sync", "--task", task, "--site", name, "--json", "--quiet")
        assert done.exit_code == 0, done.output
        summary = json.loads(done.output)
        outcome: dict[str, Any] = summary["tenants"][self.tenant(name)]
        assert outcome["state"] == "succeeded", outcome
        return outcome

    def accounts(self, name: str) -> dict[str, int]:
        return {u.username: u.id for u in self.site(name).live_users() if u.id != 1}

    def learners(self) -> list[Any]:
        return self.netypareo.data.site_learners(self.code)

    def groups(self, continuing: bool) -> list[Any]:
        return [g for g in self.netypareo.data.groups[self.code] if g.continuing is continuing]


def _q(value: str) -> str:
    return json.dumps(value)


@pytest.fixture(scope="module")
def world(
    netypareo_server: ServedNetYpareo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("netypareo-tasks")
    secrets = folder / "secrets"
    secrets.mkdir()
    moodle = MoodleSimulator()
    code = netypareo_server.data.sites[0].code
    groups = netypareo_server.data.groups[code]
    farm_toml = '[farm]\nregistry_url = "var/registry.sqlite"\n'
    with BackgroundServer(moodle) as server:
        moodle.rebase(server.url)
        for name in NAMES:
            site = moodle.add_site(name, token=f"token-{name}", profile_fields=CFA_PROFILE_FIELDS)
            site.roles[PARENT] = Role(PARENT, "parent", "Parent", frozenset({30}))
            site.languages.add("fr")
            for group in groups:  # group_course = "{tenant}-{code}"
                course = CourseRow(0, 0, f"{name}-{group.code}", group.name, 1, "")
                course.idnumber = f"{name}-{code}-{group.code}"
                course.id = site.new_id()
                course.contextid = site.new_context(50, course.id)
                site.courses[course.id] = course
            token = secrets / f"{name}.token"
            token.write_text(f"token-{name}\n", encoding="utf-8")
            token.chmod(0o600)
            farm_toml += (
                f"\n[netypareo.{name}]\nwsdl = {_q(netypareo_server.wsdl_url)}\n"
                'timeout = 5.0\nretries = 1\ngroup_course = "{tenant}-{code}"\n'
                'tutor_role = "parent"\n'
            )
            (folder / f"{name}.toml").write_text(
                f"[site]\nurl = {_q(site.wwwroot)}\n"
                f'token = "file:secrets/{name}.token"\nnetypareo = {_q(name)}\n'
                f'auth = "oauth2"\nprofile_fields = {json.dumps(list(CFA_PROFILE_FIELDS))}\n'
                + (DEFAULTS if name == "defaults" else "")
                + "\n"
                f"[site.roles]\nparent = {PARENT}\n\n"
                f'[[netypareo_sites]]\nid = "{name}-{code}"\ncode = {_q(code)}\nindex = 0\n',
                encoding="utf-8",
            )
        (folder / "farm.toml").write_text(farm_toml, encoding="utf-8")
        (folder / "var").mkdir()
        registry = Registry.open(
            f"sqlite:///{folder / 'var' / 'registry.sqlite'}", check=False, create=True
        )
        registry.upgrade()
        registry.close()
        world = World(folder, moodle, netypareo_server, code)
        # The accounts the groups' memberships and the tutors' roles point at, in one run.
        done = world.farm("sync", "--task", "students", "--site", "groups", "--site", "tutors")
        assert done.exit_code == 0, done.output
        yield world


@pytest.fixture
def reset(world: World) -> World:
    """The world with the NetYpareo simulator's call counters at zero."""
    world.netypareo.simulator.reset()
    return world


def writes(site: Site) -> int:
    return sum(n for f, n in site.calls.items() if "_get_" not in f and "search" not in f)


def test_students_creates_the_learners_and_their_enrolments_and_nothing_else(
    reset: World,
) -> None:
    world = reset
    site = world.site("students")

    outcome = world.task("students", "students")

    accounts = world.accounts("students")
    assert set(accounts) == {learner.login for learner in world.learners()}
    assert not site.cohorts
    courses = {c.id: c.idnumber for c in site.courses.values()}
    enrolled = {(courses[course], user) for course, user in site.enrolments}
    expected = {
        (f"{world.tenant('students')}-{learner.group}", accounts[learner.login])
        for learner in world.learners()
    }
    assert enrolled == expected
    assert set(outcome["counts"]) == {"person.create", "enrolment.enrol"}
    # Only what the task plans was read: no trainer, no tutor.
    calls = world.netypareo.simulator.stats.calls
    assert calls["getFormateurs"] == calls["getTuteurs"] == 0
    before = writes(site)
    assert world.task("students", "students")["writes"] == 0
    assert writes(site) == before


def test_teachers_creates_the_trainers_and_their_enrolments(reset: World) -> None:
    world = reset
    site = world.site("teachers")

    outcome = world.task("teachers", "teachers")

    trainers = world.netypareo.data.trainers[world.code]
    accounts = world.accounts("teachers")
    assert set(accounts) == {t.login for t in trainers}
    courses = {c.id: c.idnumber for c in site.courses.values()}
    teaching = {
        (f"{world.tenant('teachers')}-{group}", accounts[t.login])
        for t in trainers
        for group in t.groups
    }
    assert {(courses[c], u) for c, u in site.enrolments} == teaching
    editing = 3
    assert all(
        editing in site.user_roles_in(site.courses[c].contextid, u) for c, u in site.enrolments
    )
    assert set(outcome["counts"]) == {"person.create", "enrolment.enrol"}
    assert world.netypareo.simulator.stats.calls["getApprenantsGroupe"] == 0


def test_groups_and_pdgroups_each_sync_their_own_cohorts(reset: World) -> None:
    world = reset
    site = world.site("groups")
    tenant = world.tenant("groups")

    first = world.task("groups", "groups")

    assert set(first["counts"]) == {"cohort.create", "cohort_member.add"}
    cohorts = {c.idnumber: c for c in site.cohorts.values()}
    apprenticeship = {f"farm:netypareo:{tenant}:group:{g.code}" for g in world.groups(False)}
    assert set(cohorts) == apprenticeship
    accounts = world.accounts("groups")
    for group in world.groups(False):
        members = {
            accounts[learner.login] for learner in world.learners() if learner.group == group.code
        }
        assert cohorts[f"farm:netypareo:{tenant}:group:{group.code}"].members == members

    outcome = world.task("groups", "pdgroups")

    continuing = {f"farm:netypareo:{tenant}:pdgroup:{g.code}" for g in world.groups(True)}
    assert {c.idnumber for c in site.cohorts.values()} == apprenticeship | continuing
    assert set(outcome["counts"]) == {"cohort.create", "cohort_member.add"}
    assert outcome["counts"]["cohort.create"] == len(continuing)
    # Neither run touched the other's family: the groups' rerun writes nothing.
    assert world.task("groups", "groups")["writes"] == 0


def test_tutors_get_the_role_over_their_apprentices_and_a_rerun_writes_nothing(
    reset: World,
) -> None:
    world = reset
    site = world.site("tutors")

    outcome = world.task("tutors", "tutors")

    tutors = world.netypareo.data.tutors[world.code]
    accounts = world.accounts("tutors")
    assert {t.login for t in tutors} <= set(accounts)
    learners = {learner.code: learner.login for learner in world.learners()}
    expected = {
        (PARENT, site.user_context(accounts[learners[code]]), accounts[t.login])
        for t in tutors
        for code in t.learners
    }
    assert expected
    assert {a for a in site.role_assignments if a[0] == PARENT} == expected
    assert set(outcome["counts"]) == {"person.create", "role_assignment.assign"}
    assert outcome["counts"]["person.create"] == len(tutors)
    assert world.task("tutors", "tutors")["writes"] == 0


def test_caches_reloads_the_reference_tables_and_does_nothing_else(reset: World) -> None:
    world = reset

    outcome = world.task("caches", "caches")

    calls = world.netypareo.simulator.stats.calls
    assert {name: n for name, n in calls.items() if n} == {"getStatuts": 1, "getFormations": 1}
    assert writes(world.site("caches")) == 0
    assert outcome["counts"] == {}


def test_sites_reads_no_one_and_creates_nothing(reset: World) -> None:
    world = reset

    outcome = world.task("sites", "sites")

    calls = world.netypareo.simulator.stats.calls
    assert calls["getSites"] == 1
    assert calls["getApprenantsGroupe"] == calls["getFormateurs"] == calls["getTuteurs"] == 0
    assert writes(world.site("sites")) == 0
    assert outcome["counts"] == {}


def test_a_task_unknown_for_the_tenant_is_refused_with_the_valid_ones(world: World) -> None:
    misspelt = world.farm("sync", "--task", "grups", "--site", "names")
    unknown = world.farm("sync", "--task", "users", "--site", "names")
    clash = world.farm("sync", "--task", "groups", "--entities", "users", "--site", "names")

    assert misspelt.exit_code == unknown.exit_code == clash.exit_code == 2
    assert "did you mean 'groups'?" in misspelt.output
    assert "has no task 'users'" in unknown.output
    assert "sites, groups, pdgroups, students, teachers, tutors, caches" in unknown.output
    assert "decides --entities" in clash.output
    listed = world.farm("schedule", "list", "--site", "names", "--json")
    assert listed.exit_code == 0, listed.output
    does = {entry["task"]: entry["does"] for entry in json.loads(listed.output)}
    assert does["caches"].startswith("the reference tables")
    assert "continuing-education" in does["pdgroups"]
    table = world.farm("schedule", "list", "--site", "names")
    assert f"caches: {does['caches']}" in table.output  # a line under the table


def test_a_site_with_lang_fr_creates_accounts_in_french_and_a_rerun_writes_nothing(
    reset: World,
) -> None:
    world = reset
    site = world.site("defaults")
    english = world.site("students")  # created by its own test or not: Moodle's defaults there

    world.task("defaults", "students")

    made = [u for u in site.live_users() if u.id != 1]
    assert made
    assert {(u.lang, u.timezone, u.country) for u in made} == {("fr", "Europe/Paris", "FR")}
    assert all(u.lang == "en" and u.country == "" for u in english.live_users() if u.id != 1)
    # On creation only: the defaults are no part of what a rerun compares.
    assert world.task("defaults", "students")["writes"] == 0
