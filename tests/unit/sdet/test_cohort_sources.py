"""Cohorts from levels and from group entries, built without a server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from farm.model import TenantSnapshot
from farm.sources.sdet import DirectorySettings, MappingRules
from farm.sources.sdet.entries import Entry
from farm.sources.sdet.groups import GroupReader
from farm.sources.sdet.people import PersonReader
from farm.sources.sdet.snapshots import build_snapshots
from tests.unit.sdet.test_snapshots import (
    COLLEGE,
    COLLEGE_DN,
    LYCEE,
    LYCEE_DN,
    person,
    read,
    structures,
)

LEVELS = MappingRules.model_validate({"cohorts": {"kinds": ["class", "level"]}})


def student(uid: str, etab: str, code: str, level: str) -> Entry:
    return person(
        uid,
        "ENTEleve",
        ENTPersonProfils="National_ELV",
        ENTPersonStructRattach=etab,
        ENTEleveClasses=f"{etab}${code}",
        ENTEleveNivFormation=level,
    )


def test_students_of_a_level_form_one_cohort_per_establishment() -> None:
    entries = [
        student("E1", LYCEE_DN, "TG1", "TERMINALE GENERALE"),
        student("E2", LYCEE_DN, "TG2", "TERMINALE GENERALE"),
        student("E3", COLLEGE_DN, "3EME1", "3EME"),
        # A teacher with the attribute is no student of the level.
        person(
            "T1",
            "ENTAuxEnseignant",
            ENTPersonProfils="National_ENS",
            ENTPersonStructRattach=LYCEE_DN,
            ENTEleveNivFormation="TERMINALE GENERALE",
        ),
    ]

    snapshots = read(entries, (LYCEE, COLLEGE), LEVELS)

    lycee, college = snapshots[LYCEE], snapshots[COLLEGE]
    level = "farm:0999901Z:level:TERMINALE GENERALE"
    assert {(m.cohort, m.person) for m in lycee.cohort_members if ":level:" in m.cohort} == {
        (level, "sdet:E1"),
        (level, "sdet:E2"),
    }
    (cohort,) = [c for c in lycee.cohorts if c.idnumber == level]
    assert cohort.name == "TERMINALE GENERALE (LG MOULIN)"
    assert cohort.establishment == LYCEE
    assert {c.idnumber for c in college.cohorts} == {
        "farm:0999902A:3EME1",
        "farm:0999902A:level:3EME",
    }


def test_levels_are_off_by_default_and_follow_the_templates() -> None:
    entries = [student("E1", LYCEE_DN, "TG1", "TERMINALE GENERALE")]
    assert not any(":level:" in c.idnumber for c in read(entries, (LYCEE,))[LYCEE].cohorts)

    rules = MappingRules.model_validate(
        {
            "cohorts": {
                "year": "2026",
                "kinds": ["level"],
                "idnumbers": {"level": "{uai}:niv:{code}"},
                "names": {"level": "Niveau {code}"},
            }
        }
    )
    (cohort,) = read(entries, (LYCEE,), rules)[LYCEE].cohorts
    assert (cohort.idnumber, cohort.name) == (
        "farm:2026:0999901Z:niv:TERMINALE GENERALE",
        "Niveau TERMINALE GENERALE",
    )


def group_read(
    entries: list[Entry], groups: list[Entry], tables: Sequence[Mapping[str, object]]
) -> dict[str, TenantSnapshot]:
    # No cohorts from attributes: only the groups' show.
    rules = MappingRules.model_validate({"cohorts": {"kinds": []}})
    settings = DirectorySettings.model_validate(
        {
            "url": "ldap://127.0.0.1",
            "people_base": "ou=people,dc=x",
            "structures_base": "ou=structures,dc=x",
            "cohort_groups": tables,
        }
    )
    smap = structures()
    attributes = [t.person_attribute for t in settings.cohort_groups if t.person_attribute]
    people = PersonReader(smap, rules, member_of=attributes)
    readers = [GroupReader(at, t, smap) for at, t in enumerate(settings.cohort_groups)]
    found = [g for reader in readers if reader.rules.base for e in groups if (g := reader(e))]
    return build_snapshots(
        [people(e) for e in entries],
        smap,
        (LYCEE, COLLEGE),
        rules,
        complete=True,
        groups=found,
        group_readers=readers,
    )


def group(cn: str, **attrs: list[str]) -> Entry:
    values = {"objectclass": ["groupOfNames"], "cn": [cn]}
    values |= {name.lower(): value for name, value in attrs.items()}
    return Entry(f"cn={cn},ou=groups,dc=x", values)


ESCO = r"^Etablissements:[^:]*_(?P<uai>[0-9]{7}[A-Z]):(?P<code>[^:]+)$"


def members(snapshot: TenantSnapshot) -> set[tuple[str, str]]:
    return {(m.cohort, m.person) for m in snapshot.cohort_members}


def test_group_entries_with_member_dns_and_people_naming_them_make_one_cohort_each() -> None:
    s1 = student("E1", LYCEE_DN, "TG1", "T")
    s2 = student("E2", COLLEGE_DN, "3EME1", "3")
    teacher = person(
        "T1",
        "ENTAuxEnseignant",
        ENTPersonProfils="National_ENS",
        ENTPersonStructRattach=LYCEE_DN,
        isMemberOf=["Etablissements:LG MOULIN_0999901Z:LATIN", "Applications:Moodle:admins"],
    )
    groups = [
        group(
            "Etablissements:LG MOULIN_0999901Z:LATIN",
            # A member spelt with other case and spaces, and one the read did not bring.
            member=["UID=E1, ou=people,dc=x", "uid=NOBODY,ou=people,dc=x"],
            description=["Latin (option)"],
        ),
        # Of the collège, naming a lycée student: she is not read there, so not a member.
        group(
            "Etablissements:CLG MOULIN_0999902A:CHORALE",
            member=["uid=E2,ou=people,dc=x", "uid=E1,ou=people,dc=x"],
        ),
        group("Etablissements:CLG MOULIN_0999902A:VIDE"),
        # Refused by the discriminant: no cohort.
        group("Applications:Moodle:admins", member=["uid=T1,ou=people,dc=x"]),
        # An establishment the structure map does not know: no cohort.
        group("Etablissements:AILLEURS_0999999X:LATIN", member=["uid=E1,ou=people,dc=x"]),
    ]
    table = {
        "name": "esco",
        "base": "ou=groups,dc=x",
        "person_attribute": "isMemberOf",
        "pattern": ESCO,
        "name_attribute": "description",
        "idnumber": "{uai}:group:{code}",
    }

    snapshots = group_read([s1, s2, teacher], groups, [table])

    lycee, college = snapshots[LYCEE], snapshots[COLLEGE]
    assert members(lycee) == {
        ("farm:0999901Z:group:LATIN", "sdet:E1"),
        ("farm:0999901Z:group:LATIN", "sdet:T1"),
    }
    assert members(college) == {("farm:0999902A:group:CHORALE", "sdet:E2")}
    names = {c.idnumber: c.name for c in (*lycee.cohorts, *college.cohorts)}
    assert names["farm:0999901Z:group:LATIN"] == "Latin (option) (LG MOULIN)"
    # An empty group entry of a read school is still a cohort; refused groups are none.
    assert "farm:0999902A:group:VIDE" in names
    assert not [n for n in names if "admins" in n or "0999999X" in n]
    # A group the pattern ties to no structure is worth a word: the pattern may be wrong.
    (warning,) = [w for w in lycee.warnings if "cohort_groups" in w.message]
    assert warning.entry == "cn=Etablissements:AILLEURS_0999999X:LATIN,ou=groups,dc=x"
    assert "1 group(s)" in warning.message
    assert "'0999999X'" in warning.message
    assert not [w for w in lycee.warnings if "Applications" in w.entry]


def test_member_uids_dn_references_and_groups_only_named_on_people() -> None:
    s1 = student("E1", LYCEE_DN, "TG1", "T")
    s1 = Entry(s1.dn, {**s1.attributes, "memberof": ["cn=0999901Z-SPORT,ou=groups,dc=x"]})
    s2 = Entry(
        "uid=E2,ou=people,dc=x",
        {
            **student("E2", LYCEE_DN, "TG2", "T").attributes,
            "uid": ["E2"],
            "ismemberof": ["club:0999901Z:ECHECS"],
        },
    )
    tables = [
        {
            "name": "posix",
            "base": "ou=groups,dc=x",
            "member_attribute": "memberUid",
            "person_attribute": "memberOf",
            "person_match": "dn",
            "match_on": "dn",
            "pattern": r"^cn=(?P<uai>[0-9]{7}[A-Z])-(?P<code>[A-Z]+),",
        },
        {"name": "clubs", "person_attribute": "isMemberOf", "pattern": r"^club:(?P<uai>[^:]+):"},
    ]
    groups = [
        Entry("cn=0999901Z-SPORT,ou=groups,dc=x", {"cn": ["0999901Z-SPORT"], "memberuid": ["e2"]}),
    ]

    (lycee, _) = group_read([s1, s2], groups, tables).values()

    assert members(lycee) == {
        # E1 by its memberOf DN, E2 by the group's memberUid (uids compared without case).
        ("farm:0999901Z:posix:SPORT", "sdet:E1"),
        ("farm:0999901Z:posix:SPORT", "sdet:E2"),
        # No group entries for the clubs: the value is the group, its code the whole name.
        ("farm:0999901Z:clubs:club:0999901Z:ECHECS", "sdet:E2"),
    }


def test_unique_members_and_groups_named_by_the_schools_siret() -> None:
    s1 = student("E1", COLLEGE_DN, "3EME1", "3EME")
    groups = [
        Entry(
            f"cn=CHORALE,ou=groups,{COLLEGE_DN}",
            {
                "objectclass": ["groupOfUniqueNames"],
                "cn": ["CHORALE"],
                "uniquemember": ["uid=E1,ou=people,dc=x#'0101'B"],
            },
        )
    ]
    table = {
        "name": "clubs",
        "base": "ou=structures,dc=x",
        "member_attribute": "uniqueMember",
        "match_on": "dn",
        # The group sits under its school, whose RDN is a SIRET, not a UAI.
        "pattern": r"ENTStructureSIREN=(?P<uai>[0-9]{14}),",
    }

    snapshots = group_read([s1], groups, [table])

    assert members(snapshots[COLLEGE]) == {("farm:0999902A:clubs:CHORALE", "sdet:E1")}
    assert not snapshots[LYCEE].cohorts
