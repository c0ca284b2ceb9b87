"""What identifies a person on both sides: folded names, the partner id, birth date and INE.

Names are compared folded: case, accents and ligatures dropped, and every
run of hyphens, apostrophes, dots or spaces made one space, so that
``Jean-Pierre`` meets ``JEAN PIERRE`` and ``D'Alembert`` meets ``D ALEMBERT``.
Nothing else is forgiven (no swapped names, no dropped middle names): a
near miss is a candidate for the operator, never a match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from farm.model import Person, Profile

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def fold_name(text: str) -> str:
    """``text`` folded for comparison (see the module docstring)."""
    plain = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", plain.casefold()).strip()


def partner_id_of(person: Person, attribute: str) -> str | None:
    """The person's value of a ``partner_id`` attribute (see PronoteSettings); None if empty."""
    if attribute == "uid":
        value = person.source_key.rpartition(":")[2]
    elif attribute == "source_key":
        value = person.source_key
    elif attribute == "username":
        value = person.username
    elif attribute == "idnumber":
        value = person.idnumber
    elif attribute == "email":
        value = person.email
    elif attribute.startswith("field:"):
        value = person.profile_fields.get(attribute.removeprefix("field:"), "")
    else:
        raise ValueError(f"unknown partner_id attribute {attribute!r}")
    value = value.strip()
    return value or None


def _iso_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class FarmPerson:
    """A tenant's person as matching sees them.

    ``partner_id`` is the value of the ``partner_id`` attribute;
    ``birth_date`` and ``ine`` come from the profile fields the Pronote read
    adds (``birth_date_field``, ``ine_field``).
    """

    source_key: str
    lastname: str
    firstname: str
    profiles: frozenset[Profile]
    establishments: frozenset[str]
    partner_id: str | None = None
    birth_date: date | None = None
    ine: str | None = None

    @property
    def name(self) -> str:
        return f"{self.lastname} {self.firstname}"

    @property
    def folded(self) -> tuple[str, str]:
        return fold_name(self.lastname), fold_name(self.firstname)

    @classmethod
    def of(
        cls,
        person: Person,
        *,
        partner_id: str = "uid",
        birth_date_field: str = "birthdate",
        ine_field: str = "ine",
    ) -> FarmPerson:
        ine = person.profile_fields.get(ine_field, "").strip().upper()
        return cls(
            source_key=person.source_key,
            lastname=person.lastname,
            firstname=person.firstname,
            profiles=person.profiles,
            establishments=person.establishments,
            partner_id=partner_id_of(person, partner_id),
            birth_date=_iso_date(person.profile_fields.get(birth_date_field)),
            ine=ine or None,
        )
