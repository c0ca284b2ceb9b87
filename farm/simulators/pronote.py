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
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from lxml import etree

from farm.pronote.identity import fold_name
from farm.pronote.records import Population
from farm.pronote.settings import IdpnFormat
from farm.simulators.directory import GeneratedDirectory, GeneratedPerson
from farm.simulators.lexicon import FIRST_NAMES, LAST_NAMES
from farm.sources.sdet.mapping import parse_date

_KIND = {
    Population.PUPILS: "student",
    Population.TEACHERS: "teacher",
    Population.STAFF: "staff",
    Population.GUARDIANS: "parent",
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
    population: Population
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
            parsed = parse_date(values[0])
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


def _key(person: GeneratedPerson, population: Population, born: date | None) -> tuple[object, ...]:
    names = (fold_name(person.lastname), fold_name(person.firstname))
    return (*names, born) if population is Population.PUPILS else names


def generate_idpn(
    directory: GeneratedDirectory,
    uais: Sequence[str],
    *,
    seed: int = 0,
    shares: PronoteShares | None = None,
    partner: str = "KOSMOS",
    exported_at: datetime | None = None,
    names: IdpnFormat | None = None,
    namespace: str = "",
) -> GeneratedIdpn:
    """The full and partial exports of ``uais``' Pronote base; see the module docstring."""
    shares = shares or PronoteShares()
    names = names or IdpnFormat()
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
    for population in Population:
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
            undated = population is Population.PUPILS and born is None
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
            truth[name][population.value] = {
                key: counts.get(key, 0)
                for key in ("matched", "unmatched_file", "ambiguous", "unmatched_farm")
            }
    etabs = {e.uai: e for e in directory.establishments}
    named = [(uai, etabs[uai].name) for uai in uais]
    when = exported_at or datetime(2026, 9, 1, 8, 39)
    return GeneratedIdpn(
        uais=tuple(uais),
        full=write_idpn(full, named, names, partner, when, "full", namespace),
        partial=write_idpn(partial, named, names, partner, when, "partial", namespace),
        truth=truth,
        newcomers=tuple(newcomers),
    )


def write_idpn(
    people: Sequence[_Listed],
    establishments: Sequence[tuple[str, str]],
    names: IdpnFormat,
    partner: str,
    exported_at: datetime,
    mode: str,
    namespace: str = "",
) -> bytes:
    """An IdPN document in ``names``' first names, values as attributes."""

    def tag(local: str) -> str:
        return f"{{{namespace}}}{local}" if namespace else local

    nsmap: dict[str | None, str] | None = {None: namespace} if namespace else None
    root = etree.Element(tag(names.roots[0]), nsmap=nsmap)  # type: ignore[arg-type]  # None: default
    root.set(names.partner[0], partner)
    root.set(names.date[0], exported_at.isoformat(timespec="seconds"))
    root.set(names.mode[0], names.full_values[0] if mode == "full" else names.partial_values[0])
    container = etree.SubElement(root, tag(names.establishments.container[0]))
    for uai, label in establishments:
        etree.SubElement(
            container,
            tag(names.establishments.person[0]),
            {names.establishment_uai[0]: uai, names.establishment_name[0]: label},
        )
    for population in Population:
        mine = [p for p in people if p.population is population]
        if not mine:
            continue
        where = names.population(population)
        container = etree.SubElement(root, tag(where.container[0]))
        for person in mine:
            element = etree.SubElement(container, tag(where.person[0]))
            element.set(names.pronote_id[0], person.pronote_id)
            element.set(names.lastname[0], person.lastname)
            element.set(names.firstname[0], person.firstname)
            if person.birth_date is not None and population is Population.PUPILS:
                element.set(names.birth_date[0], person.birth_date.isoformat())
            if person.directory_id:
                element.set(names.directory_id[0], person.directory_id)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
