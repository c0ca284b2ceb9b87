"""The fields of a staff CSV file, the words headers use for them, and how headers are folded.

Two kinds of file exist (seed 004, §4.1.B): **teachers** (civilité, nom,
prénom and matière are mandatory) and **staff**, the non-teaching personnel
(civilité, nom, prénom and a function code are mandatory). Every other field
is optional and the same for both.

A header is matched to a field after folding: accents removed, case folded,
every run of non-letters a word break, and the words that only say *whose*
field it is (``enseignant``, ``du personnel administratif``, ``de l'``...)
dropped; what is left is looked up among each field's synonyms, folded the
same way. ``Civilité enseignant``, ``CIVILITE`` and ``civilite du personnel
administratif`` all fold to ``civilite``; ``Nom d'utilisateur de
l'enseignant`` to ``nomutilisateur``; ``Date de naissance`` to
``datenaissance``.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final


class StaffKind(StrEnum):
    """Which file this is: the seed's ``Enseignants`` or ``Personnel administratif``."""

    TEACHERS = "teachers"
    STAFF = "staff"

    @property
    def other(self) -> StaffKind:
        return StaffKind.STAFF if self is StaffKind.TEACHERS else StaffKind.TEACHERS


class StaffField(StrEnum):
    """One field of a staff row, named in the farm's own words."""

    SYNC_KEY = "sync_key"
    CIVILITY = "civility"
    LASTNAME = "lastname"
    FIRSTNAME = "firstname"
    SUBJECT = "subject"
    FUNCTION = "function"
    LOGIN = "login"
    PASSWORD = "password"  # noqa: S105 - the field's name, not a password
    UAI = "uai"
    ADDRESS = "address"
    POSTCODE = "postcode"
    CITY = "city"
    PHONE = "phone"
    MOBILE = "mobile"
    EMAIL = "email"
    BIRTHDATE = "birthdate"
    USERTYPE = "usertype"


MANDATORY: Final[dict[StaffKind, tuple[StaffField, ...]]] = {
    StaffKind.TEACHERS: (
        StaffField.CIVILITY,
        StaffField.LASTNAME,
        StaffField.FIRSTNAME,
        StaffField.SUBJECT,
    ),
    StaffKind.STAFF: (
        StaffField.CIVILITY,
        StaffField.LASTNAME,
        StaffField.FIRSTNAME,
        StaffField.FUNCTION,
    ),
}
"""The seed's mandatory fields of each kind of file (§4.1.B)."""

POSITIONAL: Final[dict[StaffKind, tuple[StaffField, ...]]] = {
    StaffKind.TEACHERS: (
        *MANDATORY[StaffKind.TEACHERS],
        StaffField.LOGIN,
        StaffField.PASSWORD,
        StaffField.ADDRESS,
        StaffField.POSTCODE,
        StaffField.CITY,
        StaffField.PHONE,
        StaffField.MOBILE,
        StaffField.EMAIL,
        StaffField.BIRTHDATE,
    ),
    StaffKind.STAFF: (
        *MANDATORY[StaffKind.STAFF],
        StaffField.LOGIN,
        StaffField.PASSWORD,
        StaffField.UAI,
        StaffField.ADDRESS,
        StaffField.POSTCODE,
        StaffField.CITY,
        StaffField.PHONE,
        StaffField.MOBILE,
        StaffField.EMAIL,
    ),
}
"""Column order of a file without a header: the seed's field lists, mandatory ones first."""

NOT_FOR: Final[dict[StaffField, StaffKind]] = {
    StaffField.SUBJECT: StaffKind.STAFF,
    StaffField.FUNCTION: StaffKind.TEACHERS,
}
"""Fields a kind of file lacks: a staff file has no subject, a teachers file no function."""

_SYNONYMS: Final[dict[StaffField, tuple[str, ...]]] = {
    StaffField.SYNC_KEY: ("cle synchro", "cle de synchronisation", "sync key", "cle"),
    StaffField.CIVILITY: ("civilite", "civ", "titre", "civility", "title", "m mme"),
    StaffField.LASTNAME: (
        "nom",
        "nom de famille",
        "nom d'usage",
        "nom usuel",
        "patronyme",
        "lastname",
        "last name",
        "surname",
        "family name",
        "sn",
    ),
    StaffField.FIRSTNAME: (
        "prenom",
        "prenom usuel",
        "firstname",
        "first name",
        "given name",
        "givenname",
    ),
    StaffField.SUBJECT: ("matiere", "matiere enseignee", "discipline", "subject"),
    StaffField.FUNCTION: (
        "fonction",
        "fonction code",
        "code fonction",
        "fonction filiere",
        "filiere",
        "function",
        "function code",
    ),
    StaffField.LOGIN: (
        "nom d'utilisateur",
        "utilisateur",
        "login",
        "identifiant",
        "username",
        "user name",
    ),
    StaffField.PASSWORD: ("mot de passe", "mdp", "password", "passwd"),
    StaffField.UAI: ("rne", "uai", "code rne", "code uai", "etablissement", "code etablissement"),
    StaffField.ADDRESS: ("adresse", "adresse postale", "rue", "address"),
    StaffField.POSTCODE: ("code postal", "cp", "postcode", "postal code", "zip", "zip code"),
    StaffField.CITY: ("ville", "commune", "localite", "city", "town"),
    StaffField.PHONE: (
        "telephone fixe",
        "telephone",
        "tel",
        "tel fixe",
        "fixe",
        "phone",
        "phone1",
    ),
    StaffField.MOBILE: (
        "telephone portable",
        "portable",
        "tel portable",
        "telephone mobile",
        "mobile",
        "gsm",
        "phone2",
    ),
    StaffField.EMAIL: (
        "adresse e-mail",
        "adresse email",
        "adresse mail",
        "e-mail",
        "email",
        "mail",
        "courriel",
    ),
    StaffField.BIRTHDATE: (
        "date de naissance",
        "naissance",
        "ne le",
        "nee le",
        "date naissance",
        "ddn",
        "birthdate",
        "birth date",
        "date of birth",
    ),
    StaffField.USERTYPE: (
        "usertype",
        "type utilisateur",
        "type d'usager",
        "netypareo usertype",
        "profil usertype",
    ),
}

#: Words that say whose field it is; they are dropped before the synonyms are looked up.
_OWNER_WORDS: Final = frozenset(
    {
        "enseignant",
        "enseignants",
        "enseignante",
        "professeur",
        "prof",
        "personnel",
        "personnels",
        "administratif",
        "administratifs",
        "administrative",
        "du",
        "de",
        "des",
        "d",
        "l",
        "la",
        "le",
        "les",
    }
)

#: Words of a header that say which kind of file it belongs to.
KIND_WORDS: Final[dict[str, frozenset[str]]] = {
    StaffKind.TEACHERS: frozenset({"enseignant", "enseignants", "enseignante", "professeur"}),
    StaffKind.STAFF: frozenset({"administratif", "administratifs", "administrative"}),
    "students": frozenset({"eleve", "eleves", "apprenant", "apprenants", "etudiant"}),
    "parents": frozenset({"parent", "parents", "responsable", "responsables"}),
}

_WORD_BREAK: Final = re.compile(r"[^0-9a-z]+")
_LIGATURES: Final = str.maketrans({"œ": "oe", "æ": "ae", "Œ": "oe", "Æ": "ae"})


def fold(text: str) -> str:
    """``text`` without accents, case folded, with ligatures spelled out (``Œ`` -> ``oe``)."""
    if text.isascii():
        return text.lower()  # most names: the same result, ten times faster
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def header_words(text: str) -> list[str]:
    """The words of a header once folded (``Nom d'utilisateur`` -> ``nom d utilisateur``)."""
    return [word for word in _WORD_BREAK.split(fold(text)) if word]


def header_key(text: str) -> str:
    """A header folded for look-up: its words without the owner words, run together."""
    words = header_words(text)
    kept = [word for word in words if word not in _OWNER_WORDS]
    # A header made only of owner words ("Enseignant") keeps them: it names something.
    return "".join(kept or words)


def _lookup() -> dict[str, StaffField]:
    table: dict[str, StaffField] = {}
    for staff_field, synonyms in _SYNONYMS.items():
        for synonym in (staff_field.value, *synonyms):
            key = header_key(synonym)
            if table.get(key, staff_field) is not staff_field:  # pragma: no cover - table typo
                raise AssertionError(f"synonym {synonym!r} names two fields")
            table[key] = staff_field
    return table


_LOOKUP: Final = _lookup()


def field_of_header(text: str) -> StaffField | None:
    """The field a header names, or None when no synonym matches."""
    return _LOOKUP.get(header_key(text))


def synonyms(staff_field: StaffField) -> tuple[str, ...]:
    """The header words recognised for a field (as the documentation lists them)."""
    return _SYNONYMS[staff_field]
