"""Cells read as the seed writes them: civilité, dates, postal codes, logins, passwords."""

from __future__ import annotations

from datetime import date

import pytest

from farm.staff import values

TODAY = date(2026, 9, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monsieur", "M."), ("M", "M."), ("M.", "M."), ("Mr", "M."), ("MR.", "M."),
        ("Madame", "Mme"), ("mme", "Mme"), ("Mme.", "Mme"),
        ("Mademoiselle", "Mlle"), ("Mlle", "Mlle"), ("Melle", "Mlle"), (" MELLE ", "Mlle"),
    ],
)  # fmt: skip
def test_every_spelling_of_the_seed_gives_one_civility(text: str, expected: str) -> None:
    assert values.civility(text) == expected


@pytest.mark.parametrize("text", ["Dr", "Mx", "Monsieur Madame", "=M"])
def test_other_civilities_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a civilité"):
        values.civility(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/03/1971", date(1971, 3, 12)),
        ("1/2/1980", date(1980, 2, 1)),
        ("27/01/56", date(1956, 1, 27)),
        ("05/06/04", date(2004, 6, 5)),  # 22 in 2026: this century
        ("05/06/15", date(1915, 6, 5)),  # 11 in 2026: too young, so the last century
    ],
)
def test_dates_are_read_day_first_with_two_or_four_digit_years(text: str, expected: date) -> None:
    assert values.birthdate(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1971-03-12", "write dd/mm/yyyy or dd/mm/yy"),
        ("12.03.1971", "write dd/mm/yyyy"),
        ("31/02/1980", "no such date"),
        ("13/13/1980", "no such date"),
        ("01/01/2030", "in the future"),
        ("01/01/1850", "before 1900"),
    ],
)
def test_wrong_dates_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        values.birthdate(text, TODAY)


def test_postal_codes_keep_their_zero_as_text() -> None:
    assert values.postcode("'06000") == "06000"
    assert values.postcode('="06000"') == "06000"
    assert values.postcode("34000") == "34000"


def test_a_postal_code_that_lost_its_zero_is_fixed_with_a_warning() -> None:
    fixed = values.postcode("6000")

    assert isinstance(fixed, values.Fixed)
    assert fixed.value == "06000"
    assert "the leading zero was lost" in fixed.warning


def test_logins_are_lowercased_and_limited_to_what_moodle_takes() -> None:
    assert values.login(" JDupont ") == "jdupont"
    with pytest.raises(ValueError, match="no spaces or accents"):
        values.login("jérôme")
    with pytest.raises(ValueError, match="Moodle keeps 100"):
        values.login("a" * 101)


def test_passwords_have_at_least_three_characters() -> None:
    assert values.password("abc") == "abc"
    with pytest.raises(ValueError, match="at least 3 characters"):
        values.password("ab")


def test_e_mail_addresses_and_names() -> None:
    assert values.email(" n.lavoisier@example.fr ") == "n.lavoisier@example.fr"
    with pytest.raises(ValueError, match="not an e-mail"):
        values.email("n.lavoisier@example")
    assert values.name("  Jean   Pierre ") == "Jean Pierre"
    with pytest.raises(ValueError, match="101 characters long"):
        values.name("x" * 101)


def test_control_characters_are_named_by_code_and_place() -> None:
    assert values.control_character("Jean\x07") == "control character U+0007 at character 5"
    assert values.control_character("\tJean\r\n") is None
