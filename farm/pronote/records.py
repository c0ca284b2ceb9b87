"""What a Pronote identifier file says, as plain frozen dataclasses (no I/O).

A file lists people in four populations, Pronote's own: pupils (*élèves*),
teachers (*professeurs*), staff (*personnels*) and guardians
(*responsables*). Each person has the identifier the file gives them (see
:attr:`PronotePerson.pronote_id`), names, and, where the file carries them,
a birth date, a national pupil number (INE) and the identifier the ENT
already gave them (:attr:`PronotePerson.directory_id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from farm.model import Profile


class Population(StrEnum):
    """One of Pronote's four populations, named as the farm's reports name them."""

    PUPILS = "pupils"
    TEACHERS = "teachers"
    STAFF = "staff"
    GUARDIANS = "guardians"

    @property
    def profile(self) -> Profile:
        """The farm profile of this population's people."""
        return _PROFILE[self]

    @property
    def singular(self) -> str:
        return _SINGULAR[self]

    @classmethod
    def of_profile(cls, profile: Profile) -> Population | None:
        """The population of a farm profile; None for profiles Pronote does not know (tutors)."""
        for population, known in _PROFILE.items():
            if known is profile:
                return population
        return None


_PROFILE = {
    Population.PUPILS: Profile.STUDENT,
    Population.TEACHERS: Profile.TEACHER,
    Population.STAFF: Profile.STAFF,
    Population.GUARDIANS: Profile.PARENT,
}
_SINGULAR = {
    Population.PUPILS: "pupil",
    Population.TEACHERS: "teacher",
    Population.STAFF: "staff member",
    Population.GUARDIANS: "guardian",
}


class ImportMode(StrEnum):
    """How an import treats the tenant's links: full replaces them, partial adds and updates."""

    FULL = "full"
    PARTIAL = "partial"

    @property
    def label(self) -> str:
        """The mode as the ENT screens and Pronote name it: Complet, Partiel."""
        return "Complet" if self is ImportMode.FULL else "Partiel"


class FileKind(StrEnum):
    """Which document a file is: Pronote's identifier export or a partner index."""

    IDPN = "idpn"
    PARTNER_INDEX = "partenaire_index"

    @property
    def label(self) -> str:
        return "IdPN export" if self is FileKind.IDPN else "PARTENAIRE_INDEX (RapprochementSSO)"


@dataclass(frozen=True, slots=True)
class PronotePerson:
    """One person of a Pronote file.

    ``pronote_id`` is the identifier the link keeps: Pronote's own in an
    IdPN export; in a ``PARTENAIRE_INDEX``, which carries none, its
    ``ID_Partenaire`` (the identifier Pronote stores as the user's CAS
    identifier). ``directory_id`` is the ENT identifier the file gives,
    when it gives one. ``establishment`` is a UAI when the file says which
    establishment the person belongs to. ``ident`` is the file-local number
    of a ``PARTENAIRE_INDEX`` (``Ident``) and ``guardians`` the ``Ident`` of
    a pupil's guardians there. ``line`` is the person's line in the file (where
    its start tag ends, as libxml2 counts).
    """

    population: Population
    pronote_id: str
    lastname: str
    firstname: str
    line: int
    birth_date: date | None = None
    ine: str | None = None
    directory_id: str | None = None
    establishment: str | None = None
    ident: str | None = None
    guardians: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``LASTNAME Firstname``, as lists show people."""
        return f"{self.lastname} {self.firstname}"


class Method(StrEnum):
    """How a link was made (see :mod:`farm.pronote.matching`)."""

    DIRECTORY_ID = "directory-id"
    INE = "ine"
    LINK = "link"
    NAMES_BIRTH_DATE = "names+birth-date"
    NAMES_PROFILE = "names+profile"
    MANUAL = "manual"


#: The ``mode`` of a link made by hand (``farm pronote link``).
MANUAL_MODE = "manual"


@dataclass(frozen=True, slots=True)
class PronoteLink:
    """One person's Pronote identifier in one tenant and population, as the registry keeps it.

    ``mode`` is the import's (``full``, ``partial``) or ``manual``; ``file``
    the file's name (empty for a manual link); ``imported_at`` when the link
    was made or last changed.
    """

    tenant: str
    source_key: str
    population: Population
    pronote_id: str
    method: Method
    file: str
    mode: str
    imported_at: datetime

    @property
    def key(self) -> tuple[str, str, Population]:
        """What identifies a link: tenant, source key, population."""
        return (self.tenant, self.source_key, self.population)


@dataclass(frozen=True, slots=True)
class FileEstablishment:
    """An establishment a file names in its header (UAI and name)."""

    uai: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class PronoteFile:
    """A whole file, read and checked: its header and its people.

    ``name`` is the file's name as reports show it (no folder). ``mode`` is
    the export mode the file declares (an IdPN export made with
    "only users without CAS identifiers" is partial), None when it declares
    none. ``partner`` is the ENT (or partner) the file was made for.
    """

    name: str
    kind: FileKind
    people: tuple[PronotePerson, ...]
    establishments: tuple[FileEstablishment, ...] = ()
    partner: str | None = None
    exported_at: datetime | None = None
    mode: ImportMode | None = None

    def of(self, population: Population) -> tuple[PronotePerson, ...]:
        return tuple(p for p in self.people if p.population is population)


@dataclass(frozen=True, slots=True)
class PronoteImport:
    """One applied import as a tenant's history keeps it.

    ``count`` is how many links the tenant had once it was applied;
    ``report`` the match report (:mod:`farm.pronote.report`), when asked for.
    """

    tenant: str
    at: datetime
    mode: ImportMode
    file: str
    file_kind: FileKind
    count: int
    added: int
    updated: int
    removed: int
    report: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PronoteTally:
    """A tenant's Pronote identifiers: how many links now, and its last import (None: never)."""

    tenant: str
    links: int
    last: PronoteImport | None = None
