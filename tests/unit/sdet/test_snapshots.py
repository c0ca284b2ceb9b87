"""Entries -> per-tenant snapshots, without a server."""

from __future__ import annotations

from typing import Any

from farm.model import Profile, RoleAssignment, TenantSnapshot
from farm.sources.sdet import MappingRules
from farm.sources.sdet.entries import Entry
from farm.sources.sdet.people import person_facts
from farm.sources.sdet.snapshots import build_snapshots
from farm.sources.sdet.structures import StructureMap, build_structure_map

LYCEE_DN = "ENTStructureSIREN=19999901000017,ou=structures,dc=x"
COLLEGE_DN = "ENTStructureSIREN=19999902000011,ou=structures,dc=x"
LYCEE, COLLEGE = "0999901Z", "0999902A"


def structures() -> StructureMap:
    return build_structure_map(
        [
            Entry(
                LYCEE_DN,
                {"entstructureuai": [LYCEE], "entstructurenomcourant": ["LG MOULIN-ac-ORL"]},
            ),
            Entry(COLLEGE_DN, {"entstructureuai": [COLLEGE], "ou": ["CLG MOULIN"]}),
            Entry("ENTStructureSIREN=1,ou=structures,dc=x", {"ou": ["REGION"]}),  # no UAI
        ]
    )


def person(uid: str, *classes: str, **attrs: Any) -> Entry:
    values: dict[str, list[str]] = {
        "objectclass": ["inetOrgPerson", "ENTPerson", *classes],
        "uid": [uid],
        "sn": ["DUPONT-MOREAU"],
        "givenname": ["Zoé"],
    }
    for name, value in attrs.items():
        values[name.lower()] = value if isinstance(value, list) else [value]
    return Entry(f"uid={uid},ou=people,dc=x", values)


def read(
    entries: list[Entry], tenants: tuple[str, ...], rules: MappingRules | None = None
) -> dict[str, TenantSnapshot]:
    rules = rules or MappingRules()
    smap = structures()
    facts = [person_facts(e, smap, rules) for e in entries]
    return build_snapshots(facts, smap, tenants, rules, complete=True)


TEACHER = person(
    "T1",
    "ENTAuxEnseignant",
    ENTPersonFonctions=[
        f"{LYCEE_DN}$ENS$ENSEIGNEMENT$L1300$MATHS",
        f"{COLLEGE_DN.upper()}$ENS$ENSEIGNEMENT$L1300$MATHS",
    ],
    ENTAuxEnsClasses=[f"{LYCEE_DN}$3EME1", f"{COLLEGE_DN}$3EME1"],
)


def test_a_cite_scolaire_teacher_is_in_both_tenants_with_both_sets_of_cohorts() -> None:
    snapshots = read([TEACHER], (LYCEE, COLLEGE))

    lycee, college = snapshots[LYCEE], snapshots[COLLEGE]
    assert lycee.people == college.people
    (teacher,) = lycee.people
    assert teacher.establishments == {LYCEE, COLLEGE}
    # Profile from the function code: the entry has no ENTPersonProfils.
    assert teacher.profiles == {Profile.TEACHER}
    assert {c.idnumber for c in lycee.cohorts} == {
        "farm:0999901Z:3EME1:teachers",
        "farm:0999901Z:teacher",
    }
    assert {c.idnumber for c in college.cohorts} == {
        "farm:0999902A:3EME1:teachers",
        "farm:0999902A:teacher",
    }
    assert {c.name for c in lycee.cohorts} == {
        "Teachers of 3EME1 (LG MOULIN)",
        "Teachers (LG MOULIN)",
    }


def test_reading_one_tenant_still_says_where_else_the_person_belongs() -> None:
    snapshots = read([TEACHER], (LYCEE,))

    assert list(snapshots) == [LYCEE]
    assert snapshots[LYCEE].people[0].establishments == {LYCEE, COLLEGE}


def test_profiles_come_from_any_spelling_of_the_codes() -> None:
    entries = [
        person(
            "A",
            "ENTAuxEnseignant",
            ENTPersonProfils=["national_3"],
            ENTPersonStructRattach=LYCEE_DN,
        ),
        person(
            "B",
            "ENTAuxNonEnsEtab",
            ENTPersonProfils=["National_6"],
            ENTPersonStructRattach=LYCEE_DN,
        ),
        person("C", "ENTEleve", ENTPersonStructRattach=LYCEE_DN),  # object class only
        person(
            "D", ENTPersonProfils=["NATIONAL_ENS", "National_TUT"], ENTPersonStructRattach=LYCEE_DN
        ),
    ]

    profiles = {p.source_key: p.profiles for p in read(entries, (LYCEE,))[LYCEE].people}

    assert profiles == {
        "sdet:A": {Profile.TEACHER},
        "sdet:B": {Profile.STAFF},
        "sdet:C": {Profile.STUDENT},
        "sdet:D": {Profile.TEACHER, Profile.PARENT},
    }


def test_bad_entries_are_skipped_with_a_warning_naming_dn_and_attribute() -> None:
    no_sn = person("S1", "ENTEleve", ENTPersonStructRattach=LYCEE_DN)
    del no_sn.attributes["sn"]  # type: ignore[attr-defined]
    entries = [
        no_sn,
        person("S2", "ENTEleve", ENTPersonStructRattach=LYCEE_DN, ENTEleveClasses=["2NDE1"]),
        person(
            "S3",
            "ENTEleve",
            ENTPersonStructRattach=LYCEE_DN,
            ENTEleveClasses=["ENTStructureSIREN=404,ou=structures,dc=x$2NDE1"],
        ),
    ]

    snapshot = read(entries, (LYCEE,))[LYCEE]

    assert {p.source_key for p in snapshot.people} == {"sdet:S2", "sdet:S3"}
    found = {(w.entry, w.attribute) for w in snapshot.warnings}
    assert found == {
        ("uid=S1,ou=people,dc=x", "sn"),
        ("uid=S2,ou=people,dc=x", "ENTEleveClasses"),
        ("uid=S3,ou=people,dc=x", "ENTEleveClasses"),
    }
    assert all(w.tenant == LYCEE for w in snapshot.warnings)
    assert not [c for c in snapshot.cohorts if "2NDE1" in c.idnumber]
    # The skipped entry is held: its absence must not suspend the person.
    assert snapshot.held == {"sdet:S1"}


def test_parents_follow_their_children_and_can_be_linked_to_them() -> None:
    child = person("E1", "ENTEleve", ENTEleveClasses=[f"{COLLEGE_DN}$6EME2"])
    parent = person(
        "P1",
        "ENTAuxPersRelEleve",
        ENTPersonStructRattach=LYCEE_DN,
        ENTAuxPersRelEleveEleve=["UID=E1, ou=people,dc=x"],
    )
    rules = MappingRules.model_validate(
        {
            "parent_role": "parent",
            "cohorts": {"kinds": ["class", "class_parents"], "year": "2026"},
        }
    )

    college = read([child, parent], (LYCEE, COLLEGE), rules)[COLLEGE]

    assert {p.source_key for p in college.people} == {"sdet:E1", "sdet:P1"}
    assert {(m.cohort, m.person) for m in college.cohort_members} == {
        ("farm:2026:0999902A:6EME2", "sdet:E1"),
        ("farm:2026:0999902A:6EME2:parents", "sdet:P1"),
    }
    assert college.role_assignments == (
        RoleAssignment(person="sdet:P1", role="parent", context_level="user", context="sdet:E1"),
    )


def test_profile_fields_and_templates_from_the_mapping() -> None:
    rules = MappingRules.model_validate(
        {
            "idnumber": {"attribute": "ENTPersonJointure", "pattern": r"^[^$]*\$(.+)$"},
            "email": {"attribute": "mail", "default": "{username}@ent.invalid"},
            "profile_fields": {
                "birthdate": {"attribute": "ENTPersonDateNaissance", "kind": "date"},
                "login": {"attribute": "ENTPersonLogin"},
            },
        }
    )
    entry = person(
        "F9",
        "ENTEleve",
        ENTPersonStructRattach=LYCEE_DN,
        ENTPersonJointure="AC-RENNES$128407",
        ENTPersonDateNaissance="09/07/2009",
        ENTPersonLogin="zoe.dupont-moreau",
    )

    (record,) = read([entry], (LYCEE,), rules)[LYCEE].people

    assert (record.username, record.idnumber, record.email) == ("f9", "128407", "f9@ent.invalid")
    assert (record.firstname, record.lastname) == ("Zoé", "DUPONT-MOREAU")
    assert record.profile_fields == {"birthdate": "2009-07-09", "login": "zoe.dupont-moreau"}
    # No auth in the mapping: the site's [site] auth decides (Moodle 5.0 ships no CAS plugin).
    assert record.auth == ""


def test_a_mapping_may_name_the_auth_plugin_of_its_accounts() -> None:
    rules = MappingRules.model_validate({"auth": "shibboleth"})
    entry = person("F9", "ENTEleve", ENTPersonStructRattach=LYCEE_DN)

    (record,) = read([entry], (LYCEE,), rules)[LYCEE].people

    assert record.auth == "shibboleth"
