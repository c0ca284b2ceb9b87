"""The shared sample entries (a cité scolaire: lycée 0999901Z, collège 0999902A)."""

from __future__ import annotations

import pytest

from farm.model import Profile
from farm.sources import ReadRequest
from farm.sources.sdet import SdetSource

pytestmark = pytest.mark.slapd

LYCEE, COLLEGE = "0999901Z", "0999902A"


async def test_reads_each_tenant_of_the_cite_scolaire(sample_source: SdetSource) -> None:
    result = await sample_source.read(ReadRequest(tenants=(LYCEE, COLLEGE)))

    lycee, college = result.snapshots[LYCEE], result.snapshots[COLLEGE]
    assert {p.source_key for p in lycee.people} == {
        "sdet:F99000a1",
        "sdet:F99000t1",
        "sdet:F99000p1",
    }
    assert {p.source_key for p in college.people} == {"sdet:F99000t1"}
    assert lycee.complete
    assert college.complete
    assert lycee.warnings == ()
    assert college.warnings == ()

    teacher = next(p for p in college.people if p.source_key == "sdet:F99000t1")
    assert teacher in lycee.people  # the same record in both: one account after merging
    assert teacher.establishments == frozenset({LYCEE, COLLEGE})
    assert teacher.profiles == frozenset({Profile.TEACHER})
    assert (teacher.username, teacher.firstname, teacher.lastname) == ("f99000t1", "Paul", "DURAND")
    assert teacher.idnumber == "AC-ORL._TOURS$88001"
    assert teacher.email == "paul.durand@example.org"


async def test_cohorts_are_qualified_by_uai(sample_source: SdetSource) -> None:
    result = await sample_source.read(ReadRequest(tenants=(LYCEE, COLLEGE)))

    lycee, college = result.snapshots[LYCEE], result.snapshots[COLLEGE]
    members = {(m.cohort, m.person) for m in lycee.cohort_members}
    assert members == {
        ("farm:0999901Z:2NDE1", "sdet:F99000a1"),
        ("farm:0999901Z:group:2NDE1_ESP", "sdet:F99000a1"),
        ("farm:0999901Z:2NDE1:teachers", "sdet:F99000t1"),
        ("farm:0999901Z:group:2NDE1_ESP:teachers", "sdet:F99000t1"),
        ("farm:0999901Z:student", "sdet:F99000a1"),
        ("farm:0999901Z:teacher", "sdet:F99000t1"),
        ("farm:0999901Z:parent", "sdet:F99000p1"),
    }
    assert {(m.cohort, m.person) for m in college.cohort_members} == {
        ("farm:0999902A:3EME2:teachers", "sdet:F99000t1"),
        ("farm:0999902A:teacher", "sdet:F99000t1"),
    }
    names = {c.idnumber: c.name for c in lycee.cohorts}
    assert names["farm:0999901Z:2NDE1"] == "2NDE1 (LYCEE JEAN MOULIN)"
    assert all(c.establishment == LYCEE for c in lycee.cohorts)


async def test_yearly_prefix_and_farm_prefix_come_from_the_request(
    sample_source: SdetSource,
) -> None:
    request = ReadRequest(tenants=(LYCEE,), cohort_prefix="demo:", cohort_year="2026")
    result = await sample_source.read(request)

    idnumbers = {c.idnumber for c in result.snapshots[LYCEE].cohorts}
    assert "demo:2026:0999901Z:2NDE1" in idnumbers
    assert all(i.startswith("demo:2026:") for i in idnumbers)


@pytest.mark.parametrize("who", ["F99000t1", "sdet:F99000t1", "paul.durand", "AC-ORL._TOURS$88001"])
async def test_single_person_by_uid_login_or_jointure(sample_source: SdetSource, who: str) -> None:
    result = await sample_source.read(ReadRequest(tenants=(LYCEE, COLLEGE), person=who))

    for tenant in (LYCEE, COLLEGE):
        snapshot = result.snapshots[tenant]
        assert [p.source_key for p in snapshot.people] == ["sdet:F99000t1"]
        assert not snapshot.complete


@pytest.mark.parametrize("who", ["*", "F99000*", "x)(uid=*", "paul.durand)(|(uid=*"])
async def test_operator_input_is_escaped(sample_source: SdetSource, who: str) -> None:
    result = await sample_source.read(ReadRequest(tenants=(LYCEE,), person=who))

    assert result.snapshots[LYCEE].people == ()
    assert not result.snapshots[LYCEE].complete
