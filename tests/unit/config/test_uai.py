"""UAI check letters, checked against establishments whose UAI is published."""

from __future__ import annotations

import pytest

from farm.uai import UaiError, check_letter, is_uai, normalize_uai


@pytest.mark.parametrize(("digits", "letter"), [("0290009", "C"), ("0291595", "B")])
def test_check_letter_of_known_uais(digits: str, letter: str) -> None:
    assert check_letter(digits) == letter


def test_lowercase_is_accepted_and_stored_uppercase() -> None:
    assert normalize_uai("0291595b") == "0291595B"


def test_wrong_letter_names_the_expected_one() -> None:
    with pytest.raises(UaiError, match="0290009X has a wrong check letter: it should end in C"):
        normalize_uai("0290009X")


@pytest.mark.parametrize("text", ["", "0290009", " 0290009C", "0290009C ", "029000９C", "O290009C"])
def test_malformed_uais_are_refused(text: str) -> None:
    assert not is_uai(text)
