"""The seed's sync key: PERSON.m-mme + first name + last name, folded, whatever the civilité."""

from __future__ import annotations

from farm.staff.sync_keys import fold_name, source_key, sync_key


def test_the_seed_example() -> None:
    assert sync_key("Martin", "Dupont") == "PERSON.m-mmemartindupont"
    assert sync_key("Véronique", "BARBIER") == "PERSON.m-mmeveroniquebarbier"


def test_accents_case_spaces_hyphens_and_apostrophes_fold_away() -> None:
    assert sync_key("Jean-Pierre", "L'Hôte") == sync_key("JEAN PIERRE", "LHOTE")
    assert sync_key("Jean-Pierre", "L'Hôte") == "PERSON.m-mmejeanpierrelhote"
    assert fold_name("CŒUR") == "coeur"
    assert fold_name("Straße") == "strasse"


def test_letters_of_other_scripts_are_kept() -> None:
    assert fold_name("Иван") == "иван"
    assert sync_key("李", "王") == "PERSON.m-mme李王"


def test_homonyms_share_a_key_and_different_names_do_not() -> None:
    assert sync_key("Martin", "Dupont") == sync_key("MARTIN", "DUPONT")
    assert sync_key("Martin", "Dupont") != sync_key("Martine", "Dupont")


def test_the_source_key_names_the_source() -> None:
    assert source_key("PERSON.m-mmemartindupont") == "csv:PERSON.m-mmemartindupont"
