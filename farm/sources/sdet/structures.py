"""The directory's structures, read once per run: normalised DN -> UAI, name, type.

People point at establishments by DN (``ENTPersonStructRattach``, the first
field of class values...). The RDN is not assumed to be the UAI: some ENTs
name structures by SIRET, others by UAI, so every DN is looked up here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from farm.model import SourceWarning
from farm.sources.sdet.entries import Entry, normalise_dn

STRUCTURE_ATTRIBUTES = (
    "objectClass",
    "ENTStructureUAI",
    "ENTStructureSIREN",
    "ENTStructureNomCourant",
    "ou",
    "ENTStructureTypeStruct",
    "ENTEtablissementStructRattachFctl",
)
_ACADEMIE_SUFFIX = re.compile(r"-ac-[^-]+$", re.IGNORECASE)
UAI_PATTERN = re.compile(r"^[0-9]{7}[A-Z]$")


@dataclass(frozen=True, slots=True)
class Structure:
    """One establishment: its DN as read and normalised, UAI, names and type."""

    dn: str
    key: str
    uai: str
    siren: str
    name: str
    kind: str
    functional_parents: tuple[str, ...] = ()

    @property
    def short_name(self) -> str:
        """The name without the ``-ac-<ACADEMIE>`` suffix ENTs append."""
        return _ACADEMIE_SUFFIX.sub("", self.name).strip() or self.uai


@dataclass(frozen=True, slots=True)
class StructureMap:
    """Structures by normalised DN and by UAI, with what was skipped while reading them."""

    by_dn: Mapping[str, Structure]
    by_uai: Mapping[str, Structure]
    known_dns: frozenset[str] = frozenset()
    warnings: tuple[SourceWarning, ...] = field(default=())

    def lookup(self, normalised_dn: str) -> Structure | None:
        return self.by_dn.get(normalised_dn)

    def is_known(self, normalised_dn: str) -> bool:
        """True for every structure entry read, including those without a UAI."""
        return normalised_dn in self.known_dns


def build_structure_map(entries: Iterable[Entry]) -> StructureMap:
    """Index structure entries; those without a usable UAI are known but not tenants."""
    by_dn: dict[str, Structure] = {}
    by_uai: dict[str, Structure] = {}
    known: set[str] = set()
    warnings: list[SourceWarning] = []
    for entry in entries:
        try:
            key = normalise_dn(entry.dn)
        except ValueError as exc:
            warnings.append(SourceWarning("*", entry.dn, f"skipped: {exc}"))
            continue
        known.add(key)
        uai = (entry.first("ENTStructureUAI") or "").strip().upper()
        if not uai:
            continue
        if not UAI_PATTERN.match(uai):
            warnings.append(
                SourceWarning("*", entry.dn, f"skipped: malformed UAI {uai!r}", "ENTStructureUAI")
            )
            continue
        parents: list[str] = []
        for value in entry.values("ENTEtablissementStructRattachFctl"):
            try:
                parents.append(normalise_dn(value))
            except ValueError:
                warnings.append(
                    SourceWarning(
                        uai,
                        entry.dn,
                        f"ignored malformed DN {value!r}",
                        "ENTEtablissementStructRattachFctl",
                    )
                )
        structure = Structure(
            dn=entry.dn,
            key=key,
            uai=uai,
            siren=entry.first("ENTStructureSIREN") or "",
            name=entry.first("ENTStructureNomCourant") or entry.first("ou") or uai,
            kind=entry.first("ENTStructureTypeStruct") or "",
            functional_parents=tuple(parents),
        )
        if uai in by_uai:
            warnings.append(
                SourceWarning(
                    uai,
                    entry.dn,
                    f"skipped: UAI already used by {by_uai[uai].dn}",
                    "ENTStructureUAI",
                )
            )
            continue
        by_dn[key] = structure
        by_uai[uai] = structure
    return StructureMap(
        by_dn=by_dn, by_uai=by_uai, known_dns=frozenset(known), warnings=tuple(warnings)
    )
