"""Per-directory families and cohort groups: defaults, and errors that name the problem."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from farm.config import FarmConfigError, load_farm
from farm.sources.sdet import DirectorySettings
from farm.sources.sdet.family_rules import DEFAULT_FAMILIES
from farm.sources.sdet.filter_syntax import check_filter
from tests.unit.config.farmdir import FARM_TOML, write_farm

BASE = {
    "url": "ldap://127.0.0.1:389",
    "people_base": "ou=people,dc=x",
    "structures_base": "ou=structures,dc=x",
}
GROUPS = {
    "name": "esco",
    "base": "ou=groups,dc=x",
    "pattern": r"_(?P<uai>[0-9]{7}[A-Z]):(?P<code>[^:]+)$",
}


def settings(**extra: Any) -> DirectorySettings:
    return DirectorySettings.model_validate({**BASE, **extra})


def test_families_default_to_plain_sdet_and_a_table_changes_only_its_keys() -> None:
    assert settings().families.teachers == DEFAULT_FAMILIES["teachers"]

    custom = settings(
        families={
            "teachers": {"object_classes": ["ENTPerson"], "filter": "(ENTPersonFonctions=*$ENS$*)"}
        }
    ).families

    assert custom.teachers.object_classes == ("ENTPerson",)
    assert custom.teachers.filter == "(ENTPersonFonctions=*$ENS$*)"
    # Keys left out keep the defaults, and so do the other families.
    assert custom.teachers.etab_attributes == DEFAULT_FAMILIES["teachers"].etab_attributes
    assert custom.students == DEFAULT_FAMILIES["students"]


@pytest.mark.parametrize(
    "text",
    [
        "(objectClass=ENTEleve)",
        "(&(objectClass=ENTEleve)(|(ENTPersonProfils=National_ELV)(!(uid=x*))))",
        "(ENTPersonFonctions=*$ENS$*)",
        r"(cn=a\28b\29)",
        "(member:dn:=uid=x)",
        "(modifyTimestamp>=20260101000000Z)",
    ],
)
def test_well_formed_filters_pass(text: str) -> None:
    assert check_filter(text) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("objectClass=ENTEleve", "expected '('"),
        ("(objectClass=ENTEleve", "expected ')'"),
        ("(&(objectClass=ENTEleve)", "expected ')'"),
        ("(objectClass)", "no 'attribute=value' test"),
        ("(object Class=x)", "malformed attribute name"),
        (r"(cn=a\zz)", "two-digit hex escape"),
        ("(cn=x))", "unexpected text"),
        ("", "empty"),
    ],
)
def test_malformed_filters_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_filter(text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"families": {"teachers": {"filter": "(ENTPersonFonctions=*$ENS$*"}}}, "expected ')'"),
        ({"families": {"teachers": {"object_classes": []}}}, "at least 1 item"),
        ({"families": {"tutors": {"object_classes": ["x"]}}}, "Extra inputs"),
        ({"families": {"staff": {"object_classes": ["ENT Staff"]}}}, "not an LDAP attribute"),
        ({"cohort_groups": [{**GROUPS, "pattern": "(?P<uai>[0-9]"}]}, "not a valid regex"),
        ({"cohort_groups": [{**GROUPS, "pattern": "_([0-9]{7}[A-Z])"}]}, "no named group 'uai'"),
        ({"cohort_groups": [{**GROUPS, "filter": "(objectClass=groupOfNames"}]}, "expected ')'"),
        ({"cohort_groups": [{**GROUPS, "idnumber": "{uai}:{level}"}]}, "unknown placeholder"),
        ({"cohort_groups": [{**GROUPS, "idnumber": "{uai}:groups"}]}, "names no group"),
        ({"cohort_groups": [{**GROUPS, "base": None}]}, "set base"),
        ({"cohort_groups": [{**GROUPS, "member_attribute": None}]}, "no way to find members"),
        ({"cohort_groups": [GROUPS, GROUPS]}, "two cohort_groups tables are named 'esco'"),
        ({"cohort_groups": [{**GROUPS, "name": "ESCO groups"}]}, "should match pattern"),
        ({"mapping": {"cohorts": {"kinds": ["class", "levels"]}}}, "'level'"),
    ],
)
def test_bad_settings_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        settings(**change)


def test_member_values_follow_the_member_attribute() -> None:
    plain, posix, told = settings(
        cohort_groups=[
            GROUPS,
            {**GROUPS, "name": "posix", "member_attribute": "memberUid"},
            {**GROUPS, "name": "told", "member_attribute": "owner", "member_values": "uid"},
        ]
    ).cohort_groups
    assert (plain.members_are_uids, posix.members_are_uids, told.members_are_uids) == (
        False,
        True,
        True,
    )
    assert plain.group_attributes() == ("cn", "member")


def test_tenants_check_names_the_file_and_key_of_a_bad_filter_regex_and_kind(
    tmp_path: Path,
) -> None:
    farm_toml = FARM_TOML.replace(
        'bind_password = "env:TEST_FARM_BIND"\n',
        'bind_password = "env:TEST_FARM_BIND"\n'
        "[directories.ent.mapping.cohorts]\n"
        'kinds = ["class", "niveau"]\n'
        "[directories.ent.families.teachers]\n"
        'filter = "(ENTPersonFonctions=*$ENS$*"\n'
        "[[directories.ent.cohort_groups]]\n"
        'name = "esco"\n'
        'base = "ou=groups,dc=test,dc=fr"\n'
        "pattern = '_(?P<uai>[0-9]{7}[A-Z]'\n",
    )
    root = write_farm(tmp_path, farm=farm_toml)

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)

    found = {(p.file.name, p.key): p for p in caught.value.problems}
    assert set(found) == {
        ("farm.toml", "directories.ent.mapping.cohorts.kinds[1]"),
        ("farm.toml", "directories.ent.families.teachers.filter"),
        ("farm.toml", "directories.ent.cohort_groups[0].pattern"),
    }
    assert "'level'" in found["farm.toml", "directories.ent.mapping.cohorts.kinds[1]"].message
    assert "expected ')'" in found["farm.toml", "directories.ent.families.teachers.filter"].message
    assert (
        "not a valid regex"
        in found["farm.toml", "directories.ent.cohort_groups[0].pattern"].message
    )
    assert all(p.line is not None for p in found.values())


def test_the_documented_cohort_examples_are_valid_settings() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = re.split(r"\n#{2,4} ", doc.split("#### Cohorts from a directory", 1)[1], maxsplit=1)[
        0
    ]
    blocks = re.findall(r"```text\n(.*?)```", section, re.DOTALL)
    head = "[directories.ent-occitanie]\n" + "".join(f"{k} = {v!r}\n" for k, v in BASE.items())

    farm = tomllib.loads(head + "\n".join(blocks))

    directory = DirectorySettings.model_validate(farm["directories"]["ent-occitanie"])
    assert len(blocks) == 3
    assert "level" in directory.mapping.cohorts.kinds
    assert [t.name for t in directory.cohort_groups] == ["esco", "posix"]
    assert directory.cohort_groups[1].members_are_uids
    assert directory.families.teachers.filter == "(ENTPersonFonctions=*$ENS$*)"
