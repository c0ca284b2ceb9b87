"""How directory attributes become Moodle fields: typed, validated rules with SDET defaults.

A :class:`FieldRule` answers the questions an ENT plugin asks for one Moodle
field: which attribute, which part of each value (a regex capture), a
transcoding table, a template and a case. :class:`MappingRules` holds one
rule per Moodle field, the profile tables and the cohort scheme; with no
mapping written at all it fits a plain SDET directory.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from farm.model import Profile

PERSON_PLACEHOLDERS = frozenset({"value", "uid", "username", "firstname", "lastname", "dn"})
COHORT_PLACEHOLDERS = frozenset({"uai", "code", "etab", "profile", "label"})


def check_template(template: str, allowed: frozenset[str], where: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{where}: malformed template {template!r}: {exc}") from None
    unknown = names - allowed
    if unknown:
        raise ValueError(
            f"{where}: unknown placeholder(s) {sorted(unknown)} in {template!r}; "
            f"allowed: {sorted(allowed)}"
        )


def parse_date(text: str) -> date | None:
    """A birth date written ``dd/mm/yyyy`` (SDET, AAF) or ``yyyy-mm-dd``; None if neither."""
    text = text.strip()
    try:
        if len(text) == 10 and text[2] == "/" and text[5] == "/":
            return date(int(text[6:]), int(text[3:5]), int(text[:2]))
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return None
    return None


class FieldRule(BaseModel):
    """One Moodle field computed from one directory attribute.

    Each value of ``attribute`` is tried in turn: ``pattern`` (when set) must
    match and its group ``value`` (or group 1, or the whole match) is kept;
    ``transcode`` maps it (keys compared without case; ``"*"`` catches the
    rest); ``kind = "date"`` turns ``dd/mm/yyyy`` or ``yyyy-mm-dd`` into
    ``yyyy-mm-dd``; ``template`` formats it; ``case`` folds it. The first value
    that survives wins. With none, ``default`` (a template too) is used;
    without a default the field is missing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str | None = None
    pattern: str | None = None
    transcode: dict[str, str] = Field(default_factory=dict)
    template: str = "{value}"
    case: Literal["keep", "lower", "upper"] = "keep"
    kind: Literal["text", "date"] = "text"
    default: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regex: {exc}") from None
        return value

    @model_validator(mode="after")
    def _templates_known(self) -> Self:
        check_template(self.template, PERSON_PLACEHOLDERS, "template")
        if self.default is not None:
            check_template(self.default, PERSON_PLACEHOLDERS - {"value"}, "default")
        if self.attribute is None and self.default is None and "{value}" in self.template:
            raise ValueError("a rule needs an attribute, or a default without {value}")
        return self

    def apply(self, values: Iterable[str], names: Mapping[str, str]) -> str | None:
        """The field's value from an attribute's ``values``; ``names`` fill the templates."""
        return FieldReader(self).apply(values, names)


class FieldReader:
    """A :class:`FieldRule` made ready for many entries: regex compiled, table folded.

    A read builds one per rule and applies it to every entry; the rule
    itself stays a plain frozen model.
    """

    __slots__ = (
        "_date",
        "_default",
        "_direct",
        "_fold",
        "_pattern",
        "_table",
        "_template",
        "attribute",
        "key",
    )

    def __init__(self, rule: FieldRule) -> None:
        self.attribute = rule.attribute
        #: The attribute's lower-cased name, as :class:`Entry` keys them.
        self.key = rule.attribute.lower() if rule.attribute is not None else None
        self._pattern = re.compile(rule.pattern) if rule.pattern is not None else None
        self._table = {k.casefold(): v for k, v in rule.transcode.items()} or None
        self._date = rule.kind == "date"
        # No pattern, table or date: a value is used as it is.
        self._direct = self._pattern is None and self._table is None and not self._date
        # "{value}" alone formats to the value itself: skip the formatting.
        self._template = None if rule.template == "{value}" else rule.template
        self._fold = _FOLDS[rule.case]
        self._default = rule.default

    def _extract(self, raw: str) -> str | None:
        value = raw
        if self._pattern is not None:
            match = self._pattern.search(raw)
            if match is None:
                return None
            if "value" in self._pattern.groupindex:
                value = match.group("value") or ""
            elif self._pattern.groups:
                value = match.group(1) or ""
            else:
                value = match.group(0)
        if self._table is not None:
            table = self._table
            value = table.get(value.casefold(), table.get("*", value))
        if self._date:
            parsed = parse_date(value)
            if parsed is None:
                return None
            value = parsed.isoformat()
        return value

    def apply(self, values: Iterable[str], names: Mapping[str, str]) -> str | None:
        """The field's value from an attribute's ``values``; ``names`` fill the templates."""
        fold = self._fold
        for raw in values:
            if not raw:
                continue
            value = raw if self._direct else self._extract(raw)
            if value is None or value == "":
                continue
            if self._template is not None:
                value = self._template.format_map({**names, "value": value})
            return fold(value) if fold is not None else value
        if self._default is not None:
            value = self._default.format_map(names)
            return fold(value) if fold is not None else value
        return None


_FOLDS: dict[str, Callable[[str], str] | None] = {
    "keep": None,
    "lower": str.lower,
    "upper": str.upper,
}


class CohortKind(StrEnum):
    """The cohorts the source can make, each with its own idnumber and name template."""

    CLASS = "class"
    GROUP = "group"
    CLASS_TEACHERS = "class_teachers"
    GROUP_TEACHERS = "group_teachers"
    CLASS_PARENTS = "class_parents"
    PROFILE = "profile"
    LEVEL = "level"


DEFAULT_COHORT_IDNUMBERS: dict[CohortKind, str] = {
    CohortKind.CLASS: "{uai}:{code}",
    CohortKind.GROUP: "{uai}:group:{code}",
    CohortKind.CLASS_TEACHERS: "{uai}:{code}:teachers",
    CohortKind.GROUP_TEACHERS: "{uai}:group:{code}:teachers",
    CohortKind.CLASS_PARENTS: "{uai}:{code}:parents",
    CohortKind.PROFILE: "{uai}:{profile}",
    CohortKind.LEVEL: "{uai}:level:{code}",
}
DEFAULT_COHORT_NAMES: dict[CohortKind, str] = {
    CohortKind.CLASS: "{code} ({etab})",
    CohortKind.GROUP: "{code} ({etab})",
    CohortKind.CLASS_TEACHERS: "Teachers of {code} ({etab})",
    CohortKind.GROUP_TEACHERS: "Teachers of {code} ({etab})",
    CohortKind.CLASS_PARENTS: "Parents of {code} ({etab})",
    CohortKind.PROFILE: "{label} ({etab})",
    CohortKind.LEVEL: "{code} ({etab})",
}
#: The attribute of a student's level (``TERMINALE GENERALE``), one cohort per value.
LEVEL_ATTRIBUTE = "ENTEleveNivFormation"
PROFILE_LABELS: dict[Profile, str] = {
    Profile.STUDENT: "Students",
    Profile.TEACHER: "Teachers",
    Profile.STAFF: "Staff",
    Profile.PARENT: "Parents",
    Profile.TUTOR: "Tutors",
}


class CohortRules(BaseModel):
    """The cohort scheme.

    A cohort's idnumber is the farm's prefix (``[farm] cohort_prefix``, see
    :mod:`farm.cohorts`) + (``year`` + ``":"`` when a year is set) + the
    kind's template, e.g. ``farm:2026:0999901Z:2NDE1``. The yearly part lets
    the sync release last year's cohorts instead of deleting them.

    The ``level`` kind (off by default) makes one cohort per value of
    ``ENTEleveNivFormation`` (e.g. ``TERMINALE GENERALE``) and
    establishment, whose members are the students of that level there.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: str | None = None
    kinds: frozenset[CohortKind] = frozenset(
        {
            CohortKind.CLASS,
            CohortKind.GROUP,
            CohortKind.CLASS_TEACHERS,
            CohortKind.GROUP_TEACHERS,
            CohortKind.PROFILE,
        }
    )
    idnumbers: dict[CohortKind, str] = Field(default_factory=lambda: dict(DEFAULT_COHORT_IDNUMBERS))
    names: dict[CohortKind, str] = Field(default_factory=lambda: dict(DEFAULT_COHORT_NAMES))
    context: str = "system"

    @model_validator(mode="before")
    @classmethod
    def _prefix_is_the_farms(cls, data: Any) -> Any:
        if isinstance(data, dict) and "prefix" in data:
            raise ValueError(
                "the cohort prefix is the farm's: set cohort_prefix in farm.toml's [farm] "
                "table (a source extends it with year and templates, never replaces it)"
            )
        return data

    @field_validator("idnumbers", "names")
    @classmethod
    def _complete_templates(cls, value: dict[CohortKind, str]) -> dict[CohortKind, str]:
        for kind, template in value.items():
            check_template(template, COHORT_PLACEHOLDERS, f"cohort template for {kind}")
        return value

    def idnumber_template(self, kind: CohortKind) -> str:
        return self.idnumbers.get(kind, DEFAULT_COHORT_IDNUMBERS[kind])

    def name_template(self, kind: CohortKind) -> str:
        return self.names.get(kind, DEFAULT_COHORT_NAMES[kind])


DEFAULT_PROFILE_CODES: dict[str, Profile] = {
    "national_elv": Profile.STUDENT,
    "national_1": Profile.STUDENT,
    "national_tut": Profile.PARENT,
    "national_2": Profile.PARENT,
    "national_ens": Profile.TEACHER,
    "national_3": Profile.TEACHER,
    "national_doc": Profile.TEACHER,
    "national_dir": Profile.STAFF,
    "national_4": Profile.STAFF,
    "national_evs": Profile.STAFF,
    "national_5": Profile.STAFF,
    "national_eta": Profile.STAFF,
    "national_6": Profile.STAFF,
    "national_aca": Profile.STAFF,
    "national_7": Profile.STAFF,
    "national_col": Profile.STAFF,
}

_TEACHING = "ENS BED FCA FCP FIJ IS ISES PPA RH1D RPL UPI DOC"
_STAFF = (
    "DIR DEC DECPR DSES EDU AED AES SUR ADA ADF ADM ALB ASE ASH CFC CPD CTR LAB MDS ORI OUV PSY"
    " TEC INS INJ COLTER ACP"
)
DEFAULT_FUNCTION_CODES: dict[str, Profile] = {
    **dict.fromkeys(_TEACHING.split(), Profile.TEACHER),
    **dict.fromkeys(_STAFF.split(), Profile.STAFF),
    "ELE": Profile.STUDENT,
}


class MappingRules(BaseModel):
    """Every rule that turns one SDET entry into Moodle records; defaults fit plain SDET.

    ``profiles`` maps ``ENTPersonProfils`` codes (any case) to profiles;
    ``functions`` maps the function code of ``ENTPersonFonctions`` (second
    ``$`` field) to a profile, used when no profile code is known.
    ``parent_role`` (e.g. ``"parent"``) links each parent to each child with
    a role assignment in the child's user context.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_key_prefix: str = "sdet:"
    username: FieldRule = FieldRule(attribute="uid", case="lower")
    idnumber: FieldRule = FieldRule(attribute="ENTPersonJointure", default="")
    firstname: FieldRule = FieldRule(attribute="givenName")
    lastname: FieldRule = FieldRule(attribute="sn")
    email: FieldRule = FieldRule(attribute="mail", default="{username}@noreply.invalid")
    # None: the site's [site] auth. Moodle 5.0 no longer ships auth_cas.
    auth: str | None = None
    profile_fields: dict[str, FieldRule] = Field(default_factory=dict)
    profiles: dict[str, Profile] = Field(default_factory=lambda: dict(DEFAULT_PROFILE_CODES))
    functions: dict[str, Profile] = Field(default_factory=lambda: dict(DEFAULT_FUNCTION_CODES))
    cohorts: CohortRules = CohortRules()
    parent_role: str | None = None

    @field_validator("profiles")
    @classmethod
    def _fold_profile_codes(cls, value: dict[str, Profile]) -> dict[str, Profile]:
        return {code.casefold(): profile for code, profile in value.items()}

    @field_validator("functions")
    @classmethod
    def _fold_function_codes(cls, value: dict[str, Profile]) -> dict[str, Profile]:
        return {code.upper(): profile for code, profile in value.items()}

    def attributes(self) -> frozenset[str]:
        """Directory attributes the rules read (besides the ones the source always reads)."""
        rules = [self.username, self.idnumber, self.firstname, self.lastname, self.email]
        rules += self.profile_fields.values()
        names = {rule.attribute for rule in rules if rule.attribute is not None}
        if CohortKind.LEVEL in self.cohorts.kinds:
            names.add(LEVEL_ATTRIBUTE)
        return frozenset(names)
