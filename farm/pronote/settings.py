"""Pronote settings: the inferred IdPN format, which person attribute is the partner id, limits.

They are the ``[pronote]`` table of farm.toml: :class:`farm.config` reads
and validates them with the rest of the farm (problems name the file, key
and line) and hands them out as ``Farm.pronote``; ``docs/pronote.md``
describes every key. Everything has a default, so a farm needs no
``[pronote]`` table at all. Element and attribute names are local names
(namespaces are ignored) and each is a list: the first one a person
carries wins.

The IdPN defaults are an inference (no public sample of ``IdPN_To_*.xml``
exists, see docs/pronote.md): when a real file names things differently,
the operator changes names here instead of waiting for a new farm.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from farm.pronote.records import Population

Names = tuple[str, ...]

_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_PARTNER_ID = re.compile(r"(uid|source_key|username|idnumber|email|field:[A-Za-z0-9_]+)")


def _local_names(value: Names) -> Names:
    if not value:
        raise ValueError("give at least one name")
    for name in value:
        if not _LOCAL_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not an XML local name (no prefix, no namespace)")
    return value


class _Strict(BaseModel):
    # farm.config.table.Table's rules (unknown keys refused, values frozen), restated:
    # an adapter may not import the config package it sits under.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PopulationNames(_Strict):
    """Where a population is in a file: its container element and its person element."""

    container: Names = Field(description="the element holding the population, e.g. Eleves")
    person: Names = Field(description="one person's element, e.g. Eleve")

    _check = field_validator("container", "person")(_local_names)


class IdpnFormat(_Strict):
    """The names of an IdPN export (``IdPN_To_<ENT>.xml``): inferred, see docs/pronote.md.

    A person's values are read from an attribute of that name, else from a
    child element of that name (its text). ``namespaces`` lists the root
    namespaces accepted, by prefix; ``""`` is "no namespace".
    """

    roots: Names = Field(("PRONOTE_INDEX",), description="accepted root element names")
    namespaces: Names = Field(
        ("", "http://www.index-education.com/"),
        description="accepted root namespaces, by prefix ('' for none)",
    )
    partner: Names = Field(("Partenaire", "ENT"), description="root attribute naming the ENT")
    date: Names = Field(("Date", "DateExport"), description="root attribute: when it was made")
    mode: Names = Field(("Mode", "TypeExport"), description="root attribute: Complet or Partiel")
    full_values: Names = Field(("Complet", "Complete", "Full"), description="values meaning full")
    partial_values: Names = Field(("Partiel", "Partial"), description="values meaning partial")
    establishments: PopulationNames = PopulationNames(
        container=("Etablissements",), person=("Etablissement",)
    )
    establishment_uai: Names = Field(("Numero", "UAI", "RNE"), description="an establishment's UAI")
    establishment_name: Names = Field(("Nom",), description="an establishment's name")
    pupils: PopulationNames = PopulationNames(container=("Eleves",), person=("Eleve",))
    teachers: PopulationNames = PopulationNames(
        container=("Professeurs", "Enseignants"), person=("Professeur", "Enseignant")
    )
    staff: PopulationNames = PopulationNames(container=("Personnels",), person=("Personnel",))
    guardians: PopulationNames = PopulationNames(
        container=("Responsables", "Parents"), person=("Responsable", "Parent")
    )
    pronote_id: Names = Field(("IdPN", "IdentifiantPronote"), description="Pronote's identifier")
    lastname: Names = Field(("Nom",), description="surname")
    firstname: Names = Field(("Prenom",), description="first name")
    birth_date: Names = Field(("DateNaissance",), description="birth date, ISO or dd/mm/yyyy")
    ine: Names = Field(("NumeroNational", "INE"), description="national pupil number")
    directory_id: Names = Field(
        ("IdentifiantENT", "IdentifiantCAS", "ID_Partenaire"),
        description="the ENT identifier Pronote already holds, if any",
    )
    establishment: Names = Field(("UAI", "Etablissement"), description="a person's UAI")

    _check = field_validator(
        "roots",
        "partner",
        "date",
        "mode",
        "establishment_uai",
        "establishment_name",
        "pronote_id",
        "lastname",
        "firstname",
        "birth_date",
        "ine",
        "directory_id",
        "establishment",
    )(_local_names)

    def population(self, population: Population) -> PopulationNames:
        """Where ``population`` is in an IdPN file."""
        return {
            Population.PUPILS: self.pupils,
            Population.TEACHERS: self.teachers,
            Population.STAFF: self.staff,
            Population.GUARDIANS: self.guardians,
        }[population]


class PronoteSettings(_Strict):
    """Every Pronote setting of a farm; see the module docstring and docs/pronote.md.

    ``partner_id`` says which person attribute is the identifier the ENT's
    CAS releases, the one Pronote must hold: ``uid`` (the source key after
    its last ``:``, the directory's uid for an SDET source), ``source_key``,
    ``username``, ``idnumber``, ``email`` or ``field:NAME`` (a profile
    field). ``birth_date_field`` and ``ine_field`` name the profile fields
    that carry a person's birth date and INE when the tenant's people are
    read for Pronote; ``directory_birth_date`` and ``directory_ine`` are
    the directory attributes they are read from. ``profile_field`` is the
    Moodle custom profile field that carries each person's Pronote
    identifier, on the sites whose ``profile_fields`` list it.
    """

    idpn: IdpnFormat = IdpnFormat()
    partner_id: str = Field(
        "uid", description="uid, source_key, username, idnumber, email, field:X"
    )
    birth_date_field: str = Field("birthdate", min_length=1)
    ine_field: str = Field("ine", min_length=1)
    directory_birth_date: str = Field("ENTPersonDateNaissance", min_length=1)
    directory_ine: str = Field("ENTEleveINE", min_length=1)
    partner: str | None = Field(
        None, min_length=1, description="the partner id Index Education gave the ENT (exports)"
    )
    protocol: Literal["CAS", "ADFS"] | None = Field(
        "CAS", description="ProtocoleDelegationAuthentification of exports"
    )
    max_people: int = Field(
        200_000, ge=1, description="a file listing more people is refused (no school has so many)"
    )
    profile_field: str | None = Field(
        None, min_length=1, description="Moodle custom profile field carrying the Pronote id"
    )

    @field_validator("partner_id")
    @classmethod
    def _partner_id_known(cls, value: str) -> str:
        if not _PARTNER_ID.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a person attribute: use uid, source_key, username, "
                "idnumber, email or field:NAME"
            )
        return value
