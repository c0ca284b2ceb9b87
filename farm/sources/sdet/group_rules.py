"""Cohorts from groups a directory keeps apart from people: settings, one table per kind.

Many ENT directories keep groups as entries (``ou=groups``, ``groupOfNames``
with ``member`` DNs, ``groupOfUniqueNames`` with ``uniqueMember``,
``posixGroup`` with ``memberUid``), or name them on people (``isMemberOf``,
``memberOf``), or both. Each ``[[directories.NAME.cohort_groups]]`` table
says where such groups are, which of them become cohorts and of which
establishment: its ``pattern`` (a regex over the group's DN or an
attribute, with a named group ``uai``) is the discriminant, with the
server-side ``filter``.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from farm.sources.sdet.family_rules import check_attribute_name
from farm.sources.sdet.filter_syntax import check_filter
from farm.sources.sdet.mapping import check_template

GROUP_PLACEHOLDERS: Final = frozenset({"uai", "code", "etab", "label", "source"})
DEFAULT_GROUP_FILTER: Final = (
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"
)
#: The pseudo-attribute naming a group's DN in ``match_on`` and ``person_match``.
DN: Final = "dn"


class GroupCohortRules(BaseModel):
    """One kind of group that becomes cohorts.

    Groups come from entries under ``base`` matching ``filter`` (paged, like
    people), from the values of ``person_attribute`` on people, or both; with
    no ``base``, each distinct value of ``person_attribute`` is a group.
    ``pattern`` is searched in ``match_on`` (``dn`` or a group attribute; the
    value itself without ``base``); a group it does not match is no cohort.
    Its named group ``uai`` ties the group to an establishment (a UAI, or the
    SIRET or RDN value of a structure); ``code``, when present, is the cohort's code,
    else the group's ``name_attribute``.

    Members: ``member_attribute`` on the group (``member`` or
    ``uniqueMember``: DNs; ``memberUid``: uids; ``member_values`` says which
    when the name does not), and people whose ``person_attribute`` names the
    group by its DN (``person_match = "dn"``, as ``memberOf`` does) or by
    an attribute's value (``cn``, as ESCO's ``isMemberOf`` does). A member
    the read did not bring in that establishment is left out.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=32)
    base: str | None = None
    filter: str = DEFAULT_GROUP_FILTER
    member_attribute: str | None = "member"
    member_values: Literal["dn", "uid"] | None = None
    person_attribute: str | None = None
    person_match: str = "cn"
    name_attribute: str = "cn"
    match_on: str = "cn"
    pattern: str
    idnumber: str = "{uai}:{source}:{code}"
    cohort_name: str = "{label} ({etab})"

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str) -> str:
        return check_filter(value)

    @field_validator("member_attribute", "person_attribute")
    @classmethod
    def _attribute(cls, value: str | None) -> str | None:
        return check_attribute_name(value) if value is not None else None

    @field_validator("person_match", "name_attribute", "match_on")
    @classmethod
    def _attribute_or_dn(cls, value: str) -> str:
        return value.lower() if value.lower() == DN else check_attribute_name(value)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern {value!r} is not a valid regex: {exc}") from None
        if "uai" not in compiled.groupindex:
            raise ValueError(
                f"pattern {value!r} has no named group 'uai': write (?P<uai>...) around the "
                "part of the group's name or DN that says its establishment"
            )
        return value

    @field_validator("idnumber", "cohort_name")
    @classmethod
    def _template(cls, value: str) -> str:
        check_template(value, GROUP_PLACEHOLDERS, "cohort group template")
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if "{code}" not in self.idnumber and "{label}" not in self.idnumber:
            raise ValueError(
                f"idnumber {self.idnumber!r} names no group ({{code}} or {{label}}): every "
                "group of a school would be one cohort"
            )
        if self.base is None and self.person_attribute is None:
            raise ValueError(
                "set base (where the group entries are) or person_attribute "
                "(the people's attribute naming their groups, e.g. isMemberOf), or both"
            )
        if (
            self.base is not None
            and self.member_attribute is None
            and self.person_attribute is None
        ):
            raise ValueError("no way to find members: set member_attribute or person_attribute")
        return self

    @property
    def members_are_uids(self) -> bool:
        """Whether ``member_attribute`` holds uids (``memberUid``) rather than DNs."""
        if self.member_values is not None:
            return self.member_values == "uid"
        return (self.member_attribute or "").lower() == "memberuid"

    def group_attributes(self) -> tuple[str, ...]:
        """The attributes a search of the group entries asks for."""
        wanted = [self.name_attribute, self.match_on, self.person_match]
        if self.member_attribute is not None and self.base is not None:
            wanted.append(self.member_attribute)
        return tuple(sorted({name for name in wanted if name != DN}, key=str.lower))


def _distinct_names(value: tuple[GroupCohortRules, ...]) -> tuple[GroupCohortRules, ...]:
    seen: set[str] = set()
    for rules in value:
        if rules.name in seen:
            raise ValueError(f"two cohort_groups tables are named {rules.name!r}")
        seen.add(rules.name)
    return value


CohortGroups = Annotated[tuple[GroupCohortRules, ...], AfterValidator(_distinct_names)]
