"""One SDET person entry -> the facts the snapshots are made of (pure, no I/O).

Membership of an establishment comes from ``ENTPersonStructRattach``, the
establishment part of ``ENTPersonFonctions`` and of class and group values;
every DN is normalised and looked up in the structure map. A bad value is
skipped with a note naming the DN and the attribute; an entry that cannot
make a Moodle account is skipped as a whole, with a note, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from farm.model import Person, Profile
from farm.sources.sdet.entries import Entry, normalise_dn, parse_etab_value, parse_timestamp
from farm.sources.sdet.mapping import MappingRules
from farm.sources.sdet.structures import StructureMap

PERSON_ATTRIBUTES = (
    "objectClass",
    "uid",
    "modifyTimestamp",
    "ENTPersonProfils",
    "ENTPersonStructRattach",
    "ENTPersonFonctions",
    "ENTEleveClasses",
    "ENTEleveGroupes",
    "ENTAuxEnsClasses",
    "ENTAuxEnsGroupes",
    "ENTAuxPersRelEleveEleve",
    "ENTEleveParents",
)
# Attribute -> (is it a taught class/group, is it a group).
_ETAB_CODE_ATTRIBUTES = (
    ("ENTEleveClasses", False, False),
    ("ENTEleveGroupes", False, True),
    ("ENTAuxEnsClasses", True, False),
    ("ENTAuxEnsGroupes", True, True),
)
_FAMILY_PROFILES = (
    ("enteleve", Profile.STUDENT),
    ("entauxenseignant", Profile.TEACHER),
    ("entauxnonensetab", Profile.STAFF),
    ("entauxnonenscollloc", Profile.STAFF),
    ("entauxnonensservac", Profile.STAFF),
    ("entauxpersreleleve", Profile.PARENT),
)


@dataclass(frozen=True, slots=True)
class Note:
    """A warning before it is given a tenant: the entry's DN, the attribute, the message."""

    entry: str
    message: str
    attribute: str | None = None


@dataclass(slots=True)
class PersonFacts:
    """What one entry says: the account (``person`` is None when it was skipped) and links."""

    dn: str
    key: str
    source_key: str | None
    person: Person | None
    uais: set[str] = field(default_factory=set)
    classes: set[tuple[str, str]] = field(default_factory=set)
    groups: set[tuple[str, str]] = field(default_factory=set)
    taught_classes: set[tuple[str, str]] = field(default_factory=set)
    taught_groups: set[tuple[str, str]] = field(default_factory=set)
    children: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    modified: datetime | None = None
    notes: list[Note] = field(default_factory=list)


def _profiles(entry: Entry, rules: MappingRules, functions: list[str]) -> frozenset[Profile]:
    found = {
        rules.profiles[code.casefold()]
        for code in entry.values("ENTPersonProfils")
        if code.casefold() in rules.profiles
    }
    if not found:
        found = {rules.functions[code] for code in functions if code in rules.functions}
    if not found:
        classes = entry.object_classes
        found = {profile for name, profile in _FAMILY_PROFILES if name in classes}
    return frozenset(found)


def _resolve(
    facts: PersonFacts, structures: StructureMap, raw_dn: str, attribute: str
) -> str | None:
    """The UAI of the establishment ``raw_dn`` names, noting unknown or malformed DNs."""
    try:
        key = normalise_dn(raw_dn)
    except ValueError as exc:
        facts.notes.append(Note(facts.dn, f"ignored value {raw_dn!r}: {exc}", attribute))
        return None
    structure = structures.lookup(key)
    if structure is None:
        if not structures.is_known(key):
            facts.notes.append(
                Note(facts.dn, f"ignored unknown structure DN {raw_dn!r}", attribute)
            )
        return None
    return structure.uai


def _links(facts: PersonFacts, entry: Entry, structures: StructureMap) -> list[str]:
    """Fill the establishment links of ``facts``; return the function codes seen."""
    rattach = entry.first("ENTPersonStructRattach")
    if rattach:
        uai = _resolve(facts, structures, rattach, "ENTPersonStructRattach")
        if uai:
            facts.uais.add(uai)
    codes: list[str] = []
    for value in entry.values("ENTPersonFonctions"):
        if not value:
            continue
        etab, _, rest = value.partition("$")
        code = rest.partition("$")[0].strip().upper()
        if not rest or not code:
            facts.notes.append(
                Note(facts.dn, f"ignored malformed value {value!r}", "ENTPersonFonctions")
            )
            continue
        codes.append(code)
        uai = _resolve(facts, structures, etab, "ENTPersonFonctions")
        if uai:
            facts.uais.add(uai)
    for attribute, taught, is_group in _ETAB_CODE_ATTRIBUTES:
        for value in entry.values(attribute):
            if not value:
                continue
            try:
                parsed = parse_etab_value(value)
            except ValueError as exc:
                facts.notes.append(Note(facts.dn, f"ignored malformed value: {exc}", attribute))
                continue
            structure = structures.lookup(parsed.etab)
            if structure is None:
                if not structures.is_known(parsed.etab):
                    facts.notes.append(
                        Note(facts.dn, f"ignored unknown structure DN in {value!r}", attribute)
                    )
                continue
            facts.uais.add(structure.uai)
            pair = (structure.uai, parsed.code)
            if taught:
                (facts.taught_groups if is_group else facts.taught_classes).add(pair)
            else:
                (facts.groups if is_group else facts.classes).add(pair)
    return codes


def _children(facts: PersonFacts, entry: Entry) -> tuple[str, ...]:
    out: list[str] = []
    for value in entry.values("ENTAuxPersRelEleveEleve"):
        try:
            out.append(normalise_dn(value))
        except ValueError as exc:
            facts.notes.append(
                Note(facts.dn, f"ignored child {value!r}: {exc}", "ENTAuxPersRelEleveEleve")
            )
    return tuple(out)


def person_facts(entry: Entry, structures: StructureMap, rules: MappingRules) -> PersonFacts:
    """Everything ``entry`` says, with the account built by ``rules`` (or a note why not)."""
    try:
        key = normalise_dn(entry.dn)
    except ValueError:
        key = entry.dn.lower()
    uid = entry.first("uid")
    source_key = f"{rules.source_key_prefix}{uid}" if uid else None
    facts = PersonFacts(dn=entry.dn, key=key, source_key=source_key, person=None)
    stamp = entry.first("modifyTimestamp")
    facts.modified = parse_timestamp(stamp) if stamp else None
    codes = _links(facts, entry, structures)
    facts.children = _children(facts, entry)
    facts.parents = tuple(entry.values("ENTEleveParents"))
    if uid is None:
        facts.notes.append(Note(entry.dn, "skipped: no uid, so no source key", "uid"))
        return facts
    names: dict[str, str] = {"uid": uid, "dn": entry.dn}
    required = (
        ("username", rules.username),
        ("firstname", rules.firstname),
        ("lastname", rules.lastname),
    )
    for field_name, rule in required:
        value = rule.apply(entry.values(rule.attribute) if rule.attribute else (), names)
        if not value or not value.strip():
            facts.notes.append(
                Note(
                    entry.dn,
                    f"skipped: no {field_name} (source key {source_key} left as it is)",
                    rule.attribute,
                )
            )
            return facts
        names[field_name] = value.strip()
    idnumber = rules.idnumber.apply(_values(entry, rules.idnumber.attribute), names) or ""
    email = rules.email.apply(_values(entry, rules.email.attribute), names) or ""
    profile_fields: dict[str, str] = {}
    for shortname, rule in rules.profile_fields.items():
        raw = _values(entry, rule.attribute)
        value = rule.apply(raw, names)
        if value is None:
            if any(raw):
                facts.notes.append(
                    Note(entry.dn, f"no usable value for profile field {shortname}", rule.attribute)
                )
            continue
        profile_fields[shortname] = value
    facts.person = Person(
        source_key=source_key or "",
        username=names["username"],
        idnumber=idnumber,
        firstname=names["firstname"],
        lastname=names["lastname"],
        email=email,
        auth=rules.auth,
        profiles=_profiles(entry, rules, codes),
        establishments=frozenset(facts.uais),
        profile_fields=profile_fields,
    )
    return facts


def _values(entry: Entry, attribute: str | None) -> tuple[str, ...]:
    return tuple(entry.values(attribute)) if attribute else ()
