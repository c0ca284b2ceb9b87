"""People for the Pronote tests: file people, farm people, links, and a generated directory's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from farm.model import Profile
from farm.pronote.identity import FarmPerson
from farm.pronote.records import Method, Population, PronoteLink, PronotePerson
from farm.simulators.directory import GeneratedDirectory
from farm.simulators.pronote import birth_dates

A, B = "0900001M", "0900038C"
AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

_PROFILES = {
    "student": Profile.STUDENT,
    "teacher": Profile.TEACHER,
    "staff": Profile.STAFF,
    "parent": Profile.PARENT,
}


def listed(
    pronote_id: str,
    lastname: str,
    firstname: str,
    population: Population = Population.PUPILS,
    *,
    born: date | None = None,
    ine: str | None = None,
    directory_id: str | None = None,
    establishment: str | None = None,
    line: int = 1,
) -> PronotePerson:
    return PronotePerson(
        population,
        pronote_id,
        lastname,
        firstname,
        line,
        birth_date=born,
        ine=ine,
        directory_id=directory_id,
        establishment=establishment,
    )


def farmer(
    uid: str,
    lastname: str,
    firstname: str,
    *profiles: Profile,
    born: date | None = None,
    ine: str | None = None,
    tenants: Iterable[str] = (A,),
) -> FarmPerson:
    return FarmPerson(
        source_key=f"sdet:{uid}",
        lastname=lastname,
        firstname=firstname,
        profiles=frozenset(profiles or (Profile.STUDENT,)),
        establishments=frozenset(tenants),
        partner_id=uid,
        birth_date=born,
        ine=ine,
    )


def link(
    source_key: str,
    pronote_id: str,
    *,
    tenant: str = A,
    population: Population = Population.PUPILS,
    method: Method = Method.NAMES_BIRTH_DATE,
) -> PronoteLink:
    return PronoteLink(tenant, source_key, population, pronote_id, method, "old.xml", "full", AT)


def farm_people(directory: GeneratedDirectory, uais: Iterable[str]) -> list[FarmPerson]:
    """The people an SDET read of ``uais`` gives, as matching sees them (uid as partner id)."""
    wanted = set(uais)
    born = birth_dates(directory)
    return [
        FarmPerson(
            source_key=f"sdet:{p.uid}",
            lastname=p.lastname,
            firstname=p.firstname,
            profiles=frozenset(_PROFILES[k] for k in p.kinds),
            establishments=frozenset(p.uais),
            partner_id=p.uid,
            birth_date=born.get(p.uid),
        )
        for p in directory.people
        if p.valid and p.uais & wanted
    ]
