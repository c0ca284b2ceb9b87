"""Reading Pronote identifier files: streamed, namespace-agnostic, hostile input refused.

Two documents are read: Pronote's identifier export (``IdPN_To_<ENT>.xml``,
whose names are inferred and set in :class:`~farm.pronote.settings.IdpnFormat`)
and a ``PARTENAIRE_INDEX`` document (RapprochementSSO v2.0, Index
Education's published schema). Elements are found by local name, so a
namespace prefix or a default namespace changes nothing; the root's
namespace alone is checked, because it says which document this is.

Hostile input is refused and named before anything is used from the file:

- any document type declaration (``<!DOCTYPE``), whatever it holds: no
  Pronote file has one, and it is what external entities (XXE) and entity
  expansion ("billion laughs") need. The parser never loads a DTD, never
  resolves an entity and never touches the network either;
- libxml2's own safety limits (a text node over 10 MB, nesting over 256
  levels) are kept, not lifted;
- a file is streamed (``iterparse``) and each person's elements are freed
  once read, so memory stays bounded whatever the file's size;
  :func:`read_pronote_file` also refuses a file listing more than
  ``max_people`` people.

A refusal is a :class:`PronoteFileError` (or :class:`HostileFile`) naming
the file, the line and the reason; value problems (a person without an
identifier, a malformed date, one identifier twice) are all gathered and
the whole file is refused with the list: nothing is imported from a file
that was refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final

from lxml import etree

from farm.pronote.records import (
    FileEstablishment,
    FileKind,
    ImportMode,
    Population,
    PronoteFile,
    PronotePerson,
)
from farm.pronote.settings import IdpnFormat, PronoteSettings

PARTNER_INDEX_ROOT: Final = "PARTENAIRE_INDEX"
PARTNER_INDEX_NAMESPACE: Final = "http://www.index-education.com/rapprochementssoV2.0"
CONTAINER_ROOT: Final = "ImportChiffre"
#: A person element with more children than this is refused (a real one has a handful).
MAX_CHILDREN: Final = 256
#: Problems listed in a refusal; the rest are counted.
SHOWN_PROBLEMS: Final = 20
_HEAD_BYTES: Final = 1 << 20


class PronoteFileError(Exception):
    """A file that is refused: ``file``, ``line`` (None when unknown), ``reason``, ``problems``."""

    def __init__(
        self, file: str, reason: str, line: int | None = None, problems: Sequence[str] = ()
    ) -> None:
        self.file = file
        self.reason = reason
        self.line = line
        self.problems = tuple(problems)
        where = f"{file}:{line}" if line is not None else file
        text = f"{where}: {reason}"
        if self.problems:
            shown = [f"  {p}" for p in self.problems[:SHOWN_PROBLEMS]]
            more = len(self.problems) - SHOWN_PROBLEMS
            if more > 0:
                shown.append(f"  ... and {more} more")
            text += "\n" + "\n".join(shown)
        super().__init__(text)


class HostileFile(PronoteFileError):
    """A file built to attack its reader (DTD, entities, beyond libxml2's limits)."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where things are in one kind of document, by local name."""

    kind: FileKind
    containers: Mapping[str, tuple[Population, frozenset[str]]]
    establishments: tuple[frozenset[str], frozenset[str]]
    establishment_uai: tuple[str, ...]
    establishment_name: tuple[str, ...]
    pronote_id: tuple[str, ...]
    lastname: tuple[str, ...]
    firstname: tuple[str, ...]
    birth_date: tuple[str, ...]
    ine: tuple[str, ...]
    directory_id: tuple[str, ...]
    establishment: tuple[str, ...]
    partner: tuple[str, ...]
    date: tuple[str, ...]
    mode: tuple[str, ...] = ()
    full_values: frozenset[str] = frozenset()
    partial_values: frozenset[str] = frozenset()
    ident: tuple[str, ...] = ()
    guardian_link: frozenset[str] = frozenset()


def _idpn_layout(names: IdpnFormat) -> _Layout:
    containers: dict[str, tuple[Population, frozenset[str]]] = {}
    for population in Population:
        where = names.population(population)
        for container in where.container:
            containers[container] = (population, frozenset(where.person))
    return _Layout(
        kind=FileKind.IDPN,
        containers=containers,
        establishments=(
            frozenset(names.establishments.container),
            frozenset(names.establishments.person),
        ),
        establishment_uai=names.establishment_uai,
        establishment_name=names.establishment_name,
        pronote_id=names.pronote_id,
        lastname=names.lastname,
        firstname=names.firstname,
        birth_date=names.birth_date,
        ine=names.ine,
        directory_id=names.directory_id,
        establishment=names.establishment,
        partner=names.partner,
        date=names.date,
        mode=names.mode,
        full_values=frozenset(v.casefold() for v in names.full_values),
        partial_values=frozenset(v.casefold() for v in names.partial_values),
    )


# The published schema: nothing here is configurable.
_PARTNER_INDEX = _Layout(
    kind=FileKind.PARTNER_INDEX,
    containers={
        "Eleves": (Population.PUPILS, frozenset({"Eleve"})),
        "Professeurs": (Population.TEACHERS, frozenset({"Professeur"})),
        "Personnels": (Population.STAFF, frozenset({"Personnel"})),
        "Responsables": (Population.GUARDIANS, frozenset({"Responsable"})),
    },
    establishments=(frozenset({"Etablissements"}), frozenset({"Etablissement"})),
    establishment_uai=("Numero",),
    establishment_name=("Nom",),
    pronote_id=("ID_Partenaire",),
    lastname=("Nom",),
    firstname=("Prenom",),
    birth_date=("DateNaissance",),
    ine=("NumeroNational",),
    directory_id=("ID_Partenaire",),
    establishment=(),
    partner=("Partenaire",),
    date=("Date",),
    ident=("Ident",),
    guardian_link=frozenset({"Responsable"}),
)


def _local(tag: object) -> str:
    # Comments and processing instructions have a function as tag: no name.
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _line(element: etree._Element) -> int | None:
    line = getattr(element, "sourceline", None)
    return line if isinstance(line, int) else None


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def parse_date(text: str) -> date:
    """``yyyy-mm-dd`` (xs:date, an xs:dateTime's date part too) or ``dd/mm/yyyy``.

    Raises :class:`ValueError` for anything else.
    """
    text = text.strip()
    if re.fullmatch(r"\d{2}/\d{2}/\d{4}", text):
        return date(int(text[6:]), int(text[3:5]), int(text[:2]))
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", text)
    if match:
        return date(int(match[1]), int(match[2]), int(match[3]))
    raise ValueError(f"{text!r} is not a date (yyyy-mm-dd or dd/mm/yyyy)")


def _parse_datetime(text: str) -> datetime:
    text = text.strip()
    match = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?", text)
    if match:
        day, month, year, hour, minute, second = match.groups()
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time") from None


def _doctype_line(path: Path) -> int | None:
    """The line of the file's ``<!DOCTYPE``, when it is in the first MiB in an 8-bit encoding."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEAD_BYTES)
    except OSError:
        return None
    at = head.find(b"<!DOCTYPE")
    return None if at < 0 else head.count(b"\n", 0, at) + 1


_HUGE = ("huge", "excessive depth", "too long", "limit exceeded")


def _syntax_error(name: str, error: etree.XMLSyntaxError) -> PronoteFileError:
    # iterparse's own message can be vague ("no element found"): libxml2's log says what.
    message, line, column = str(error.msg or error).strip(), error.lineno or None, None
    # The thread's log was cleared when the parse began: its last entry is this parse's.
    entry = getattr(error.error_log, "last_error", None)
    if entry is not None and entry.level_name == "FATAL":
        message, line, column = entry.message.strip(), entry.line or line, entry.column
    message = re.sub(r", line \d+, column \d+$", "", message)
    if column:
        message += f" (column {column})"
    lowered = message.lower()
    if "amplification" in lowered or "entity reference loop" in lowered:
        return HostileFile(name, f"entity expansion refused: {message}", line)
    if any(word in lowered for word in _HUGE):
        return HostileFile(name, f"beyond the XML parser's safety limits: {message}", line)
    return PronoteFileError(name, f"not well-formed XML: {message}", line)


@dataclass
class _Header:
    kind: FileKind | None = None
    partner: str | None = None
    exported_at: datetime | None = None
    mode: ImportMode | None = None
    establishments: list[FileEstablishment] = field(default_factory=list)


class PronoteReader:
    """One file, streamed: :meth:`people` yields its people as it reads them.

    The header (kind, partner, date, mode) is known once the root was read,
    establishments once they were passed. Value problems are gathered in
    :attr:`problems` and the people they concern are not yielded; a file
    that cannot be read, is hostile or is not a Pronote file raises
    :class:`PronoteFileError` from :meth:`people`.
    """

    def __init__(self, path: Path, settings: PronoteSettings | None = None) -> None:
        self.path = path
        self.name = path.name
        self.settings = settings or PronoteSettings()
        self.header = _Header()
        self.problems: list[str] = []
        self._idpn = _idpn_layout(self.settings.idpn)

    def _problem(self, line: int | None, message: str) -> None:
        self.problems.append(f"line {line}: {message}" if line else message)

    def people(self) -> Iterator[PronotePerson]:
        """Every readable person of the file, in file order."""
        try:
            empty = self.path.stat().st_size == 0
        except OSError as error:
            raise PronoteFileError(self.name, f"cannot be read: {error}") from None
        if empty:
            raise PronoteFileError(self.name, "the file is empty")
        etree.clear_error_log()
        try:
            # A path string lets libxml2 read the file itself, in chunks.
            events = etree.iterparse(
                str(self.path),
                events=("start", "end"),
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                dtd_validation=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
            )
        except OSError as error:
            raise PronoteFileError(self.name, f"cannot be read: {error}") from None
        try:
            yield from self._walk(events)
        except etree.XMLSyntaxError as error:
            raise _syntax_error(self.name, error) from None
        except OSError as error:
            raise PronoteFileError(self.name, f"cannot be read: {error}") from None

    def _walk(self, events: Iterator[tuple[str, etree._Element]]) -> Iterator[PronotePerson]:
        depth = 0
        layout: _Layout | None = None
        population: tuple[Population, frozenset[str]] | None = None
        in_establishments = False
        children = 0
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    layout = self._root(element)
                elif depth == 2 and layout is not None:
                    name = _local(element.tag)
                    population = layout.containers.get(name)
                    in_establishments = name in layout.establishments[0]
                elif depth == 4 and (population is not None or in_establishments):
                    children += 1
                    if children > MAX_CHILDREN:
                        raise HostileFile(
                            self.name,
                            f"an element has more than {MAX_CHILDREN} children; "
                            "no Pronote person has so many",
                            _line(element),
                        )
                continue
            # "end"
            if depth == 3 and layout is not None:
                name = _local(element.tag)
                if population is not None and name in population[1]:
                    person = self._person(layout, population[0], element)
                    if person is not None:
                        yield person
                elif in_establishments and name in layout.establishments[1]:
                    self._establishment(layout, element)
                children = 0
            # Free what was read, and what came before it: memory stays bounded
            # whatever the size. A person's (or establishment's) own children
            # wait until the person itself was read.
            kept = depth >= 4 and (population is not None or in_establishments)
            if depth >= 2 and not kept:
                element.clear()
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
            if depth == 2:
                population, in_establishments = None, False
            depth -= 1

    def _root(self, root: etree._Element) -> _Layout:
        line = _line(root)
        if getattr(root.getroottree().docinfo, "doctype", ""):
            raise HostileFile(
                self.name,
                "a document type declaration (<!DOCTYPE>) is refused: Pronote files have "
                "none, and DTDs are how external entities (XXE) and entity expansion "
                "(billion laughs) attack a reader",
                _doctype_line(self.path) or line,
            )
        tag = root.tag if isinstance(root.tag, str) else ""
        name, namespace = _local(tag), _namespace(tag)
        shown = f"{name} (namespace {namespace or 'none'})"
        if name == PARTNER_INDEX_ROOT:
            if namespace != PARTNER_INDEX_NAMESPACE:
                raise PronoteFileError(
                    self.name,
                    f"root element {shown}: a PARTENAIRE_INDEX must be in the "
                    f"RapprochementSSO v2.0 namespace {PARTNER_INDEX_NAMESPACE}",
                    line,
                )
            layout = _PARTNER_INDEX
        elif name == CONTAINER_ROOT:
            raise PronoteFileError(
                self.name,
                "an encrypted ImportChiffre container: only Index Education can open it; "
                "import the IdPN export Pronote made instead",
                line,
            )
        elif name in self.settings.idpn.roots:
            if not _namespace_accepted(namespace, self.settings.idpn.namespaces):
                accepted = ", ".join(n or "none" for n in self.settings.idpn.namespaces)
                raise PronoteFileError(
                    self.name,
                    f"root element {shown}: an IdPN export's namespace must start with "
                    f"one of: {accepted} (farm.toml [pronote] idpn.namespaces)",
                    line,
                )
            layout = self._idpn
        else:
            expected = ", ".join([*self.settings.idpn.roots, PARTNER_INDEX_ROOT])
            raise PronoteFileError(
                self.name,
                f"root element {shown} is not a Pronote identifier file; expected one of: "
                f"{expected} (farm.toml [pronote] idpn.roots)",
                line,
            )
        attributes = _attributes(root)
        header = self.header
        header.kind = layout.kind
        header.partner = _first(attributes, {}, layout.partner)
        when = _first(attributes, {}, layout.date)
        if when:
            try:
                header.exported_at = _parse_datetime(when)
            except ValueError as error:
                self._problem(line, f"root: {error}")
        declared = _first(attributes, {}, layout.mode) if layout.mode else None
        if declared:
            folded = declared.casefold()
            if folded in layout.full_values:
                header.mode = ImportMode.FULL
            elif folded in layout.partial_values:
                header.mode = ImportMode.PARTIAL
            else:
                self._problem(line, f"root: export mode {declared!r} is neither full nor partial")
        return layout

    def _establishment(self, layout: _Layout, element: etree._Element) -> None:
        attributes, texts = _attributes(element), _texts(element)
        uai = _first(attributes, texts, layout.establishment_uai)
        if not uai:
            self._problem(_line(element), "an establishment without a UAI")
            return
        name = _first(attributes, texts, layout.establishment_name) or ""
        self.header.establishments.append(FileEstablishment(uai.upper(), name))

    def _person(
        self, layout: _Layout, population: Population, element: etree._Element
    ) -> PronotePerson | None:
        line = _line(element) or 0
        attributes, texts = _attributes(element), _texts(element)
        what = f"{_local(element.tag)}"
        pronote_id = _first(attributes, texts, layout.pronote_id)
        lastname = _first(attributes, texts, layout.lastname)
        firstname = _first(attributes, texts, layout.firstname)
        if pronote_id is None or lastname is None or firstname is None:
            missing = [
                label
                for label, value in (
                    (f"identifier ({'/'.join(layout.pronote_id)})", pronote_id),
                    (f"surname ({'/'.join(layout.lastname)})", lastname),
                    (f"first name ({'/'.join(layout.firstname)})", firstname),
                )
                if not value
            ]
            self._problem(line, f"{what} without {', '.join(missing)}")
            return None
        birth_date = None
        born = _first(attributes, texts, layout.birth_date)
        if born:
            try:
                birth_date = parse_date(born)
            except ValueError as error:
                self._problem(line, f"{what} {pronote_id}: birth date: {error}")
                return None
        guardians: tuple[str, ...] = ()
        if layout.guardian_link:
            guardians = tuple(
                ident
                for child in element
                if _local(child.tag) in layout.guardian_link
                for ident in [_first(_attributes(child), {}, ("Ident",))]
                if ident
            )
        establishment = _first(attributes, texts, layout.establishment)
        return PronotePerson(
            population=population,
            pronote_id=pronote_id,
            lastname=lastname,
            firstname=firstname,
            line=line,
            birth_date=birth_date,
            ine=_first(attributes, texts, layout.ine),
            directory_id=_first(attributes, texts, layout.directory_id),
            establishment=establishment.upper() if establishment else None,
            ident=_first(attributes, texts, layout.ident) if layout.ident else None,
            guardians=guardians,
        )


def _namespace_accepted(namespace: str, accepted: Sequence[str]) -> bool:
    return any(
        namespace == "" if prefix == "" else namespace.startswith(prefix) for prefix in accepted
    )


def _attributes(element: etree._Element) -> dict[str, str]:
    return {_local(str(name)): str(value) for name, value in element.attrib.items()}


def _texts(element: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for child in element:
        name = _local(child.tag)
        if name and name not in out and len(child) == 0:
            out[name] = child.text or ""
    return out


def _first(
    attributes: Mapping[str, str], texts: Mapping[str, str], names: Sequence[str]
) -> str | None:
    for name in names:
        value = attributes.get(name)
        if value is None:
            value = texts.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def read_pronote_file(path: Path, settings: PronoteSettings | None = None) -> PronoteFile:
    """Read and check a whole file; :class:`PronoteFileError` when it is refused.

    Beyond :class:`PronoteReader`'s checks: the same identifier twice in one
    population, and more than ``max_people`` people, refuse the file.
    """
    reader = PronoteReader(path, settings)
    limit = reader.settings.max_people
    people: list[PronotePerson] = []
    seen: dict[tuple[Population, str], int] = {}
    for person in reader.people():
        if len(people) >= limit:
            raise PronoteFileError(
                reader.name,
                f"more than {limit} people: refused (farm.toml [pronote] max_people)",
                person.line,
            )
        key = (person.population, person.pronote_id)
        first = seen.get(key)
        if first is not None:
            reader.problems.append(
                f"line {person.line}: {person.population.singular} {person.pronote_id} "
                f"repeats the identifier of line {first}"
            )
            continue
        seen[key] = person.line
        people.append(person)
    kind = reader.header.kind
    if kind is None:
        raise PronoteFileError(reader.name, "empty document")
    if reader.problems:
        count = len(reader.problems)
        raise PronoteFileError(
            reader.name,
            f"{count} problem{'s' if count != 1 else ''}: nothing was imported",
            problems=reader.problems,
        )
    header = reader.header
    return PronoteFile(
        name=reader.name,
        kind=kind,
        people=tuple(people),
        establishments=tuple(header.establishments),
        partner=header.partner,
        exported_at=header.exported_at,
        mode=header.mode,
    )
