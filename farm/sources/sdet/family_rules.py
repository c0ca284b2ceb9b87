"""How each family of people is found in a directory: settings, with plain SDET as the default.

Directories differ: one marks teachers with ``ENTAuxEnseignant``, another
only with a function code; one keeps the UAI in class values, another in an
attribute of its own. ``[directories.NAME.families.teachers]`` (or
``students``, ``staff``, ``parents``) changes what the search of that
family asks for; the keys left out keep the SDET defaults.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from farm.model import Profile
from farm.sources.sdet.filter_syntax import check_filter

_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def check_attribute_name(name: str) -> str:
    """``name`` when it can name an LDAP attribute or object class; ``ValueError`` if not."""
    if not _ATTRIBUTE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an LDAP attribute name (letters, digits and '-')")
    return name


class FamilyRules(BaseModel):
    """The search for one family: its object classes, where its establishment is named, a filter.

    An entry is of the family when it has one of ``object_classes`` and
    passes ``filter`` (ANDed, e.g. ``(ENTPersonFonctions=*$ENS$*)``). It is
    of a school when ``ENTPersonStructRattach`` is the school's DN or one of
    ``etab_attributes`` contains the school's RDN value (a substring test,
    as ENTs prefix values with the DN). The account's establishments are
    then decided from the entry's values, as for every family.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    object_classes: tuple[str, ...] = Field(min_length=1)
    etab_attributes: tuple[str, ...] = ()
    filter: str | None = None

    @field_validator("object_classes", "etab_attributes")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            check_attribute_name(name)
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return check_filter(value) if value is not None else None


DEFAULT_FAMILIES: Final[dict[str, FamilyRules]] = {
    "students": FamilyRules(
        object_classes=("ENTEleve",), etab_attributes=("ENTEleveClasses", "ENTEleveGroupes")
    ),
    "teachers": FamilyRules(
        object_classes=("ENTAuxEnseignant",),
        etab_attributes=("ENTPersonFonctions", "ENTAuxEnsClasses", "ENTAuxEnsGroupes"),
    ),
    "staff": FamilyRules(
        object_classes=("ENTAuxNonEnsEtab", "ENTAuxNonEnsCollLoc", "ENTAuxNonEnsServAc"),
        etab_attributes=("ENTPersonFonctions",),
    ),
    "parents": FamilyRules(object_classes=("ENTAuxPersRelEleve",)),
}
FAMILY_PROFILES: Final[dict[str, Profile]] = {
    "students": Profile.STUDENT,
    "teachers": Profile.TEACHER,
    "staff": Profile.STAFF,
    "parents": Profile.PARENT,
}


class Families(BaseModel):
    """The four families; a table written for one of them changes only the keys it sets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    students: FamilyRules = DEFAULT_FAMILIES["students"]
    teachers: FamilyRules = DEFAULT_FAMILIES["teachers"]
    staff: FamilyRules = DEFAULT_FAMILIES["staff"]
    parents: FamilyRules = DEFAULT_FAMILIES["parents"]

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, table in data.items():
            if name in DEFAULT_FAMILIES and isinstance(table, dict):
                merged[name] = {**DEFAULT_FAMILIES[name].model_dump(exclude_unset=False), **table}
        return merged

    def items(self) -> tuple[tuple[str, FamilyRules, Profile], ...]:
        """Each family's name, rules and profile, students first."""
        return tuple(
            (name, getattr(self, name), profile) for name, profile in FAMILY_PROFILES.items()
        )
