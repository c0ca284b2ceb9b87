"""One cell of a staff row read as its field says: civilité, dates, postal codes, logins...

Each reader takes the cell's text and returns the value to keep, or raises
:class:`ValueError` whose message is the reason shown in the problems table.
:class:`Fixed` is returned when the value was usable only once fixed (a
postal code that lost its leading zero): the row is kept, with a warning.

The formats are the seed's (004, §4.1.A): civilité ``Monsieur``/``M``/``Mr``,
``Madame``/``Mme``, ``Mademoiselle``/``Mlle``/``Melle``; dates ``dd/mm/yyyy``
or ``dd/mm/yy``; postal codes that begin with 0 written with a leading
apostrophe (``'06000``), which Excel needs to keep the zero; passwords of at
least 3 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from farm.staff.fields import fold

CIVILITIES: Final = {
    "monsieur": "M.",
    "m": "M.",
    "mr": "M.",
    "madame": "Mme",
    "mme": "Mme",
    "mademoiselle": "Mlle",
    "mlle": "Mlle",
    "melle": "Mlle",
}
"""Folded civilité (dots dropped) -> the form the farm keeps."""

MIN_PASSWORD: Final = 3
MAX_NAME: Final = 100  # Moodle's firstname, lastname, username and email columns
MAX_TEXT: Final = 255
MIN_AGE: Final = 14
"""A two-digit year is read in the century that makes the person at least this old."""

_DATE: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
_LOGIN: Final = re.compile(r"[-.@_a-z0-9]+")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_POSTCODE: Final = re.compile(r"\d{5}")
_EXCEL_TEXT: Final = re.compile(r'="(.*)"')
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Fixed:
    """A value kept once fixed, and what was fixed (a warning of the problems table)."""

    value: str
    warning: str


def control_character(text: str) -> str | None:
    """Why ``text`` cannot be kept (a control character), or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return f"control character U+{ord(found.group()):04X} at character {found.start() + 1}"


def name(text: str, *, limit: int = MAX_NAME) -> str:
    """A name or label: surrounding spaces dropped, inner runs of spaces made one."""
    value = " ".join(text.split())
    if len(value) > limit:
        raise ValueError(f"{len(value)} characters long: Moodle keeps {limit}")
    return value


def civility(text: str) -> str:
    """``M.``, ``Mme`` or ``Mlle`` from any of the seed's spellings."""
    key = fold(text).replace(".", "").strip()
    found = CIVILITIES.get(key)
    if found is None:
        raise ValueError(
            "not a civilité: Monsieur, M, Mr, Madame, Mme, Mademoiselle, Mlle or Melle"
        )
    return found


def birthdate(text: str, today: date) -> date:
    """A date written ``dd/mm/yyyy`` or ``dd/mm/yy``, in the past."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise ValueError("not a date: write dd/mm/yyyy or dd/mm/yy")
    day, month, year = (int(part) for part in match.groups())
    if len(match.group(3)) == 2:
        year += 2000 if 2000 + year <= today.year - MIN_AGE else 1900
    try:
        value = date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"no such date ({exc})") from None
    if value >= today:
        raise ValueError("a birth date in the future")
    if value.year < 1900:
        raise ValueError("a birth date before 1900")
    return value


def excel_text(text: str) -> str:
    """A number Excel was told to keep as text: ``'06000`` or ``="06000"`` -> ``06000``."""
    value = text.strip()
    if value.startswith("'"):
        return value[1:].strip()
    match = _EXCEL_TEXT.fullmatch(value)
    return match.group(1).strip() if match else value


def postcode(text: str) -> str | Fixed:
    """A French postal code kept as text, its leading zero with it."""
    value = excel_text(text)
    if _POSTCODE.fullmatch(value):
        return value
    if value.isdigit() and len(value) == 4:
        return Fixed(
            "0" + value,
            f"4 digits: the leading zero was lost, read as 0{value} "
            f"(write '0{value} to keep it in Excel)",
        )
    return Fixed(value, "not a French postal code (5 digits): kept as written")


def login(text: str) -> str:
    """A Moodle username: lowercase letters, digits and ``- . _ @``."""
    value = text.strip().lower()
    if not _LOGIN.fullmatch(value):
        raise ValueError("a login has only letters a-z, digits and - . _ @ (no spaces or accents)")
    if len(value) > MAX_NAME:
        raise ValueError(f"{len(value)} characters long: Moodle keeps {MAX_NAME}")
    return value


def password(text: str) -> str:
    if len(text) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    return text


def email(text: str) -> str:
    value = text.strip()
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an e-mail address")
    if len(value) > MAX_NAME:
        raise ValueError(f"{len(value)} characters long: Moodle keeps {MAX_NAME}")
    return value
