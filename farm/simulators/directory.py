"""A generated ENT directory (SDET schema) and the truth of who belongs where.

:func:`generate` builds, deterministically for a seed, establishments with
correct UAIs (some paired in cités scolaires: a lycée and a collège linked by
``ENTEtablissementStructRattachFctl``, RDNs by SIRET, not UAI), classes,
groups, students (with their level), teachers (some in both schools of a
cité; each with one subject in every class and group taught, in
``ENTAuxEnsClassesMatieres`` and ``ENTAuxEnsGroupesMatieres``), staff
(function codes ``DIR``, ``EDU``, ``ADM`` in turn: each school has a ``DIR``) and
parents, with French names (accents, hyphens, apostrophes, homonyms) and a
few broken entries. :meth:`GeneratedDirectory.ldif` writes it for slapadd;
the ``people`` tuple says what a correct reader must find.

Two shapes: ``"sdet"`` keeps every link on people, as plain SDET does;
``"grouped"`` keeps groups as ``groupOfNames`` entries under ``ou=groups``
(``cn=Etablissements:<name>_<UAI>:<group>``, the students as ``member``
DNs), and its teachers carry no ``ENTAuxEnseignant`` class (a function
code says what they are) and name their groups with ``isMemberOf``.
"""

from __future__ import annotations

import base64
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from farm.simulators.lexicon import (
    COLLEGE_LEVELS,
    DISCIPLINES,
    FIRST_NAMES,
    GROUPS,
    LAST_NAMES,
    LEVEL_LABELS,
    LYCEE_LEVELS,
    STAFF_FUNCTIONS,
)
from farm.uai import check_letter

Kind = Literal["student", "teacher", "staff", "parent"]
Shape = Literal["sdet", "grouped"]
Broken = Literal["missing-givenName", "malformed-class", "unknown-structure"]


@dataclass(frozen=True, slots=True)
class GeneratedEstablishment:
    uai: str
    siren: str
    name: str
    kind: str
    dn: str
    classes: tuple[str, ...]
    groups: tuple[str, ...]
    partner: str | None = None


@dataclass(frozen=True, slots=True)
class GeneratedPerson:
    """One person and the truth about them; ``valid`` is false for an entry a reader skips."""

    uid: str
    dn: str
    kinds: frozenset[Kind]
    firstname: str
    lastname: str
    uais: frozenset[str]
    classes: frozenset[tuple[str, str]] = frozenset()
    groups: frozenset[tuple[str, str]] = frozenset()
    taught_classes: frozenset[tuple[str, str]] = frozenset()
    taught_groups: frozenset[tuple[str, str]] = frozenset()
    children: tuple[str, ...] = ()
    broken: Broken | None = None
    level: str | None = None
    #: A teacher's subject (BCN code) in every class and group they teach
    #: (``ENTAuxEnsClassesMatieres``, ``ENTAuxEnsGroupesMatieres``).
    subject: str | None = None

    @property
    def valid(self) -> bool:
        return self.broken != "missing-givenName"


@dataclass(frozen=True)
class GeneratedDirectory:
    suffix: str
    establishments: tuple[GeneratedEstablishment, ...]
    people: tuple[GeneratedPerson, ...]
    entries: tuple[tuple[str, dict[str, list[str]]], ...] = field(repr=False)
    shape: Shape = "sdet"

    @property
    def people_base(self) -> str:
        return f"ou=people,{self.suffix}"

    @property
    def groups_base(self) -> str:
        """Where a ``"grouped"`` directory keeps its group entries."""
        return f"ou=groups,{self.suffix}"

    @property
    def structures_base(self) -> str:
        return f"ou=structures,{self.suffix}"

    @property
    def cites(self) -> list[tuple[str, str]]:
        """Pairs (lycée UAI, collège UAI) forming a cité scolaire."""
        return [(e.partner, e.uai) for e in self.establishments if e.partner is not None]

    def people_of(self, uai: str) -> dict[str, GeneratedPerson]:
        """The valid people a reader must find for ``uai``, by uid."""
        return {p.uid: p for p in self.people if p.valid and uai in p.uais}

    def ldif_lines(self) -> Iterator[str]:
        for dn, attributes in self.entries:
            yield _ldif_line("dn", dn)
            for name, values in attributes.items():
                for value in values:
                    yield _ldif_line(name, value)
            yield ""

    def ldif(self) -> str:
        return "\n".join(self.ldif_lines()) + "\n"

    def write_ldif(self, path: Path) -> Path:
        with path.open("w", encoding="utf-8") as out:
            for line in self.ldif_lines():
                out.write(line + "\n")
        return path


def _ldif_line(name: str, value: str) -> str:
    safe = value.isascii() and not value.startswith((" ", ":", "<")) and not value.endswith(" ")
    if safe and "\n" not in value:
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in folded.lower() if c.isalnum() or c == "-")


@dataclass
class _DirectoryBuilder:
    rng: random.Random
    suffix: str
    entries: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    people: list[GeneratedPerson] = field(default_factory=list)
    logins: dict[str, int] = field(default_factory=dict)
    serial: int = 0
    last_names: tuple[str, str] | None = None

    def variant(self, dn: str) -> str:
        """The same DN as another writer might spell it (case, spaces) now and then."""
        roll = self.rng.random()
        if roll < 0.08:
            return dn.replace(",ou=structures,", ", OU=Structures, ")
        if roll < 0.12:
            return dn.replace("ENTStructureSIREN=", "entstructuresiren = ")
        return dn

    def names(self) -> tuple[str, str]:
        if self.last_names is not None and self.rng.random() < 0.04:
            return self.last_names  # a homonym of the previous person
        self.last_names = (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))
        return self.last_names

    def person(self, prefix: str, classes: list[str], profiles: list[str]) -> dict[str, list[str]]:
        self.serial += 1
        uid = f"{prefix}{self.serial:06d}"
        first, last = self.names()
        login = f"{_ascii(first)}.{_ascii(last)}"
        count = self.logins[login] = self.logins.get(login, 0) + 1
        attrs: dict[str, list[str]] = {
            "objectClass": ["inetOrgPerson", "ENTPerson", *classes],
            "uid": [uid],
            "cn": [f"{last} {first}"],
            "sn": [last],
            "givenName": [first],
            "displayName": [f"{first} {last}"],
            "ENTPersonLogin": [login if count == 1 else f"{login}{count}"],
            "ENTPersonJointure": [f"AC-TEST${100000 + self.serial}"],
        }
        if self.rng.random() < 0.8:
            attrs["mail"] = [f"{login}{count}@example.org"]
        year = 1960 + self.rng.randrange(55)
        day, month = 1 + self.rng.randrange(28), 1 + self.rng.randrange(12)
        attrs["ENTPersonDateNaissance"] = [
            f"{day:02d}/{month:02d}/{year}"
            if self.rng.random() < 0.8
            else f"{year}-{month:02d}-{day:02d}"
        ]
        if profiles:
            attrs["ENTPersonProfils"] = profiles
        return attrs

    def dn(self, attrs: dict[str, list[str]]) -> str:
        return f"uid={attrs['uid'][0]},ou=people,{self.suffix}"


def _establishments(count: int, suffix: str, budget: int) -> list[GeneratedEstablishment]:
    out: list[GeneratedEstablishment] = []
    classes_each = max(1, (budget * 62 // 100) // 25)
    for i in range(count):
        digits = f"{900001 + i * 37:07d}"
        uai = digits + check_letter(digits)
        siren = f"19{digits}{(i * 7919) % 100000:05d}"
        in_cite = i % 4 in (0, 1) and (i % 4 == 1 or i + 1 < count)
        lycee = i % 4 == 0 if in_cite else i % 2 == 1
        levels = LYCEE_LEVELS if lycee else COLLEGE_LEVELS
        classes = tuple(
            f"{levels[k % len(levels)]}{k // len(levels) + 1}" for k in range(classes_each)
        )
        partner = out[i - 1].uai if in_cite and i % 4 == 1 else None
        kind = "LYCEE D ENSEIGNEMENT GENERAL" if lycee else "COLLEGE"
        label = "LYCEE" if lycee else "CLG"
        out.append(
            GeneratedEstablishment(
                uai=uai,
                siren=siren,
                name=f"{label} {LAST_NAMES[i % len(LAST_NAMES)]} {i}-ac-TEST",
                kind=kind,
                dn=f"ENTStructureSIREN={siren},ou=structures,{suffix}",
                classes=classes,
                groups=GROUPS,
                partner=partner,
            )
        )
    return out


def _structure_entry(etab: GeneratedEstablishment, partner_dn: str | None) -> dict[str, list[str]]:
    attrs: dict[str, list[str]] = {
        "objectClass": ["organizationalUnit", "ENTStructure", "ENTEtablissement"],
        "ou": [etab.name],
        "ENTStructureSIREN": [etab.siren],
        "ENTStructureUAI": [etab.uai],
        "ENTStructureJointure": [f"AC-TEST${etab.siren[-5:]}"],
        "ENTStructureNomCourant": [etab.name],
        "ENTStructureTypeStruct": [etab.kind],
        "ENTEtablissementMinistereTutelle": ["MINISTERE DE L'EDUCATION NATIONALE"],
        "ENTEtablissementContrat": ["PU"],
        "ENTStructureClasses": [f"{c}${c}$00000000000" for c in etab.classes],
        "ENTStructureGroupes": [f"{g}${g}" for g in etab.groups],
    }
    if partner_dn is not None:
        # The collège points to its lycée: the cité scolaire link ENTs really write.
        attrs["ENTEtablissementStructRattachFctl"] = [partner_dn]
    return attrs


@dataclass
class _Truth:
    attrs: dict[str, list[str]]
    kinds: set[Kind]
    uais: set[str]
    classes: set[tuple[str, str]] = field(default_factory=set)
    groups: set[tuple[str, str]] = field(default_factory=set)
    taught_classes: set[tuple[str, str]] = field(default_factory=set)
    taught_groups: set[tuple[str, str]] = field(default_factory=set)
    children: list[str] = field(default_factory=list)
    broken: Broken | None = None
    level: str | None = None
    subject: str | None = None

    def freeze(self, dn: str) -> GeneratedPerson:
        return GeneratedPerson(
            uid=self.attrs["uid"][0],
            dn=dn,
            kinds=frozenset(self.kinds),
            firstname=self.attrs.get("givenName", [""])[0],
            lastname=self.attrs["sn"][0],
            uais=frozenset(self.uais),
            classes=frozenset(self.classes),
            groups=frozenset(self.groups),
            taught_classes=frozenset(self.taught_classes),
            taught_groups=frozenset(self.taught_groups),
            children=tuple(self.children),
            broken=self.broken,
            level=self.level,
            subject=self.subject,
        )


def _students(
    b: _DirectoryBuilder, e: GeneratedEstablishment, count: int, broken: bool
) -> list[_Truth]:
    out: list[_Truth] = []
    for k in range(count):
        roll = b.rng.random()
        profiles = (
            ["National_ELV"]
            if roll < 0.6
            else ["National_ELV", "National_1"]
            if roll < 0.9
            else ["national_elv"]
        )
        attrs = b.person("E", ["ENTEleve"], profiles)
        code = e.classes[k % len(e.classes)]
        short = code.rstrip("0123456789")
        level = LEVEL_LABELS.get(short, short)
        attrs |= {
            "ENTPersonStructRattach": [b.variant(e.dn)],
            "ENTEleveStatutEleve": ["SCOLAIRE"],
            "ENTEleveMEF": ["00000000000"],
            "ENTEleveLibelleMEF": [code],
            "ENTEleveNivFormation": [level],
            "ENTEleveFiliere": [code.rstrip("0123456789")],
            "ENTEleveMajeur": ["N"],
            "ENTEleveClasses": [f"{b.variant(e.dn)}${code}"],
        }
        truth = _Truth(attrs, {"student"}, {e.uai}, classes={(e.uai, code)}, level=level)
        if b.rng.random() < 0.3:
            group = b.rng.choice(e.groups)
            attrs["ENTEleveGroupes"] = [f"{b.variant(e.dn)}${group}"]
            truth.groups.add((e.uai, group))
        if broken and k == count - 1:
            del attrs["givenName"]
            truth.broken = "missing-givenName"
        elif broken and k == count - 2:
            attrs["ENTEleveClasses"] = [code]
            truth.broken, truth.classes = "malformed-class", set()
        elif broken and k == count - 3:
            unknown = f"ENTStructureSIREN=99999999999999,ou=structures,{b.suffix}"
            attrs["ENTEleveClasses"] = [f"{unknown}${code}"]
            truth.broken, truth.classes = "unknown-structure", set()
        out.append(truth)
    return out


def _teacher(b: _DirectoryBuilder, etabs: list[GeneratedEstablishment]) -> _Truth:
    roll = b.rng.random()
    profiles = (
        ["National_ENS"]
        if roll < 0.6
        else ["National_ENS", "National_3"]
        if roll < 0.8
        else ["national_ens"]
        if roll < 0.9
        else []  # AAF-style: the profile comes from the function code
    )
    attrs = b.person("T", ["ENTAuxEnseignant"], profiles)
    truth = _Truth(attrs, {"teacher"}, {e.uai for e in etabs})
    code, label = b.rng.choice(DISCIPLINES)
    attrs["ENTPersonStructRattach"] = [b.variant(etabs[0].dn)]
    attrs["ENTPersonFonctions"] = [
        f"{b.variant(e.dn)}$ENS$ENSEIGNEMENT${code}${label}" for e in etabs
    ]
    classes: list[str] = []
    groups: list[str] = []
    for e in etabs:
        for name in b.rng.sample(e.classes, min(len(e.classes), 2 + b.rng.randrange(2))):
            classes.append(f"{b.variant(e.dn)}${name}")
            truth.taught_classes.add((e.uai, name))
        if b.rng.random() < 0.4:
            group = b.rng.choice(e.groups)
            groups.append(f"{b.variant(e.dn)}${group}")
            truth.taught_groups.add((e.uai, group))
    attrs["ENTAuxEnsClasses"] = classes
    if groups:
        attrs["ENTAuxEnsGroupes"] = groups
    # The subject in each class and group, as <etab DN>$<code>$<subject>: the values
    # above with the subject appended, so that the random draws stay the same.
    truth.subject = SUBJECT_CODES[code]
    attrs["ENTAuxEnsClassesMatieres"] = [f"{value}${truth.subject}" for value in classes]
    if groups:
        attrs["ENTAuxEnsGroupesMatieres"] = [f"{value}${truth.subject}" for value in groups]
    return truth


#: BCN subject codes ("matières") of the disciplines teachers are given.
SUBJECT_CODES = {
    "L1300": "061300",
    "L0422": "030201",
    "L0201": "020100",
    "L1000": "040100",
    "L1500": "070100",
    "L1600": "062100",
}


def _staff(b: _DirectoryBuilder, e: GeneratedEstablishment, k: int) -> _Truth:
    function, label, profile = STAFF_FUNCTIONS[k % len(STAFF_FUNCTIONS)]
    attrs = b.person("S", ["ENTAuxNonEnsEtab"], [profile])
    attrs["ENTPersonStructRattach"] = [b.variant(e.dn)]
    attrs["ENTPersonFonctions"] = [f"{b.variant(e.dn)}${function}${label}$-$-"]
    return _Truth(attrs, {"staff"}, {e.uai})


def _link_parent(b: _DirectoryBuilder, parent: _Truth, children: list[_Truth]) -> None:
    parent.attrs["ENTAuxPersRelEleveEleve"] = [b.dn(c.attrs) for c in children]
    for child in children:
        parent.children.append(child.attrs["uid"][0])
        parent.uais |= child.uais
        child.attrs.setdefault("ENTEleveParents", []).append(b.dn(parent.attrs))


def generate(
    establishments: int = 4,
    people: int = 400,
    *,
    seed: int = 0,
    suffix: str = "dc=ent-test,dc=fr",
    shape: Shape = "sdet",
) -> GeneratedDirectory:
    """A directory of ``establishments`` schools and about ``people`` people, same for a seed.

    Both shapes hold the same people for a seed; only where their groups
    are written differs (see the module's docstring).
    """
    if establishments < 1:
        raise ValueError("at least one establishment")
    b = _DirectoryBuilder(random.Random(seed), suffix)
    budget = max(40, people // establishments)
    etabs = _establishments(establishments, suffix, budget)
    by_uai = {e.uai: e for e in etabs}
    teachers_n, staff_n = max(2, budget * 8 // 100), max(1, budget * 3 // 100)
    parents_n = budget * 27 // 100
    students_n = budget - teachers_n - staff_n - parents_n
    truths: list[_Truth] = []
    students: dict[str, list[_Truth]] = {}
    for i, e in enumerate(etabs):
        students[e.uai] = _students(b, e, students_n, broken=i % 3 == 0)
        truths += students[e.uai]
    for e in etabs:
        partner = by_uai[e.partner] if e.partner else None
        for _ in range(teachers_n):
            both = partner is not None and b.rng.random() < 0.35
            truths.append(_teacher(b, [e, partner] if both and partner else [e]))
        truths += [_staff(b, e, k) for k in range(staff_n)]
    cite = {e.uai: e.partner for e in etabs if e.partner}
    cite |= {lycee: college for college, lycee in cite.items() if lycee}
    for e in etabs:
        own = [s for s in students[e.uai] if s.broken is None]
        others = [s for s in students.get(cite.get(e.uai) or "", []) if s.broken is None]
        for k in range(min(parents_n, len(own))):
            attrs = b.person("P", ["ENTAuxPersRelEleve"], [("National_TUT", "National_2")[k % 2]])
            parent = _Truth(attrs, {"parent"}, set())
            if b.rng.random() < 0.95:
                attrs["ENTPersonStructRattach"] = [b.variant(e.dn)]
                parent.uais.add(e.uai)
            children = [own[k]]
            if b.rng.random() < 0.3:
                children.append(b.rng.choice(own))
            if others and b.rng.random() < 0.2:
                children.append(b.rng.choice(others))
            _link_parent(b, parent, list({id(c): c for c in children}.values()))
            truths.append(parent)
    # A teacher who is also a parent: one entry, two families, one account.
    dual = next(t for t in truths if t.kinds == {"teacher"} and etabs[0].uai in t.uais)
    dual.attrs["objectClass"].append("ENTAuxPersRelEleve")
    dual.kinds.add("parent")
    dual.attrs["ENTPersonProfils"] = [
        *dual.attrs.get("ENTPersonProfils", ["National_ENS"]),
        "National_TUT",
    ]
    _link_parent(b, dual, [next(s for s in students[etabs[0].uai] if s.broken is None)])

    entries: list[tuple[str, dict[str, list[str]]]] = [
        (
            suffix,
            {
                "objectClass": ["dcObject", "organization"],
                "dc": [suffix.split(",")[0].split("=")[1]],
                "o": ["ENT test"],
            },
        ),
        (f"ou=people,{suffix}", {"objectClass": ["organizationalUnit"], "ou": ["people"]}),
        (f"ou=structures,{suffix}", {"objectClass": ["organizationalUnit"], "ou": ["structures"]}),
    ]
    entries += [
        (e.dn, _structure_entry(e, by_uai[e.partner].dn if e.partner else None)) for e in etabs
    ]
    groups = _group_entries(b, etabs, truths) if shape == "grouped" else []
    entries += [(b.dn(t.attrs), t.attrs) for t in truths]
    entries += groups
    return GeneratedDirectory(
        suffix=suffix,
        establishments=tuple(etabs),
        people=tuple(t.freeze(b.dn(t.attrs)) for t in truths),
        entries=tuple(entries),
        shape=shape,
    )


def group_name(etab: GeneratedEstablishment, group: str) -> str:
    """The ``cn`` of a group entry of a ``"grouped"`` directory, ESCO's way."""
    short = etab.name.removesuffix("-ac-TEST")
    return f"Etablissements:{short}_{etab.uai}:{group}"


def _group_entries(
    b: _DirectoryBuilder, etabs: list[GeneratedEstablishment], truths: list[_Truth]
) -> list[tuple[str, dict[str, list[str]]]]:
    """Move the groups off the people: entries with member DNs, teachers' isMemberOf.

    The truth keeps who is in which group, teachers as members like their
    students; taught classes have no place in this shape (its teachers have
    no ENTAuxEnseignant class), so they go.
    """
    by_uai = {e.uai: e for e in etabs}
    members: dict[tuple[str, str], list[str]] = {}
    admins: list[str] = []
    for t in truths:
        attrs = t.attrs
        attrs.pop("ENTEleveGroupes", None)
        for pair in sorted(t.groups):
            members.setdefault(pair, []).append(b.dn(attrs))
        if "teacher" in t.kinds:
            attrs["objectClass"] = [c for c in attrs["objectClass"] if c != "ENTAuxEnseignant"]
            attrs["objectClass"].append("eduMember")
            # ENTAuxEnseignant's attributes go with the class.
            for name in [n for n in attrs if n.startswith("ENTAuxEns")]:
                del attrs[name]
            if t.taught_groups:
                attrs["isMemberOf"] = [group_name(by_uai[u], g) for u, g in sorted(t.taught_groups)]
            # A teacher is a member of the group entry like its students.
            t.groups |= t.taught_groups
            t.taught_classes, t.taught_groups = set(), set()
        elif "staff" in t.kinds and not admins:
            admins.append(b.dn(attrs))
    base = f"ou=groups,{b.suffix}"
    out: list[tuple[str, dict[str, list[str]]]] = [
        (base, {"objectClass": ["organizationalUnit"], "ou": ["groups"]})
    ]
    for (uai, group), dns in sorted(members.items()):
        cn = group_name(by_uai[uai], group)
        out.append(
            (
                f"cn={cn},{base}",
                {
                    "objectClass": ["groupOfNames"],
                    "cn": [cn],
                    "description": [f"Groupe {group}"],
                    "member": dns,
                },
            )
        )
    # A group that is no cohort: the discriminant must leave it out.
    if admins:
        out.append(
            (
                f"cn=Applications:Moodle:admins,{base}",
                {
                    "objectClass": ["groupOfNames"],
                    "cn": ["Applications:Moodle:admins"],
                    "member": admins,
                },
            )
        )
    return out
