"""Cohorts from levels and from group entries, built without a server."""

from __future__ import annotations

from farm.sources.sdet import MappingRules
from farm.sources.sdet.entries import Entry
from tests.unit.sdet.test_snapshots import COLLEGE, COLLEGE_DN, LYCEE, LYCEE_DN, person, read

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
