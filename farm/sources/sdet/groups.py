"""Group entries and group names -> the groups that become cohorts, with their members (pure).

A :class:`GroupReader` applies one ``[[cohort_groups]]`` table to what the
directory says about a group: an entry under the table's base, or a value
of a person's ``isMemberOf``-like attribute. The table's ``pattern`` decides
whether the group is a cohort and of which establishment; a group it
refuses, or of an establishment the structure map does not know, is none.
:func:`group_links` then pairs each group with the people the read brought,
from the group's member values and from the people's own attribute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from farm.sources.sdet.entries import Entry, canonical_dn, rdn_value
from farm.sources.sdet.group_rules import DN, GroupCohortRules
from farm.sources.sdet.people import PersonFacts
from farm.sources.sdet.structures import StructureMap

# A uniqueMember value may end with the member's unique identifier: dn#'0101'B.
_UNIQUE_ID = re.compile(r"#'[01]*'B$")


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """One group that is a cohort: its table (by index), establishment, code, label and members.

    ``key`` is the group's canonical DN (the value itself for a group only
    named on people); ``names`` the values people's attribute names it by;
    ``member_dns`` canonical DNs, ``member_uids`` case-folded uids.
    """

    table: int
    key: str
    uai: str
    code: str
    label: str
    names: tuple[str, ...] = ()
    member_dns: tuple[str, ...] = ()
    member_uids: tuple[str, ...] = ()


class GroupReader:
    """One table's discriminant and member rules, ready for the entries and values of one read."""

    def __init__(self, table: int, rules: GroupCohortRules, structures: StructureMap) -> None:
        self.table = table
        self.rules = rules
        self._pattern = re.compile(rules.pattern)
        self._by_uai = structures.by_uai
        # A group may name its school by SIRET, or by the RDN value of its DN.
        self._by_siret: dict[str, str] = {}
        for structure in structures.by_uai.values():
            for name in (structure.siren, rdn_value(structure.dn)):
                if name:
                    self._by_siret.setdefault(name.upper(), structure.uai)
        self._member_key = (rules.member_attribute or "").lower()
        self._values: dict[str, GroupFacts | None] = {}
        #: (group DN or value, what ``uai`` captured) of the groups the pattern
        #: matched but whose establishment the directory does not have: a
        #: pattern capturing the wrong part shows here, not as missing cohorts.
        self.unknown: list[tuple[str, str]] = []

    def _establishment(self, captured: str) -> str | None:
        text = captured.strip().upper()
        return text if text in self._by_uai else self._by_siret.get(text)

    def _match(self, subject: str, name: str) -> tuple[str, str | None] | None:
        match = self._pattern.search(subject)
        if match is None or not match.group("uai"):
            return None
        uai = self._establishment(match.group("uai"))
        if uai is None:
            # list.append is atomic: readers of several searches may share one.
            self.unknown.append((name, match.group("uai")))
            return None
        code = match.groupdict().get("code")
        return uai, code.strip() if code else None

    def __call__(self, entry: Entry) -> GroupFacts | None:
        """The group ``entry`` is, or None when the discriminant refuses it."""
        rules = self.rules
        try:
            key = canonical_dn(entry.dn)
        except ValueError:
            return None
        subject = entry.dn if rules.match_on == DN else (entry.first(rules.match_on) or "")
        found = self._match(subject, entry.dn)
        if found is None:
            return None
        uai, code = found
        label = (
            (entry.first(rules.name_attribute) or "").strip() if rules.name_attribute != DN else ""
        )
        label = label or rdn_value(entry.dn)
        if rules.person_match == DN:
            names: tuple[str, ...] = (key,)
        else:
            names = tuple(v.strip() for v in entry.values(rules.person_match) if v.strip())
        dns: list[str] = []
        uids: list[str] = []
        for value in entry.attributes.get(self._member_key, ()) if self._member_key else ():
            if not value.strip():
                continue
            if rules.members_are_uids:
                uids.append(value.strip().casefold())
                continue
            try:
                dns.append(canonical_dn(_UNIQUE_ID.sub("", value.strip())))
            except ValueError:
                continue  # not a DN: nobody of the read can be it
        return GroupFacts(
            table=self.table,
            key=key,
            uai=uai,
            code=code or label,
            label=label,
            names=names,
            member_dns=tuple(dns),
            member_uids=tuple(uids),
        )

    def from_value(self, value: str) -> GroupFacts | None:
        """The group a person's attribute value names, for a table without group entries."""
        if value in self._values:
            return self._values[value]
        found = self._match(value, value)
        group = None
        if found is not None:
            uai, code = found
            label = value
            if self.rules.person_match == DN:
                try:
                    label = rdn_value(value)
                except (ValueError, IndexError):
                    label = value
            group = GroupFacts(self.table, value, uai, code or label, label, names=(value,))
        self._values[value] = group
        return group


def group_links(
    groups: Sequence[GroupFacts],
    readers: Sequence[GroupReader],
    facts: Sequence[PersonFacts],
    source_key_prefix: str,
) -> Iterator[tuple[GroupFacts, PersonFacts]]:
    """Each (group, member) pair the read shows, from both sides, once.

    ``groups`` are the entries read for the tables that have a base;
    the tables without one make their groups from the people's values.
    """
    by_key = {f.key: f for f in facts}
    by_uid: dict[str, PersonFacts] = {}
    for f in facts:
        if f.source_key and f.source_key.startswith(source_key_prefix):
            by_uid.setdefault(f.source_key[len(source_key_prefix) :].casefold(), f)
    seen: set[tuple[int, str, str]] = set()

    def once(group: GroupFacts, person: PersonFacts) -> bool:
        mark = (group.table, group.key, person.key)
        if mark in seen:
            return False
        seen.add(mark)
        return True

    named: dict[tuple[int, str], GroupFacts] = {}
    for group in groups:
        for name in group.names:
            named.setdefault((group.table, name), group)
        for dn in group.member_dns:
            person = by_key.get(dn)
            if person is not None and once(group, person):
                yield group, person
        for uid in group.member_uids:
            person = by_uid.get(uid)
            if person is not None and once(group, person):
                yield group, person
    by_attribute: dict[str, list[GroupReader]] = {}
    for reader in readers:
        if reader.rules.person_attribute is not None:
            by_attribute.setdefault(reader.rules.person_attribute.lower(), []).append(reader)
    if not by_attribute:
        return
    for person in facts:
        for attribute, value in person.member_of:
            for reader in by_attribute.get(attribute, ()):
                found = _named_group(reader, value, named)
                if found is not None and once(found, person):
                    yield found, person


def _named_group(
    reader: GroupReader, value: str, named: Mapping[tuple[int, str], GroupFacts]
) -> GroupFacts | None:
    if reader.rules.base is None:
        return reader.from_value(value)
    if reader.rules.person_match != DN:
        return named.get((reader.table, value))
    try:
        return named.get((reader.table, canonical_dn(value)))
    except ValueError:
        return None
