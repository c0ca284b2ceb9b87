"""A generated directory read from slapd gives exactly the generator's truth, tenant by tenant."""

from __future__ import annotations

from collections import defaultdict

import anyio
import pytest

from farm.model import Profile, TenantSnapshot
from farm.simulators.directory import GeneratedDirectory
from farm.simulators.slapd import Slapd
from farm.sources import ReadRequest
from farm.sources.sdet import SdetSource
from tests.integration.sdet.conftest import settings_for

pytestmark = pytest.mark.slapd

PROFILES = {
    "student": Profile.STUDENT,
    "teacher": Profile.TEACHER,
    "staff": Profile.STAFF,
    "parent": Profile.PARENT,
}


def expected_members(directory: GeneratedDirectory, uai: str) -> set[tuple[str, str]]:
    """(cohort idnumber, source key) pairs the default scheme gives for ``uai``."""
    out: set[tuple[str, str]] = set()
    for person in directory.people_of(uai).values():
        key = f"sdet:{person.uid}"
        for kind in person.kinds:
            out.add((f"farm:{uai}:{kind}", key))
        for pairs, pattern in (
            (person.classes, "farm:{}:{}"),
            (person.groups, "farm:{}:group:{}"),
            (person.taught_classes, "farm:{}:{}:teachers"),
            (person.taught_groups, "farm:{}:group:{}:teachers"),
        ):
            out |= {(pattern.format(u, code), key) for u, code in pairs if u == uai}
    return out


@pytest.fixture(scope="module")
def full_read(
    slapd_generated: Slapd, generated_directory: GeneratedDirectory
) -> dict[str, TenantSnapshot]:
    """One read of every tenant, shared by the tests that only look at it."""
    source = SdetSource("ent-generated", settings_for(slapd_generated, generated_directory.suffix))
    tenants = tuple(e.uai for e in generated_directory.establishments)
    result = anyio.run(source.read, ReadRequest(tenants=tenants))
    return dict(result.snapshots)


async def test_every_tenant_holds_exactly_its_people(
    full_read: dict[str, TenantSnapshot], generated_directory: GeneratedDirectory
) -> None:
    for etab in generated_directory.establishments:
        snapshot = full_read[etab.uai]
        truth = generated_directory.people_of(etab.uai)
        got = {p.source_key: p for p in snapshot.people}
        assert set(got) == {f"sdet:{uid}" for uid in truth}, etab.uai
        for uid, person in truth.items():
            record = got[f"sdet:{uid}"]
            assert record.profiles == {PROFILES[k] for k in person.kinds}, uid
            assert (record.firstname, record.lastname) == (person.firstname, person.lastname)
            assert record.username == uid.lower()
            assert etab.uai in record.establishments
        assert snapshot.complete


async def test_people_of_the_same_establishments_share_one_set_of_them(
    full_read: dict[str, TenantSnapshot],
) -> None:
    # A set of one UAI costs 216 bytes: once per read of it, not once per person.
    people = [person for snapshot in full_read.values() for person in snapshot.people]
    sets: dict[frozenset[str], set[int]] = defaultdict(set)
    for person in people:
        sets[person.establishments].add(id(person.establishments))
    assert len(people) > len(sets) > 1
    assert {value: len(ids) for value, ids in sets.items()} == dict.fromkeys(sets, 1)


async def test_every_tenant_holds_exactly_its_cohorts(
    full_read: dict[str, TenantSnapshot], generated_directory: GeneratedDirectory
) -> None:
    for etab in generated_directory.establishments:
        snapshot = full_read[etab.uai]
        got = {(m.cohort, m.person) for m in snapshot.cohort_members}
        assert got == expected_members(generated_directory, etab.uai), etab.uai
        assert {c.idnumber for c in snapshot.cohorts} == {cohort for cohort, _ in got}
        assert all(c.idnumber.startswith(f"farm:{etab.uai}:") for c in snapshot.cohorts)


async def test_cite_scolaire_teacher_has_one_record_and_both_sets_of_cohorts(
    full_read: dict[str, TenantSnapshot], generated_directory: GeneratedDirectory
) -> None:
    lycee, college = generated_directory.cites[0]
    both = [
        p for p in generated_directory.people if "teacher" in p.kinds and p.uais == {lycee, college}
    ]
    assert both, "the generator puts some teachers in both schools of a cité"
    for person in both:
        key = f"sdet:{person.uid}"
        in_lycee = next(p for p in full_read[lycee].people if p.source_key == key)
        in_college = next(p for p in full_read[college].people if p.source_key == key)
        assert in_lycee == in_college
        assert in_lycee.establishments == {lycee, college}
        cohorts: dict[str, set[str]] = defaultdict(set)
        for uai in (lycee, college):
            for member in full_read[uai].cohort_members:
                if member.person == key:
                    cohorts[uai].add(member.cohort)
        assert f"farm:{lycee}:teacher" in cohorts[lycee]
        assert f"farm:{college}:teacher" in cohorts[college]


async def test_reading_one_school_of_a_cite_keeps_the_other_in_view(
    generated_source: SdetSource, generated_directory: GeneratedDirectory
) -> None:
    lycee, college = generated_directory.cites[0]
    result = await generated_source.read(ReadRequest(tenants=(lycee,)))

    snapshot = result.snapshots[lycee]
    assert {p.source_key for p in snapshot.people} == {
        f"sdet:{uid}" for uid in generated_directory.people_of(lycee)
    }
    # A teacher of both schools read through the lycée alone still says they
    # belong to the collège: the planner must not suspend them from that site.
    shared = [p for p in snapshot.people if college in p.establishments]
    assert any(Profile.TEACHER in p.profiles for p in shared)


async def test_broken_entries_are_skipped_with_warnings_naming_dn_and_attribute(
    full_read: dict[str, TenantSnapshot], generated_directory: GeneratedDirectory
) -> None:
    broken = [p for p in generated_directory.people if p.broken is not None]
    assert {p.broken for p in broken} == {
        "missing-givenName",
        "malformed-class",
        "unknown-structure",
    }
    for person in broken:
        (uai,) = person.uais
        warnings = [w for w in full_read[uai].warnings if w.entry == person.dn]
        assert len(warnings) == 1, person
        (warning,) = warnings
        keys = {p.source_key for p in full_read[uai].people}
        if person.broken == "missing-givenName":
            assert warning.attribute == "givenName"
            assert "skipped" in warning.message
            assert f"sdet:{person.uid}" not in keys
        else:
            assert warning.attribute == "ENTEleveClasses"
            assert f"sdet:{person.uid}" in keys


async def test_reads_past_the_server_size_limit_by_paging(
    full_read: dict[str, TenantSnapshot], generated_directory: GeneratedDirectory
) -> None:
    # The test server caps anonymous plain searches at 500 entries.
    students = {
        p.source_key for s in full_read.values() for p in s.people if Profile.STUDENT in p.profiles
    }
    assert len(students) > 500
    assert len(students) == len(
        {p.uid for p in generated_directory.people if p.valid and "student" in p.kinds}
    )
