"""One SDET person entry -> the facts the snapshots are made of (pure, no I/O).

Membership of an establishment comes from ``ENTPersonStructRattach``, the
establishment part of ``ENTPersonFonctions`` and of class and group values;
every DN is normalised and looked up in the structure map. A bad value is
skipped with a note naming the DN and the attribute; an entry that cannot
make a Moodle account is skipped as a whole, with a note, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from farm.model import Person, Profile, shared_set
from farm.sources.sdet.entries import (
    Entry,
    canonical_dn,
    normalise_dn,
    parse_etab_value,
    parse_timestamp,
)
from farm.sources.sdet.mapping import FieldReader, MappingRules, parse_date
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
    "ENTPersonDateSuppression",
)
# Lower-cased name, name: classes, groups, taught classes, taught groups (PersonFacts order).
_ETAB_CODE_ATTRIBUTES = (
    ("enteleveclasses", "ENTEleveClasses"),
    ("entelevegroupes", "ENTEleveGroupes"),
    ("entauxensclasses", "ENTAuxEnsClasses"),
    ("entauxensgroupes", "ENTAuxEnsGroupes"),
)
FAMILY_PROFILES: tuple[tuple[str, Profile], ...] = (
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
    """What one entry says: the account (``person`` is None when it was skipped) and links.

    ``classes``, ``groups``, ``taught_classes`` and ``taught_groups`` hold
    distinct (UAI, code) pairs in no particular order; ``functions`` the
    (UAI, function code) pairs of ``ENTPersonFonctions`` whose establishment
    is known. For the course rules (:mod:`farm.sources.sdet.course_rules`),
    read only when a rule asks for them: ``course_levels`` holds the values
    of ``ENTEleveNivFormation``, ``class_subjects`` and ``group_subjects``
    the (UAI, class or group, subject) triples of ``ENTAuxEnsClassesMatieres``
    and ``ENTAuxEnsGroupesMatieres``.

    ``stamp`` is the entry's ``modifyTimestamp`` as read; :attr:`modified`
    parses it.
    """

    dn: str
    key: str
    source_key: str | None
    person: Person | None
    uais: frozenset[str] = frozenset()
    classes: tuple[tuple[str, str], ...] = ()
    groups: tuple[tuple[str, str], ...] = ()
    taught_classes: tuple[tuple[str, str], ...] = ()
    taught_groups: tuple[tuple[str, str], ...] = ()
    children: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    functions: tuple[tuple[str, str], ...] = ()
    course_levels: tuple[str, ...] = ()
    class_subjects: tuple[tuple[str, str, str], ...] = ()
    group_subjects: tuple[tuple[str, str, str], ...] = ()
    stamp: str | None = None
    notes: Sequence[Note] = ()
    #: (lower-cased attribute, value) of the attributes naming groups (``isMemberOf``).
    member_of: tuple[tuple[str, str], ...] = ()

    @property
    def modified(self) -> datetime | None:
        return parse_timestamp(self.stamp) if self.stamp else None


def person_facts(entry: Entry, structures: StructureMap, rules: MappingRules) -> PersonFacts:
    """Everything ``entry`` says, with the account built by ``rules`` (or a note why not)."""
    return PersonReader(structures, rules)(entry)


# What a value resolved to, kept per read: many entries share the same
# establishment DNs and class values, and resolving them is most of the work.
_Resolved = tuple[str | None, str | None]  # UAI, note
_Function = tuple[str | None, str | None, str | None]  # function code, UAI, note
_EtabCode = tuple[tuple[str, str] | None, str | None]  # (UAI, code) when known, note
_Subject = tuple[tuple[str, str, str] | None, str | None]  # (UAI, code, subject), note
# Lower-cased name, name: classes with subjects, groups with subjects (PersonFacts order).
_SUBJECT_ATTRIBUTES = (
    ("entauxensclassesmatieres", "ENTAuxEnsClassesMatieres"),
    ("entauxensgroupesmatieres", "ENTAuxEnsGroupesMatieres"),
)


class PersonReader:
    """Turns the entries of one read into :class:`PersonFacts`.

    Build one per read and call it on every entry (from any thread): it
    remembers how each establishment DN, function and class value resolved,
    so that the thousands of entries naming the same ones pay once.
    """

    def __init__(
        self,
        structures: StructureMap,
        rules: MappingRules,
        *,
        member_of: Iterable[str] = (),
        family_profiles: Sequence[tuple[str, Profile]] = FAMILY_PROFILES,
        today: date | None = None,
    ) -> None:
        self.structures = structures
        self.rules = rules
        #: The run's day: a person whose ENTPersonDateSuppression is on or before it is gone.
        self.today = today or date.today()
        self._required = (
            ("username", FieldReader(rules.username)),
            ("firstname", FieldReader(rules.firstname)),
            ("lastname", FieldReader(rules.lastname)),
        )
        self._idnumber = FieldReader(rules.idnumber)
        self._email = FieldReader(rules.email)
        self._profile_fields = [
            (name, FieldReader(rule)) for name, rule in rules.profile_fields.items()
        ]
        self._dns: dict[str, _Resolved] = {}
        self._functions: dict[str, _Function] = {}
        self._etab_codes: dict[str, _EtabCode] = {}
        self._subjects: dict[str, _Subject] = {}
        self._profile_codes: dict[tuple[str, ...], frozenset[Profile]] = {}
        self._class_profiles: dict[tuple[str, ...], frozenset[Profile]] = {}
        self._member_of_keys = tuple(sorted({name.lower() for name in member_of}))
        self._family_profiles = family_profiles

    def _resolve(self, raw_dn: str) -> _Resolved:
        """The UAI of the establishment ``raw_dn`` names, or why there is none."""
        known = self._dns.get(raw_dn)
        if known is not None:
            return known
        structures = self.structures
        resolved: _Resolved
        try:
            key = normalise_dn(raw_dn)
        except ValueError as exc:
            resolved = (None, f"ignored value {raw_dn!r}: {exc}")
        else:
            structure = structures.lookup(key)
            if structure is not None:
                resolved = (structure.uai, None)
            elif structures.is_known(key):
                resolved = (None, None)
            else:
                resolved = (None, f"ignored unknown structure DN {raw_dn!r}")
        self._dns[raw_dn] = resolved
        return resolved

    def _function(self, value: str) -> _Function:
        known = self._functions.get(value)
        if known is not None:
            return known
        etab, _, rest = value.partition("$")
        code = rest.partition("$")[0].strip().upper()
        function: _Function
        if not rest or not code:
            function = (None, None, f"ignored malformed value {value!r}")
        else:
            function = (code, *self._resolve(etab))
        self._functions[value] = function
        return function

    def _etab_code(self, value: str) -> _EtabCode:
        known = self._etab_codes.get(value)
        if known is not None:
            return known
        found: _EtabCode
        try:
            parsed = parse_etab_value(value)
        except ValueError as exc:
            found = (None, f"ignored malformed value: {exc}")
        else:
            structure = self.structures.lookup(parsed.etab)
            if structure is not None:
                found = ((structure.uai, parsed.code), None)
            elif self.structures.is_known(parsed.etab):
                found = (None, None)
            else:
                found = (None, f"ignored unknown structure DN in {value!r}")
        self._etab_codes[value] = found
        return found

    def _subject(self, value: str) -> _Subject:
        """``<etab DN>$<class or group>$<subject>``: the subject is the last field."""
        known = self._subjects.get(value)
        if known is not None:
            return known
        found: _Subject
        head, _, subject = value.rpartition("$")
        subject = subject.strip()
        if not head or not subject:
            found = (
                None,
                f"ignored malformed value {value!r}: expected '<etab DN>$<code>$<subject>'",
            )
        else:
            pair, note = self._etab_code(head)
            found = (None, note) if pair is None else ((pair[0], pair[1], subject), None)
        self._subjects[value] = found
        return found

    def _profiles(
        self,
        attributes: Mapping[str, Sequence[str]],
        functions: list[str],
        family: Profile | None,
    ) -> frozenset[Profile]:
        codes = tuple(attributes.get("entpersonprofils", ()))
        found = self._profile_codes.get(codes)
        if found is None:
            table = self.rules.profiles
            found = frozenset(table[code.casefold()] for code in codes if code.casefold() in table)
            self._profile_codes[codes] = found
        if found:
            return found
        table = self.rules.functions
        found = frozenset(table[code] for code in functions if code in table)
        if found:
            return found
        classes = tuple(attributes.get("objectclass", ()))
        found = self._class_profiles.get(classes)
        if found is None:
            lowered = {value.lower() for value in classes}
            found = frozenset(profile for name, profile in self._family_profiles if name in lowered)
            self._class_profiles[classes] = found
        # A family found by a filter rather than by a class of its own (teachers
        # as ENTPerson with an ENS function) gives its profile to what it found.
        return found | {family} if family is not None and family not in found else found

    def __call__(self, entry: Entry, family: Profile | None = None) -> PersonFacts:
        """Everything ``entry`` says, with the account built by the rules (or a note why not).

        ``family`` is the profile of the family whose search found the entry,
        the last resort when neither its codes nor its object classes say one.
        """
        dn = entry.dn
        attributes = entry.attributes
        get = attributes.get
        notes: list[Note] = []
        try:
            key = canonical_dn(dn)
        except ValueError:
            key = dn.lower()
        uid = _first(get("uid", ()))
        source_key = f"{self.rules.source_key_prefix}{uid}" if uid else None
        stamp = _first(get("modifytimestamp", ()))

        uais: set[str] = set()
        rattach = _first(get("entpersonstructrattach", ()))
        if rattach:
            uai, note = self._resolve(rattach)
            if note is not None:
                notes.append(Note(dn, note, "ENTPersonStructRattach"))
            if uai:
                uais.add(uai)
        functions: list[str] = []
        held: list[tuple[str, str]] = []
        for value in get("entpersonfonctions", ()):
            if not value:
                continue
            code, uai, note = self._function(value)
            if note is not None:
                notes.append(Note(dn, note, "ENTPersonFonctions"))
            if code is None:
                continue
            functions.append(code)
            if uai:
                uais.add(uai)
                held.append((uai, code))
        pairs: list[set[tuple[str, str]] | None] = [None, None, None, None]
        for slot, (name, attribute) in enumerate(_ETAB_CODE_ATTRIBUTES):
            for value in get(name, ()):
                if not value:
                    continue
                pair, note = self._etab_code(value)
                if note is not None:
                    notes.append(Note(dn, note, attribute))
                if pair is None:
                    continue
                uais.add(pair[0])
                found = pairs[slot]
                if found is None:
                    found = pairs[slot] = set()
                found.add(pair)
        subjects: list[set[tuple[str, str, str]] | None] = [None, None]
        for slot, (name, attribute) in enumerate(_SUBJECT_ATTRIBUTES):
            for value in get(name, ()):
                if not value:
                    continue
                triple, note = self._subject(value)
                if note is not None:
                    notes.append(Note(dn, note, attribute))
                if triple is None:
                    continue
                uais.add(triple[0])
                taken = subjects[slot]
                if taken is None:
                    taken = subjects[slot] = set()
                taken.add(triple)
        course_levels = tuple(v.strip() for v in get("entelevenivformation", ()) if v.strip())
        children: list[str] = []
        for value in get("entauxpersreleleveeleve", ()):
            try:
                children.append(canonical_dn(value))
            except ValueError as exc:
                notes.append(Note(dn, f"ignored child {value!r}: {exc}", "ENTAuxPersRelEleveEleve"))
        establishments = shared_set(frozenset(uais))
        person = None
        if uid is None:
            notes.append(Note(dn, "skipped: no uid, so no source key", "uid"))
        else:
            person = self._account(
                entry, uid, source_key or "", establishments, functions, notes, family
            )
        if person is not None and self._deleted(get("entpersondatesuppression", ()), dn, notes):
            # Read as gone, not held: the farm's removal policy applies to the account.
            person, source_key = None, None
        # Tuples, and one shared empty one: a read keeps these for every entry,
        # and lists and sets would each be one more object for the collector.
        return PersonFacts(
            dn=dn,
            key=key,
            source_key=source_key,
            person=person,
            uais=establishments,
            classes=tuple(pairs[0]) if pairs[0] else (),
            groups=tuple(pairs[1]) if pairs[1] else (),
            taught_classes=tuple(pairs[2]) if pairs[2] else (),
            taught_groups=tuple(pairs[3]) if pairs[3] else (),
            children=tuple(children) if children else (),
            parents=tuple(get("enteleveparents", ())),
            functions=tuple(dict.fromkeys(held)) if held else (),
            course_levels=course_levels,
            class_subjects=tuple(subjects[0]) if subjects[0] else (),
            group_subjects=tuple(subjects[1]) if subjects[1] else (),
            stamp=stamp,
            notes=tuple(notes) if notes else (),
            member_of=self._member_of(attributes) if self._member_of_keys else (),
        )

    def _deleted(self, values: Sequence[str], dn: str, notes: list[Note]) -> bool:
        """Whether the entry's scheduled deletion (``ENTPersonDateSuppression``) has come.

        The date is ``dd/mm/yyyy`` as SDET writes it (or ``yyyy-mm-dd``, or
        GeneralizedTime); compared as a date, not as text, so that a date of
        2030 never passes for one of 2024. A value that is no date is noted and
        ignored; a future date changes nothing.
        """
        text = _first(values)
        if not text or not text.strip():
            return False
        text = text.strip()
        stamp = parse_timestamp(text)
        day = stamp.date() if stamp is not None else parse_date(text)
        if day is None:
            notes.append(
                Note(dn, f"ignored value {text!r}: not a date", "ENTPersonDateSuppression")
            )
            return False
        if day > self.today:
            return False
        notes.append(
            Note(
                dn,
                f"read as gone: its scheduled deletion date {day:%d/%m/%Y} has passed",
                "ENTPersonDateSuppression",
            )
        )
        return True

    def _member_of(self, attributes: Mapping[str, Sequence[str]]) -> tuple[tuple[str, str], ...]:
        return tuple(
            (name, value.strip())
            for name in self._member_of_keys
            for value in attributes.get(name, ())
            if value.strip()
        )

    def _account(
        self,
        entry: Entry,
        uid: str,
        source_key: str,
        establishments: frozenset[str],
        functions: list[str],
        notes: list[Note],
        family: Profile | None = None,
    ) -> Person | None:
        """The Moodle account of ``entry``, or None with a note saying which field is missing."""
        dn = entry.dn
        names: dict[str, str] = {"uid": uid, "dn": dn}
        for field_name, rule in self._required:
            text = rule.apply(_values(entry, rule.key), names)
            if not text or not text.strip():
                notes.append(
                    Note(
                        dn,
                        f"skipped: no {field_name} (source key {source_key} left as it is)",
                        rule.attribute,
                    )
                )
                return None
            names[field_name] = text.strip()
        idnumber = self._idnumber.apply(_values(entry, self._idnumber.key), names) or ""
        email = self._email.apply(_values(entry, self._email.key), names) or ""
        profile_fields: dict[str, str] = {}
        for shortname, rule in self._profile_fields:
            raw = _values(entry, rule.key)
            text = rule.apply(raw, names)
            if text is None:
                if any(raw):
                    notes.append(
                        Note(dn, f"no usable value for profile field {shortname}", rule.attribute)
                    )
                continue
            profile_fields[shortname] = text
        return Person(
            source_key=source_key,
            username=names["username"],
            idnumber=idnumber,
            firstname=names["firstname"],
            lastname=names["lastname"],
            email=email,
            auth=self.rules.auth or "",
            profiles=self._profiles(entry.attributes, functions, family),
            establishments=establishments,
            profile_fields=profile_fields,
        )


def _first(values: Sequence[str]) -> str | None:
    for value in values:
        if value:
            return value
    return None


def _values(entry: Entry, key: str | None) -> Sequence[str]:
    return entry.attributes.get(key, ()) if key else ()
