"""The ``PARTENAIRE_INDEX`` export (RapprochementSSO v2.0): the ENT's people, for Pronote.

Index Education's schema says what Pronote needs to link its users to the
ENT's identifiers: the establishments (and which of them Pronote manages),
then staff, teachers, guardians and pupils, each with a file-local
``Ident``, names and ``ID_Partenaire`` (the identifier the ENT's CAS
releases, taken from the ``partner_id`` person attribute), pupils with their
birth date (required) and their guardians' ``Ident``.

:func:`plan_partner_index` decides who goes in: a person missing a required
value is listed in :attr:`PartnerIndex.left_out` with what is missing, and
left out; nothing is ever invented. A guardian link to someone left out is
dropped and listed too. :func:`write_partner_index` then writes the
document; ``tests/unit/pronote/test_partner_index.py`` validates what it
writes against the schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from farm.model import Person
from farm.pronote.identity import FarmPerson
from farm.pronote.parser import PARTNER_INDEX_NAMESPACE
from farm.pronote.records import Population
from farm.pronote.settings import PronoteSettings

#: The containers of the document, in the schema's order.
_CONTAINERS = (
    (Population.STAFF, "Personnels", "Personnel"),
    (Population.TEACHERS, "Professeurs", "Professeur"),
    (Population.GUARDIANS, "Responsables", "Responsable"),
    (Population.PUPILS, "Eleves", "Eleve"),
)


class ExportError(Exception):
    """The document cannot be made at all (no partner id, no establishment)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One person of the document: their ``Ident``, values and, for pupils, guardians' Idents."""

    population: Population
    ident: int
    source_key: str
    lastname: str
    firstname: str
    partner_id: str
    birth_date: date | None = None
    ine: str | None = None
    guardians: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A person (or a guardian link) not exported, and why."""

    population: Population
    source_key: str
    name: str
    missing: str

    def __str__(self) -> str:
        return f"{self.population.singular} {self.source_key} ({self.name}): {self.missing}"


@dataclass(frozen=True)
class PartnerIndex:
    """What the document will hold: establishments (UAI, name), entries, and who was left out."""

    partner: str
    at: datetime
    establishments: tuple[tuple[str, str], ...]
    entries: tuple[Entry, ...]
    left_out: tuple[LeftOut, ...] = ()
    protocol: str | None = "CAS"
    dropped_links: tuple[LeftOut, ...] = field(default=())

    def count(self, population: Population) -> int:
        return sum(1 for e in self.entries if e.population is population)


def plan_partner_index(
    establishments: Sequence[tuple[str, str]],
    people: Iterable[Person],
    guardians: Iterable[tuple[str, str]],
    settings: PronoteSettings,
    *,
    at: datetime,
    partner: str | None = None,
) -> PartnerIndex:
    """Who goes in the document; see the module docstring.

    ``establishments`` are (UAI, name) pairs; ``guardians`` pairs a
    guardian's source key with a pupil's. ``partner`` overrides the
    settings' partner id.
    """
    partner = partner or settings.partner
    if not partner:
        raise ExportError(
            "no partner id: PARTENAIRE_INDEX needs the id Index Education gave the ENT; "
            "pass --partner ID or set partner in farm.toml [pronote]"
        )
    if not establishments:
        raise ExportError("no establishment to export")
    left_out: list[LeftOut] = []
    chosen: list[tuple[Population, FarmPerson]] = []
    for person in sorted(people, key=lambda p: p.source_key):
        farm_person = FarmPerson.of(
            person,
            partner_id=settings.partner_id,
            birth_date_field=settings.birth_date_field,
            ine_field=settings.ine_field,
        )
        for population, _, _ in _CONTAINERS:
            if population.profile not in person.profiles:
                continue
            missing = [
                what
                for what, value in (
                    ("surname", farm_person.lastname.strip()),
                    ("first name", farm_person.firstname.strip()),
                    (f"ID_Partenaire ({settings.partner_id})", farm_person.partner_id),
                )
                if not value
            ]
            if population is Population.PUPILS and farm_person.birth_date is None:
                missing.append(f"birth date ({settings.birth_date_field})")
            if missing:
                left_out.append(
                    LeftOut(
                        population, person.source_key, farm_person.name, "no " + ", ".join(missing)
                    )
                )
                continue
            chosen.append((population, farm_person))
    idents: dict[tuple[Population, str], int] = {}
    for number, (population, farm_person) in enumerate(chosen, start=1):
        idents[(population, farm_person.source_key)] = number
    of_pupil: dict[str, list[int]] = {}
    dropped: list[LeftOut] = []
    pupils = {p.source_key: p for population, p in chosen if population is Population.PUPILS}
    for guardian, pupil in sorted(set(guardians)):
        if pupil not in pupils:
            continue
        ident = idents.get((Population.GUARDIANS, guardian))
        if ident is None:
            dropped.append(
                LeftOut(
                    Population.PUPILS,
                    pupil,
                    pupils[pupil].name,
                    f"guardian {guardian} is not in the document: link dropped",
                )
            )
            continue
        of_pupil.setdefault(pupil, []).append(ident)
    entries = tuple(
        Entry(
            population=population,
            ident=idents[(population, p.source_key)],
            source_key=p.source_key,
            lastname=p.lastname.strip(),
            firstname=p.firstname.strip(),
            partner_id=p.partner_id or "",
            birth_date=p.birth_date
            if population in (Population.PUPILS, Population.TEACHERS)
            else None,
            ine=p.ine if population is Population.PUPILS else None,
            guardians=tuple(sorted(of_pupil.get(p.source_key, ())))
            if population is Population.PUPILS
            else (),
        )
        for population, p in chosen
    )
    return PartnerIndex(
        partner=partner,
        at=at,
        establishments=tuple(establishments),
        entries=entries,
        left_out=tuple(left_out),
        protocol=settings.protocol,
        dropped_links=tuple(dropped),
    )


def write_partner_index(index: PartnerIndex) -> bytes:
    """The document as UTF-8 bytes, elements in the schema's order."""
    from lxml import etree

    def tag(local: str) -> str:
        return f"{{{PARTNER_INDEX_NAMESPACE}}}{local}"

    root = etree.Element(tag("PARTENAIRE_INDEX"), nsmap={None: PARTNER_INDEX_NAMESPACE})  # type: ignore[dict-item]
    root.set("Date", index.at.isoformat(timespec="seconds"))
    root.set("Partenaire", index.partner)
    if index.protocol:
        root.set("ProtocoleDelegationAuthentification", index.protocol)
    etabs = etree.SubElement(root, tag("Etablissements"))
    for number, (uai, name) in enumerate(index.establishments, start=1):
        etree.SubElement(
            etabs, tag("Etablissement"), {"Ident": str(number), "Numero": uai, "Nom": name or uai}
        )
    managed = etree.SubElement(root, tag("EtablissementsGeres"))
    for number in range(1, len(index.establishments) + 1):
        etree.SubElement(managed, tag("Etablissement"), {"Ident": str(number)})
    for population, container_name, person_name in _CONTAINERS:
        mine = [e for e in index.entries if e.population is population]
        if not mine:
            continue
        container = etree.SubElement(root, tag(container_name))
        for entry in mine:
            element = etree.SubElement(container, tag(person_name))
            element.set("Ident", str(entry.ident))
            element.set("Nom", entry.lastname)
            element.set("Prenom", entry.firstname)
            if entry.birth_date is not None:
                element.set("DateNaissance", entry.birth_date.isoformat())
            element.set("ID_Partenaire", entry.partner_id)
            if entry.ine:
                element.set("NumeroNational", entry.ine)
            for guardian in entry.guardians:
                etree.SubElement(element, tag("Responsable"), {"Ident": str(guardian)})
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
