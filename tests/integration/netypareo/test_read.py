"""Reading the served simulator through zeep: every entity and field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from farm.model import Profile, TenantSnapshot
from farm.sources import ReadRequest, SourceError
from farm.sources.netypareo import NetYpareoSource, NetYpareoTenant, cohort_idnumber
from farm.sources.netypareo.records import PROFILE_FIELDS
from tests.fixtures.netypareo import NETYPAREO_REFERENCE_DATE, ServedNetYpareo

SourceFactory = Callable[..., NetYpareoSource]


@pytest.fixture
async def make_source(netypareo: ServedNetYpareo) -> AsyncIterator[SourceFactory]:
    made: list[NetYpareoSource] = []

    def make(tenants: list[NetYpareoTenant] | None = None, **overrides: Any) -> NetYpareoSource:
        source = NetYpareoSource(
            "occ", netypareo.settings(**overrides), tenants or netypareo.tenants()
        )
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()


async def read_all(
    source: NetYpareoSource, run_date: date = NETYPAREO_REFERENCE_DATE, cohort_prefix: str = "farm:"
) -> dict[str, TenantSnapshot]:
    request = ReadRequest(
        tenants=tuple(source.tenants), run_date=run_date, cohort_prefix=cohort_prefix
    )
    return dict((await source.read(request)).snapshots)


async def test_every_learner_trainer_and_tutor_arrives_with_its_fields(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    data = netypareo.data
    snapshots = await read_all(make_source())
    assert set(snapshots) == {"cfa-34", "cfa-31", "cfa-66"}
    for site in data.sites:
        snap = snapshots[f"cfa-{site.code}"]
        people = {p.source_key: p for p in snap.people}
        assert snap.complete
        assert snap.warnings == ()
        for group in data.groups[site.code]:
            for learner in data.learners[(site.code, group.code)]:
                person = people[f"netypareo:occ:apprenant:{learner.code}"]
                assert (person.firstname, person.lastname) == (learner.firstname, learner.lastname)
                assert person.username == learner.login
                assert person.email == learner.email
                assert person.idnumber == f"netypareo:apprenant:{learner.code}"
                assert person.profiles == {Profile.STUDENT}
                assert person.establishments == {f"cfa-{site.code}"}
                age = (
                    NETYPAREO_REFERENCE_DATE.year
                    - learner.birthdate.year
                    - (
                        (NETYPAREO_REFERENCE_DATE.month, NETYPAREO_REFERENCE_DATE.day)
                        < (learner.birthdate.month, learner.birthdate.day)
                    )
                )
                assert person.profile_fields == {
                    "netypareo_usertype": "student",
                    "netypareo_ouverage": "major" if age >= 18 else "minor",
                    "netypareo_status": data.statuses[learner.status],
                    "netypareo_cursus": group.cursus,
                    "netypareo_program": data.programs[group.program],
                    "netypareo_program_step": group.step,
                }
        for trainer in data.trainers[site.code]:
            person = people[f"netypareo:occ:formateur:{trainer.code}"]
            assert person.profiles == {Profile.TEACHER}
            assert (person.username, person.email) == (trainer.login, trainer.email)
            assert person.profile_fields["netypareo_usertype"] == "teacher"
        for tutor in data.tutors[site.code]:
            person = people[f"netypareo:occ:tuteur:{tutor.code}"]
            assert person.profiles == {Profile.TUTOR}
            assert person.lastname == tutor.lastname
            assert person.profile_fields["netypareo_usertype"] == "tutor"
            assert set(person.profile_fields) == set(PROFILE_FIELDS)
        expected = (
            len(data.site_learners(site.code))
            + len(data.trainers[site.code])
            + len(data.tutors[site.code])
        )
        assert len(snap.people) == expected


async def test_groups_and_pdgroups_become_cohorts_with_their_learners(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    data = netypareo.data
    snapshots = await read_all(make_source(), cohort_prefix="cfa:")
    snap = snapshots["cfa-31"]
    cohorts = {c.idnumber: c for c in snap.cohorts}
    members = {(m.cohort, m.person) for m in snap.cohort_members}
    groups = data.groups["31"]
    assert {g.continuing for g in groups} == {True, False}
    assert len(cohorts) == len(groups)
    for group in groups:
        idnumber = cohort_idnumber("cfa:", "cfa-31", group.continuing, str(group.code))
        assert idnumber.startswith("cfa:netypareo:cfa-31:")
        assert ("pdgroup" in idnumber) is group.continuing
        assert cohorts[idnumber].name == group.name
        assert cohorts[idnumber].establishment == "cfa-31"
        assert {p for c, p in members if c == idnumber} == {
            f"netypareo:occ:apprenant:{p.code}" for p in data.learners[("31", group.code)]
        }


async def test_majority_flips_exactly_on_the_eighteenth_birthday(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    site, learner = next(
        (s, p) for s in ("34", "31", "66") for p in netypareo.data.site_learners(s)
        if p.birthdate.month != 2 or p.birthdate.day != 29
    )  # fmt: skip
    birthday = learner.birthdate.replace(year=learner.birthdate.year + 18)
    key = f"netypareo:occ:apprenant:{learner.code}"
    source = make_source()
    seen = {}
    for day in (birthday - timedelta(days=1), birthday, birthday + timedelta(days=1)):
        snapshots = await read_all(source, run_date=day)
        person = next(p for p in snapshots[f"cfa-{site}"].people if p.source_key == key)
        seen[day] = person.profile_fields["netypareo_ouverage"]
    assert list(seen.values()) == ["minor", "major", "major"]


async def test_usertype_carries_the_site_index_when_the_farm_asks(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    tenants = [
        NetYpareoTenant("cfa-occ-montpellier", "34", 0),
        NetYpareoTenant("cfa-occ-nimes", "66", 3),
    ]
    snapshots = await read_all(make_source(tenants, usertype_prefix=True))
    for tenant in tenants:
        types = {p.profile_fields["netypareo_usertype"] for p in snapshots[tenant.id].people}
        assert types == {f"{tenant.index}student", f"{tenant.index}teacher", f"{tenant.index}tutor"}


async def test_a_trainer_of_two_sites_is_one_source_key_in_both_tenants(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    data = netypareo.data
    shared = {t.code for t in data.trainers["34"]} & {t.code for t in data.trainers["31"]}
    assert len(shared) == 1
    key = f"netypareo:occ:formateur:{shared.pop()}"
    snapshots = await read_all(make_source())
    assert key in {p.source_key for p in snapshots["cfa-34"].people}
    assert key in {p.source_key for p in snapshots["cfa-31"].people}


async def test_enrolments_follow_the_program_and_group_mappings(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    data = netypareo.data
    group, continuing = data.groups["34"][0], data.groups["34"][-1]
    assert continuing.continuing
    source = make_source(
        program_courses={group.program: "COURSE-PROG"},
        group_courses={str(continuing.code): "COURSE-FC"},
    )
    snap = (await read_all(source))["cfa-34"]
    by_course: dict[str, set[tuple[str, str]]] = {}
    for e in snap.enrolments:
        by_course.setdefault(e.course, set()).add((e.person, e.role))
    program_groups = [g for g in data.groups["34"] if g.program == group.program]
    learners = {
        (f"netypareo:occ:apprenant:{p.code}", "student")
        for g in program_groups for p in data.learners[("34", g.code)]
    }  # fmt: skip
    teachers = {
        (f"netypareo:occ:formateur:{t.code}", "editingteacher")
        for t in data.trainers["34"] if set(t.groups) & {g.code for g in program_groups}
    }  # fmt: skip
    assert by_course["COURSE-PROG"] == learners | teachers
    assert {p for p, r in by_course["COURSE-FC"] if r == "student"} == {
        f"netypareo:occ:apprenant:{p.code}" for p in data.learners[("34", continuing.code)]
    }


async def test_requests_are_split_per_site_and_group_so_answers_stay_small(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    # The real service dies on big answers: no answer here may exceed a group.
    netypareo.simulator.faults.max_items = 12
    snapshots = await read_all(make_source())
    calls = netypareo.simulator.stats.calls
    assert calls["getApprenantsGroupe"] == sum(len(g) for g in netypareo.data.groups.values())
    assert calls["getSites"] == 1
    assert calls["getStatuts"] == 1
    assert netypareo.simulator.stats.faults["crash"] == 0
    assert sum(len(s.people) for s in snapshots.values()) > 12


async def test_reference_tables_are_cached_between_reads(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    source = make_source()
    await read_all(source)
    await read_all(source)
    assert netypareo.simulator.stats.calls["getStatuts"] == 1
    netypareo.simulator.data.statuses["APP"] = "apprentie"
    try:
        statuses, _ = await source.refresh_reference()
        assert statuses["APP"] == "apprentie"
        assert netypareo.simulator.stats.calls["getStatuts"] == 2
    finally:
        netypareo.simulator.data.statuses["APP"] = "apprenti"


@pytest.fixture
def pinned_wsdl(netypareo: ServedNetYpareo, tmp_path: Path) -> Path:
    """A local copy of the WSDL whose address points nowhere useful."""
    pinned = tmp_path / "netypareo.wsdl"
    text = httpx.get(netypareo.wsdl_url).text.replace(netypareo.url, "http://127.0.0.1:9")
    pinned.write_text(text, encoding="utf-8")
    return pinned


async def test_a_pinned_wsdl_copy_and_an_endpoint_override_work(
    netypareo: ServedNetYpareo, make_source: SourceFactory, pinned_wsdl: Path
) -> None:
    source = make_source(wsdl=str(pinned_wsdl), endpoint=f"{netypareo.url}/ws")
    snapshots = await read_all(source)
    assert len(snapshots["cfa-66"].people) > 0


async def test_one_person_read_keeps_only_that_person_and_is_incomplete(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    learner = netypareo.data.site_learners("66")[0]
    source = make_source([NetYpareoTenant("cfa-66", "66", 2)])
    request = ReadRequest(tenants=("cfa-66",), person=str(learner.code))
    snap = (await source.read(request)).snapshots["cfa-66"]
    assert [p.source_key for p in snap.people] == [f"netypareo:occ:apprenant:{learner.code}"]
    assert not snap.complete
    assert {m.person for m in snap.cohort_members} == {snap.people[0].source_key}


async def test_an_unknown_site_code_fails_with_the_tenant_named(make_source: SourceFactory) -> None:
    source = make_source([NetYpareoTenant("cfa-occ-rodez", "12", 5)])
    with pytest.raises(SourceError, match=r"occ, tenant cfa-occ-rodez: site code '12'"):
        await read_all(source)


async def test_an_operation_missing_from_the_wsdl_is_named(make_source: SourceFactory) -> None:
    source = make_source(operations={"tutors": "getTuteursEntreprise"})
    with pytest.raises(SourceError, match=r"tutors = 'getTuteursEntreprise'.*getTuteurs"):
        await read_all(source)


async def test_a_read_with_a_mapped_field_name_uses_it(
    netypareo: ServedNetYpareo, make_source: SourceFactory
) -> None:
    # Pointing the login at the e-mail element shows the mapping is what is read.
    snap = (await read_all(make_source(fields={"learner_login": "email"})))["cfa-34"]
    learner = netypareo.data.site_learners("34")[0]
    person = next(p for p in snap.people if p.source_key.endswith(f":{learner.code}"))
    assert person.username == learner.email
