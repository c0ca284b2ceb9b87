"""Sync keys of people imported from staff files: the seed's rule, stable for life.

Seed 004 (§4.1.A.C) makes the key of a teacher or a staff member from the
civility slot, the first name and the last name: ``PERSON.m-mme`` followed by
the first name and the last name, lowercased, whatever the person's civilité
(the slot is the constant ``m-mme``, so correcting a ``Mlle`` into ``Mme``
does not make a new person). Martin Dupont is ``PERSON.m-mmemartindupont``.

Here the names are folded before they are joined: accents removed,
ligatures spelled out, case folded, and everything that is not a letter or a
digit dropped (spaces, hyphens, apostrophes), so ``Jean-Pierre L'Hôte`` and
``JEAN PIERRE LHOTE`` are one key: ``PERSON.m-mmejeanpierrelhote``. Letters
of other scripts are kept as they are.

The key never changes once made: it is the person's identity in the farm
(their source key is :data:`SOURCE_KEY_PREFIX` + the key) and it goes into
the account's idnumber. A name corrected in a later file therefore makes a
new key, hence a new person; the old account is found again by
reconciliation, as the seed's §7 does by hand.

**Homonyms.** Two different people with the same first and last name get
the same key, in one file as across files of the same site. The seed's rule
applies: the first row wins, and the second only adds its establishment
(and its subject or function) to the first; the check reports the second
row as merged, naming both lines, so that an operator sees a homonym instead
of losing one silently. Two real homonyms can only be imported apart by
spelling one name differently (a second first name, say), and that
spelling must then be kept for good.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from farm.staff.fields import fold

SYNC_KEY_PREFIX: Final = "PERSON.m-mme"
SOURCE_KEY_PREFIX: Final = "csv:"
"""Source keys of imported people: ``csv:PERSON.m-mmemartindupont``."""

_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]+")


def fold_name(text: str) -> str:
    """A name as it goes into a key: folded, letters and digits only."""
    folded = fold(text)
    if folded.isascii():
        return _NOT_ALNUM.sub("", folded)
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))


def sync_key(firstname: str, lastname: str) -> str:
    """``PERSON.m-mme`` + first name + last name, folded (see the module's rule)."""
    return key_and_names(firstname, lastname)[0]


def key_and_names(firstname: str, lastname: str) -> tuple[str, str, str]:
    """The sync key, and the first and last names as folded into it (empty: no letter)."""
    first, last = fold_name(firstname), fold_name(lastname)
    return f"{SYNC_KEY_PREFIX}{first}{last}", first, last


def source_key(key: str) -> str:
    """The farm's source key of the person whose sync key is ``key``."""
    return f"{SOURCE_KEY_PREFIX}{key}"
