"""UAI (formerly RNE), the national identifier of a French establishment.

A UAI is seven digits and a check letter. The letter is the one at index
``n mod 23`` of ``ABCDEFGHJKLMNPRSTUVWXYZ`` (I, O and Q are left out), where
``n`` is the seven digits read as a number: ``0290009`` gives ``C``.
"""

from __future__ import annotations

import re
from typing import Final

CHECK_LETTERS: Final = "ABCDEFGHJKLMNPRSTUVWXYZ"
_SHAPE: Final = re.compile(r"[0-9]{7}[A-Za-z]")


class UaiError(ValueError):
    """A string is not a valid UAI; the message says why and what it should be."""


def check_letter(digits: str) -> str:
    """The check letter of seven digits."""
    if len(digits) != 7 or not digits.isascii() or not digits.isdigit():
        raise UaiError(f"{digits!r} is not seven digits")
    return CHECK_LETTERS[int(digits) % 23]


def normalize_uai(text: str) -> str:
    """Return ``text`` as an uppercase UAI, or raise :class:`UaiError`.

    Lowercase input is accepted because operators copy UAIs from many places;
    surrounding spaces are not, since they usually hide a copy-paste accident.
    """
    if not _SHAPE.fullmatch(text):
        raise UaiError(
            f"{text!r} is not a UAI: a UAI is 7 digits and a check letter, e.g. 0290009C"
        )
    digits, letter = text[:7], text[7].upper()
    expected = check_letter(digits)
    if letter != expected:
        raise UaiError(f"{digits}{letter} has a wrong check letter: it should end in {expected}")
    return digits + letter


def is_uai(text: str) -> bool:
    """Whether ``text`` is a valid UAI (any case)."""
    try:
        normalize_uai(text)
    except UaiError:
        return False
    return True
