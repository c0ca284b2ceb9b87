"""LDAP filters for one read: one per object class family, OR over the requested UAIs.

The server-side filter narrows the search; the exact membership test is done
afterwards on normalised DNs (see :mod:`farm.sources.sdet.people`), because
directories differ in case and spacing inside DN-prefixed values. Every
value that comes from configuration or an operator is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ldap3.utils.conv import escape_filter_chars

from farm.model import Profile
from farm.sources.sdet.entries import format_timestamp, rdn_pair, rdn_value
from farm.sources.sdet.family_rules import Families, FamilyRules
from farm.sources.sdet.structures import Structure


@dataclass(frozen=True, slots=True)
class Family:
    """People of one kind: their object classes, the attributes that name their etab, a filter.

    ``extra`` (a filter, or ``""``) is ANDed to every search of the family.
    """

    name: str
    object_classes: tuple[str, ...]
    etab_attributes: tuple[str, ...]
    profile: Profile | None = None
    extra: str = ""

    @classmethod
    def of(cls, name: str, rules: FamilyRules, profile: Profile | None = None) -> Family:
        """The family ``name`` as a directory's settings describe it."""
        return cls(name, rules.object_classes, rules.etab_attributes, profile, rules.filter or "")


def families(settings: Families) -> tuple[Family, ...]:
    """The four families of a directory, students first."""
    return tuple(Family.of(name, rules, profile) for name, rules, profile in settings.items())


STUDENTS, TEACHERS, STAFF, PARENTS = FAMILIES = families(Families())


def _any_of(clauses: Sequence[str]) -> str:
    return clauses[0] if len(clauses) == 1 else f"(|{''.join(clauses)})"


def _object_classes(family: Family) -> str:
    classes = _any_of([f"(objectClass={escape_filter_chars(c)})" for c in family.object_classes])
    # The extra filter was checked when the settings were read: it is used as written.
    return f"{classes}{family.extra}"


def since_clause(since: datetime | None) -> str:
    return f"(modifyTimestamp>={format_timestamp(since)})" if since is not None else ""


def family_filter(
    family: Family, structures: Sequence[Structure], *, since: datetime | None = None
) -> str:
    """People of ``family`` attached to one of ``structures``."""
    clauses: list[str] = []
    for structure in structures:
        clauses.append(f"(ENTPersonStructRattach={escape_filter_chars(structure.dn)})")
        # The RDN value (a SIRET or a UAI) appears inside every DN-prefixed value
        # whatever its spelling; a substring test on it cannot miss one.
        needle = escape_filter_chars(rdn_value(structure.dn))
        clauses.extend(f"({attribute}=*{needle}*)" for attribute in family.etab_attributes)
    return f"(&{_object_classes(family)}{_any_of(clauses)}{since_clause(since)})"


def entries_filter(family: Family, dns: Sequence[str]) -> str:
    """People of ``family`` among ``dns``, matched on their RDN (one indexed lookup each).

    The caller keeps only results whose full DN is one of ``dns``.
    """
    clauses = []
    for dn in dns:
        name, value = rdn_pair(dn)
        clauses.append(f"({escape_filter_chars(name)}={escape_filter_chars(value)})")
    return f"(&{_object_classes(family)}{_any_of(clauses)})"


def person_filter(person: str, source_key_prefix: str) -> str:
    """One person by uid, login, ENTPersonJointure or source key, escaped."""
    text = person.strip()
    if text.startswith(source_key_prefix):
        text = text[len(source_key_prefix) :]
    value = escape_filter_chars(text)
    return (
        "(&(objectClass=ENTPerson)"
        f"(|(uid={value})(ENTPersonLogin={value})(ENTPersonJointure={value})))"
    )


STRUCTURES_FILTER = "(objectClass=ENTStructure)"
