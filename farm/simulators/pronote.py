"""Generated Pronote identifier files (IdPN exports) for a generated directory, and their truth.

:func:`generate_idpn` writes, for some establishments of a
:class:`~farm.simulators.directory.GeneratedDirectory` (a cité scolaire's
two, say), the full export a school makes at the start of the year and the
partial one it makes for newcomers, in the inferred IdPN format
(docs/pronote.md). Shares say how many people are left out of the full
file (the newcomers), how many file people match nobody, how many are
duplicated (a pupil entered twice in Pronote: both copies are ambiguous)
and how many carry their ENT identifier. Names are written as Pronote
writes them (surnames in capitals, some accents dropped, hyphens as
spaces), which matching must see through.

:attr:`GeneratedIdpn.truth` says what a correct matcher finds, per file and
population: ``matched``, ``unmatched_file``, ``ambiguous`` and
``unmatched_farm``. It is computed from the generated directory with the
simple rules of the docs (a person whose folded names, and birth date for
pupils, are shared by another person of the same population is ambiguous
unless the file carries their ENT identifier), not by the farm's matcher.

Like every simulator it keeps its own knowledge and imports nothing of the
client: the element names are those docs/pronote.md gives, the names are
folded with its own rule, and birth dates are read the two ways the
generated directory writes them.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from lxml import etree

from farm.simulators.directory import GeneratedDirectory, GeneratedPerson
from farm.simulators.lexicon import FIRST_NAMES, LAST_NAMES

#: Pronote's four populations, by the names docs/pronote.md reports them under.
PUPILS, TEACHERS, STAFF, GUARDIANS = "pupils", "teachers", "staff", "guardians"
POPULATIONS = (PUPILS, TEACHERS, STAFF, GUARDIANS)
#: Where each population sits in an IdPN file, and its people's element (docs/pronote.md).
_ELEMENTS = {
    PUPILS: ("Eleves", "Eleve"),
    TEACHERS: ("Professeurs", "Professeur"),
    STAFF: ("Personnels", "Personnel"),
    GUARDIANS: ("Responsables", "Responsable"),
}
_NOT_LETTERS = re.compile(r"[^0-9a-z]+")


def _fold(text: str) -> str:
    """A name as docs/pronote.md compares them: no case, no accents, separators as one space."""
    plain = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "oe"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return _NOT_LETTERS.sub(" ", plain.casefold()).strip()


def _day(text: str) -> date | None:
    """A directory birth date, ``dd/mm/yyyy`` or ``yyyy-mm-dd`` (the generator writes both)."""
    try:
        if text[2:3] == "/":
            return date(int(text[6:10]), int(text[3:5]), int(text[:2]))
        return date.fromisoformat(text)
    except ValueError:
        return None


_KIND = {
    PUPILS: "student",
    TEACHERS: "teacher",
    STAFF: "staff",
    GUARDIANS: "parent",
}
#: Names no generated directory has: the people no one matches.
_STRANGERS = ("INCONNU", "ABSENT-DE-L'ENT", "NOUVEAU", "ÉTRANGER")


@dataclass(frozen=True, slots=True)
class PronoteShares:
    """How a generated file departs from the directory (each a share of a population)."""

    omitted: float = 0.10  # left out of the full file; the partial one lists them
    unmatched: float = 0.05  # extra file people nobody in the directory matches
    ambiguous: float = 0.03  # people entered twice in Pronote
    directory_id: float = 0.25  # people whose ENT identifier the file carries

    def __post_init__(self) -> None:
        for name in ("omitted", "unmatched", "ambiguous", "directory_id"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"share {name} must be between 0 and 1, got {value!r}")


@dataclass(frozen=True, slots=True)
class _Listed:
    population: str
    pronote_id: str
    lastname: str
    firstname: str
    birth_date: date | None
    directory_id: str | None = None


@dataclass(frozen=True)
class GeneratedIdpn:
    """A full and a partial IdPN export of ``uais``, and what matching them must find."""

    uais: tuple[str, ...]
    full: bytes
    partial: bytes
    truth: dict[str, dict[str, dict[str, int]]] = field(repr=False)
    newcomers: tuple[str, ...] = ()  # uids the partial file lists


def birth_dates(directory: GeneratedDirectory) -> dict[str, date]:
    """Every valid entry's birth date, by uid, as the directory holds it."""
    out: dict[str, date] = {}
    for _dn, attributes in directory.entries:
        values = attributes.get("ENTPersonDateNaissance")
        uid = attributes.get("uid")
        if values and uid:
            parsed = _day(values[0])
            if parsed is not None:
                out[uid[0]] = parsed
    return out


def _as_pronote_writes(text: str, rng: random.Random, *, surname: bool) -> str:
    """A name as a Pronote export might spell it: capitals, accents or hyphens dropped."""
    if surname:
        text = text.upper()
    roll = rng.random()
    if roll < 0.2:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    elif roll < 0.3:
        text = text.replace("-", " ")
    return text


def _key(person: GeneratedPerson, population: str, born: date | None) -> tuple[object, ...]:
    names = (_fold(person.lastname), _fold(person.firstname))
    return (*names, born) if population == PUPILS else names


def generate_idpn(
    directory: GeneratedDirectory,
    uais: Sequence[str],
    *,
    seed: int = 0,
    shares: PronoteShares | None = None,
    partner: str = "KOSMOS",
    exported_at: datetime | None = None,
    namespace: str = "",
) -> GeneratedIdpn:
    """The full and partial exports of ``uais``' Pronote base; see the module docstring."""
    shares = shares or PronoteShares()
    rng = random.Random(seed)
    wanted = set(uais)
    births = birth_dates(directory)
    people = [p for p in directory.people if p.valid and p.uais & wanted]
    used_ids: set[str] = set()

    def pronote_id() -> str:
        while True:
            value = f"{rng.getrandbits(40):010X}"
            if value not in used_ids:
                used_ids.add(value)
                return value

    full: list[_Listed] = []
    partial: list[_Listed] = []
    truth: dict[str, dict[str, dict[str, int]]] = {"full": {}, "partial": {}}
    newcomers: list[str] = []
    for population in POPULATIONS:
        pool = [p for p in people if _KIND[population] in p.kinds]
        keys = Counter(_key(p, population, births.get(p.uid)) for p in pool)
        full_counts = Counter[str]()
        partial_counts = Counter[str]()
        matched_full: set[str] = set()
        matched_partial: set[str] = set()
        plain: list[GeneratedPerson] = []
        for person in pool:
            born = births.get(person.uid)
            omitted = rng.random() < shares.omitted
            carries_id = rng.random() < shares.directory_id
            listed = _Listed(
                population,
                pronote_id(),
                _as_pronote_writes(person.lastname, rng, surname=True),
                _as_pronote_writes(person.firstname, rng, surname=False),
                born,
                person.uid if carries_id else None,
            )
            unique = keys[_key(person, population, born)] == 1
            undated = population == PUPILS and born is None
            matches = carries_id or (unique and not undated)
            (partial if omitted else full).append(listed)
            counts, matched = (
                (partial_counts, matched_partial) if omitted else (full_counts, matched_full)
            )
            if omitted:
                newcomers.append(person.uid)
            if matches:
                counts["matched"] += 1
                matched.add(person.uid)
                if not carries_id and not omitted:
                    plain.append(person)
            elif undated:
                counts["unmatched_file"] += 1  # pupils match on names and birth date
            else:
                counts["ambiguous"] += 1
        # People entered twice in Pronote: both copies claim one person, so neither links.
        twice = rng.sample(plain, min(len(plain), round(len(pool) * shares.ambiguous)))
        for person in twice:
            full.append(
                _Listed(
                    population,
                    pronote_id(),
                    person.lastname.upper(),
                    person.firstname,
                    births.get(person.uid),
                )
            )
            full_counts["matched"] -= 1
            full_counts["ambiguous"] += 2
            matched_full.discard(person.uid)
        for counts, target in ((full_counts, full), (partial_counts, partial)):
            strangers = max(1, round(len(pool) * shares.unmatched)) if pool else 0
            for k in range(strangers):
                surname = f"{_STRANGERS[k % len(_STRANGERS)]} {rng.choice(LAST_NAMES)}"
                target.append(
                    _Listed(
                        population,
                        pronote_id(),
                        surname,
                        rng.choice(FIRST_NAMES),
                        date(2010, 1 + k % 12, 1 + k % 28),
                    )
                )
                counts["unmatched_file"] += 1
        for counts, matched in ((full_counts, matched_full), (partial_counts, matched_partial)):
            counts["unmatched_farm"] = len(pool) - len(matched)
        for name, counts in (("full", full_counts), ("partial", partial_counts)):
            truth[name][population] = {
                key: counts.get(key, 0)
                for key in ("matched", "unmatched_file", "ambiguous", "unmatched_farm")
            }
    etabs = {e.uai: e for e in directory.establishments}
    named = [(uai, etabs[uai].name) for uai in uais]
    when = exported_at or datetime(2026, 9, 1, 8, 39)
    return GeneratedIdpn(
        uais=tuple(uais),
        full=write_idpn(full, named, partner, when, "full", namespace),
        partial=write_idpn(partial, named, partner, when, "partial", namespace),
        truth=truth,
        newcomers=tuple(newcomers),
    )


def write_idpn(
    people: Sequence[_Listed],
    establishments: Sequence[tuple[str, str]],
    partner: str,
    exported_at: datetime,
    mode: str,
    namespace: str = "",
) -> bytes:
    """An IdPN document with the element names of docs/pronote.md, values as attributes."""

    def tag(local: str) -> str:
        return f"{{{namespace}}}{local}" if namespace else local

    nsmap: dict[str | None, str] | None = {None: namespace} if namespace else None
    root = etree.Element(tag("PRONOTE_INDEX"), nsmap=nsmap)  # type: ignore[arg-type]  # None: default
    root.set("Partenaire", partner)
    root.set("Date", exported_at.isoformat(timespec="seconds"))
    root.set("Mode", "Complet" if mode == "full" else "Partiel")
    container = etree.SubElement(root, tag("Etablissements"))
    for uai, label in establishments:
        etree.SubElement(container, tag("Etablissement"), {"Numero": uai, "Nom": label})
    for population in POPULATIONS:
        mine = [p for p in people if p.population == population]
        if not mine:
            continue
        group, one = _ELEMENTS[population]
        container = etree.SubElement(root, tag(group))
        for person in mine:
            element = etree.SubElement(container, tag(one))
            element.set("IdPN", person.pronote_id)
            element.set("Nom", person.lastname)
            element.set("Prenom", person.firstname)
            if person.birth_date is not None and population == PUPILS:
                element.set("DateNaissance", person.birth_date.isoformat())
            if person.directory_id:
                element.set("IdentifiantENT", person.directory_id)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
