"""Matching file people with a tenant's people: matched, unmatched or ambiguous, never guessed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from farm.model import Profile
from farm.pronote.identity import fold_name
from farm.pronote.matching import Outcome, match_people
from farm.pronote.parser import read_pronote_file
from farm.pronote.records import Method, Population
from farm.simulators.directory import generate
from farm.simulators.pronote import PronoteShares, generate_idpn
from tests.unit.pronote.people import A, B, farm_people, farmer, link, listed

BORN = date(2011, 3, 4)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Jean-Pierre", "JEAN PIERRE"),
        ("Hélène", "helene"),
        ("D'ALEMBERT", "d alembert"),
        ("Œdipe", "OEDIPE"),
        ("  Le  Goff ", "LE-GOFF"),
    ],
)
def test_names_fold_case_accents_ligatures_and_separators(one: str, other: str) -> None:
    assert fold_name(one) == fold_name(other)


def test_folding_forgives_nothing_else() -> None:
    assert fold_name("Jean Pierre") != fold_name("Pierre Jean")
    assert fold_name("Marie-Hélène") != fold_name("Marie")


def test_a_pupil_matches_on_folded_names_and_birth_date() -> None:
    people = [farmer("E1", "Le Goff", "Zoé", born=BORN), farmer("E2", "LE GOFF", "Zoé")]
    (found,) = match_people(
        [listed("1", "LE-GOFF", "ZOE", born=BORN)], people, tenants=[A]
    ).file_side
    assert found.outcome is Outcome.MATCHED
    assert found.method is Method.NAMES_BIRTH_DATE
    assert found.match is not None
    assert found.match.source_key == "sdet:E1"


def test_homonym_pupils_born_the_same_day_are_ambiguous_with_both_as_candidates() -> None:
    people = [farmer("E1", "MARTIN", "Léa", born=BORN), farmer("E2", "Martin", "Lea", born=BORN)]
    (found,) = match_people(
        [listed("1", "MARTIN", "Léa", born=BORN)], people, tenants=[A]
    ).file_side
    assert found.outcome is Outcome.AMBIGUOUS
    assert {c.source_key for c in found.candidates} == {"sdet:E1", "sdet:E2"}
    assert found.match is None


def test_a_pupil_without_birth_date_is_never_matched_on_names_alone() -> None:
    people = [farmer("E1", "MARTIN", "Léa", born=BORN)]
    (found,) = match_people([listed("1", "MARTIN", "Léa")], people, tenants=[A]).file_side
    assert found.outcome is Outcome.UNMATCHED
    assert "no birth date" in found.reason
    assert [c.source_key for c in found.candidates] == ["sdet:E1"]


def test_the_same_names_with_another_birth_date_is_unmatched_with_the_candidate() -> None:
    people = [farmer("E1", "MARTIN", "Léa", born=BORN)]
    (found,) = match_people(
        [listed("1", "MARTIN", "Léa", born=date(2011, 4, 3))], people, tenants=[A]
    ).file_side
    assert found.outcome is Outcome.UNMATCHED
    assert "another birth date" in found.reason
    assert [c.source_key for c in found.candidates] == ["sdet:E1"]


def test_adults_match_on_names_and_profile() -> None:
    people = [
        farmer("T1", "DURAND", "Cécile", Profile.TEACHER),
        farmer("P1", "DURAND", "Cécile", Profile.PARENT),
    ]
    result = match_people(
        [
            listed("1", "DURAND", "Cecile", Population.TEACHERS),
            listed("2", "DURAND", "Cecile", Population.GUARDIANS),
            listed("3", "DURAND", "Cecile", Population.STAFF),
        ],
        people,
        tenants=[A],
    )
    teacher, guardian, staff = result.file_side
    assert teacher.match is not None
    assert teacher.match.source_key == "sdet:T1"
    assert teacher.method is Method.NAMES_PROFILE
    assert guardian.match is not None
    assert guardian.match.source_key == "sdet:P1"
    assert staff.outcome is Outcome.UNMATCHED


def test_the_directory_identifier_wins_over_names_and_an_unknown_one_falls_back() -> None:
    people = [
        farmer("T1", "DURAND", "Cécile", Profile.TEACHER),
        farmer("T2", "DURAND", "Cécile", Profile.TEACHER),
    ]
    by_id, old_ent, wrong = match_people(
        [
            listed("1", "DURAND", "Cécile", Population.TEACHERS, directory_id="t2"),
            listed("2", "BERNARD", "Loïc", Population.TEACHERS, directory_id="old-ent-42"),
            listed("3", "DURAND", "Cécile", Population.GUARDIANS, directory_id="T1"),
        ],
        people,
        tenants=[A],
    ).file_side
    assert by_id.method is Method.DIRECTORY_ID
    assert by_id.match is not None
    assert by_id.match.source_key == "sdet:T2"
    assert old_ent.outcome is Outcome.UNMATCHED
    assert "no teacher of these names" in old_ent.reason
    assert wrong.outcome is Outcome.UNMATCHED
    assert "not a guardian" in wrong.reason


def test_the_ine_matches_a_pupil_whose_names_changed() -> None:
    people = [farmer("E1", "MARTIN-DURAND", "Léa", born=BORN, ine="123456789AB")]
    (found,) = match_people(
        [listed("1", "MARTIN", "Léa", ine="123456789ab")], people, tenants=[A]
    ).file_side
    assert found.method is Method.INE


def test_an_existing_link_settles_homonyms_an_earlier_operator_linked_by_hand() -> None:
    people = [farmer("E1", "MARTIN", "Léa", born=BORN), farmer("E2", "MARTIN", "Léa", born=BORN)]
    earlier = [link("sdet:E2", "1", method=Method.MANUAL)]
    (found,) = match_people(
        [listed("1", "MARTIN", "Léa", born=BORN)], people, earlier, tenants=[A]
    ).file_side
    assert found.method is Method.LINK
    assert found.match is not None
    assert found.match.source_key == "sdet:E2"


def test_two_file_people_claiming_one_person_are_both_ambiguous() -> None:
    people = [farmer("E1", "MARTIN", "Léa", born=BORN)]
    result = match_people(
        [listed("1", "MARTIN", "Léa", born=BORN), listed("2", "MARTIN", "LEA", born=BORN)],
        people,
        tenants=[A],
    )
    assert [m.outcome for m in result.file_side] == [Outcome.AMBIGUOUS, Outcome.AMBIGUOUS]
    assert "1, 2" in result.file_side[0].reason
    # Nobody took the person: the farm side lists them, with both file people close.
    (loose,) = result.farm_side
    assert loose.person.source_key == "sdet:E1"
    assert {p.pronote_id for p in loose.candidates} == {"1", "2"}


def test_unmatched_people_get_their_closest_candidates_on_both_sides() -> None:
    people = [farmer("E1", "MARTINEZ", "Léa", born=BORN), farmer("E9", "ZYX", "Abc", born=BORN)]
    result = match_people([listed("1", "MARTINES", "Léa", born=BORN)], people, tenants=[A])
    (found,) = result.file_side
    assert found.outcome is Outcome.UNMATCHED
    assert [c.source_key for c in found.candidates] == ["sdet:E1"]
    farm_side = {u.person.source_key: u for u in result.farm_side}
    assert [p.pronote_id for p in farm_side["sdet:E1"].candidates] == ["1"]
    assert farm_side["sdet:E9"].candidates == ()


def test_someone_linked_earlier_but_not_matched_now_says_so() -> None:
    people = [farmer("E1", "MARTIN", "Léa", born=BORN)]
    result = match_people([], people, [link("sdet:E1", "7")], tenants=[A])
    (loose,) = result.farm_side
    assert loose.linked == "7"


def test_a_file_person_of_another_establishment_is_out_of_scope() -> None:
    people = [farmer("E1", "MARTIN", "Léa", born=BORN, tenants=[A, B])]
    result = match_people(
        [
            listed("1", "MARTIN", "Léa", born=BORN, establishment="0999999Z"),
            listed("2", "MARTIN", "Léa", born=BORN, establishment=B),
        ],
        people,
        tenants=[A, B],
    )
    assert [p.pronote_id for p in result.out_of_scope] == ["1"]
    (found,) = result.file_side
    assert found.outcome is Outcome.MATCHED


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("which", ["full", "partial"])
def test_generated_files_of_a_cite_scolaire_match_as_their_truth_says(
    tmp_path: Path, seed: int, which: str
) -> None:
    directory = generate(6, 1800, seed=7)
    uais = directory.cites[0]
    generated = generate_idpn(
        directory, uais, seed=seed, shares=PronoteShares(ambiguous=0.05, directory_id=0.3)
    )
    path = tmp_path / f"IdPN_To_KOSMOS-{which}.xml"
    path.write_bytes(getattr(generated, which))
    read = read_pronote_file(path)
    result = match_people(read.people, farm_people(directory, uais), tenants=uais)
    counts = {p.value: result.counts(p) for p in Population}
    assert counts == generated.truth[which]
    # Every outcome occurs, so the comparison above means something.
    total = {k: sum(c[k] for c in counts.values()) for k in counts["pupils"]}
    assert all(total[k] > 0 for k in ("matched", "unmatched_file", "ambiguous", "unmatched_farm"))
