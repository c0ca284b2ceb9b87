"""Records: keys, values and digests that the index relies on."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from farm.index import SiteIndex
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Entity,
    Group,
    GroupMembership,
    IndexEntry,
    Kind,
    Person,
    Profile,
    RoleAssignment,
    TenantSnapshot,
)

PERSON = Person(
    "sdet:F17",
    "jdupont",
    "123",
    "Jean",
    "Dupont",
    "j.dupont@example.fr",
    profiles=frozenset({Profile.TEACHER, Profile.PARENT}),
    establishments=frozenset({"0290009C"}),
    profile_fields={"classe": "2A", "regime": "DP"},
)

SCRIPT = """
from farm.model import Person, Profile
p = Person("sdet:F17", "jdupont", "123", "Jean", "Dupont", "j.dupont@example.fr",
           profiles=frozenset({Profile.TEACHER, Profile.PARENT}),
           establishments=frozenset({"0290009C"}), profile_fields={"regime": "DP", "classe": "2A"})
print(p.digest())
"""


def test_the_digest_is_the_same_in_another_process() -> None:
    digests = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }

    assert digests == {PERSON.digest()}


@pytest.mark.parametrize(
    "change",
    [
        {"username": "jdupont2"},
        {"idnumber": "124"},
        {"firstname": "Jeanne"},
        {"lastname": "Durand"},
        {"email": "x@example.fr"},
        {"auth": "cas"},
        {"profiles": frozenset({Profile.TEACHER})},
        {"profile_fields": {"classe": "2B", "regime": "DP"}},
        {"suspended": True},
    ],
)
def test_every_field_moodle_stores_changes_the_digest(change: dict) -> None:  # type: ignore[type-arg]
    assert replace(PERSON, **change).digest() != PERSON.digest()


def test_source_key_and_establishments_do_not_change_the_digest() -> None:
    moved = replace(PERSON, source_key="sdet:other", establishments=frozenset({"0290010D"}))

    assert moved.digest() == PERSON.digest()


def test_values_are_plain_json_in_a_stable_order() -> None:
    values = PERSON.values()

    assert json.loads(json.dumps(values)) == values
    assert values["profiles"] == ["parent", "teacher"]
    assert list(values["profile_fields"]) == ["classe", "regime"]
    assert "source_key" not in values
    assert "establishments" not in values
    assert Cohort("farm_a", "A", establishment="X").values() == {
        "idnumber": "farm_a",
        "name": "A",
        "description": "",
        "context": "system",
    }


def test_keys_and_kinds() -> None:
    records = [
        (PERSON, Kind.PERSON, "sdet:F17", Entity.USERS),
        (Cohort("farm_a", "A"), Kind.COHORT, "farm_a", Entity.COHORTS),
        (CohortMembership("farm_a", "sdet:1"), Kind.COHORT_MEMBER, "farm_a|sdet:1", Entity.COHORTS),
        (
            Enrolment("C1", "sdet:1", "teacher"),
            Kind.ENROLMENT,
            "C1|sdet:1|teacher",
            Entity.ENROLMENTS,
        ),
        (Group("C1", "farm_g", "G"), Kind.GROUP, "C1|farm_g", Entity.GROUPS),
        (
            GroupMembership("C1", "farm_g", "sdet:1"),
            Kind.GROUP_MEMBER,
            "C1|farm_g|sdet:1",
            Entity.GROUPS,
        ),
        (
            RoleAssignment("sdet:1", "manager"),
            Kind.ROLE_ASSIGNMENT,
            "sdet:1|manager|system|",
            Entity.ROLES,
        ),
    ]
    for record, kind, key, entity in records:
        assert (record.kind, record.key, record.kind.entity) == (kind, key, entity)
    assert [k for k in Kind if k.has_moodle_id] == [Kind.PERSON, Kind.COHORT, Kind.GROUP]


def test_a_tenant_snapshot_gives_its_records_by_kind() -> None:
    snapshot = TenantSnapshot("0290009C", people=(PERSON,), cohorts=(Cohort("farm_a", "A"),))

    assert snapshot.records(Kind.PERSON) == (PERSON,)
    assert snapshot.records(Kind.ROLE_ASSIGNMENT) == ()
    assert snapshot.with_warnings(()).people == (PERSON,)


def test_an_index_entry_restored_from_the_registry_knows_it_was_suspended() -> None:
    values = {**PERSON.values(), "suspended": True}

    suspended = IndexEntry.restore("person", "sdet:F17", 5, "d", values, [])
    by_source = IndexEntry.restore("person", "sdet:F17", 5, "d", values, ["0290009C"])

    assert suspended.suspended
    assert not by_source.suspended
    assert SiteIndex([suspended]).get(Kind.PERSON, "sdet:F17") == suspended


def test_the_digest_is_blake2b_of_the_values_as_ascii_json() -> None:
    zoe = replace(PERSON, firstname="Zoé", lastname="Lefèvre-N’Diaye")
    encoded = json.dumps(list(zoe.values().values()), ensure_ascii=True, separators=(",", ":"))

    assert zoe.digest() == hashlib.blake2b(encoded.encode("ascii"), digest_size=12).hexdigest()
    assert zoe.digest() != PERSON.digest()


def test_a_person_with_another_auth_plugin_is_the_person_with_only_that_changed() -> None:
    person = replace(PERSON, suspended=True)
    clone = person.with_auth("cas")
    assert clone == replace(person, auth="cas")
    assert clone.digest() == replace(person, auth="cas").digest()
    assert (person.auth, clone.auth) == ("manual", "cas")
    # Every other field is the person's own.
    assert [getattr(clone, f) for f in ("source_key", "establishments", "suspended")] == [
        "sdet:F17",
        frozenset({"0290009C"}),
        True,
    ]
