"""Mapping rules: the questions an ENT plugin asks, answered by typed settings."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from farm.model import Profile
from farm.sources.sdet import CohortKind, DirectorySettings, FieldRule, MappingRules

NAMES = {"uid": "F1700ivg", "dn": "uid=F1700ivg,ou=people,dc=x"}


def test_defaults_fit_plain_sdet() -> None:
    rules = MappingRules()

    assert rules.username.apply(["F1700ivg"], NAMES) == "f1700ivg"
    assert rules.idnumber.apply(["AC-RENNES$128407"], NAMES) == "AC-RENNES$128407"
    assert rules.email.apply([], {**NAMES, "username": "f1700ivg"}) == "f1700ivg@noreply.invalid"
    assert rules.cohorts.year is None
    assert rules.attributes() == {"uid", "ENTPersonJointure", "givenName", "sn", "mail"}


def test_regex_capture_keeps_the_part_after_the_source() -> None:
    rule = FieldRule(attribute="ENTPersonJointure", pattern=r"^[^$]*\$(.+)$")

    assert rule.apply(["AC-RENNES$128407"], NAMES) == "128407"
    assert rule.apply(["no separator", "ENT$42"], NAMES) == "42"
    assert rule.apply(["no separator"], NAMES) is None


def test_named_group_transcoding_template_and_case() -> None:
    rule = FieldRule(
        attribute="ENTPersonFonctions",
        pattern=r"\$(?P<value>[A-Z]+)\$",
        transcode={"ens": "teaching", "*": "other"},
        template="{value}-{uid}",
        case="upper",
    )

    assert rule.apply(["dn$ENS$ENSEIGNEMENT$L1300$MATHS"], NAMES) == "TEACHING-F1700IVG"
    assert rule.apply(["dn$DIR$DIRECTION$-$-"], NAMES) == "OTHER-F1700IVG"


@pytest.mark.parametrize(
    ("raw", "expected"), [("09/07/1998", "1998-07-09"), ("1998-07-09", "1998-07-09")]
)
def test_birth_dates_in_both_forms(raw: str, expected: str) -> None:
    rule = FieldRule(attribute="ENTPersonDateNaissance", kind="date")

    assert rule.apply([raw], NAMES) == expected


def test_an_impossible_date_is_no_value() -> None:
    rule = FieldRule(attribute="ENTPersonDateNaissance", kind="date")

    assert rule.apply(["31/02/2001", "yesterday"], NAMES) is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"attribute": "sn", "pattern": "(unclosed"}, "not a valid regex"),
        ({"attribute": "sn", "template": "{value}-{nope}"}, "unknown placeholder"),
        ({"attribute": "sn", "default": "{value}"}, "unknown placeholder"),
        ({"attribute": "sn", "case": "title"}, "case"),
        ({"attribute": "sn", "colour": "red"}, "colour"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(rule: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FieldRule.model_validate(rule)


def test_cohort_templates_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown placeholder"):
        MappingRules.model_validate({"cohorts": {"idnumbers": {"class": "{uai}:{klass}"}}})


def test_profile_codes_are_matched_without_case() -> None:
    rules = MappingRules.model_validate({"profiles": {"National_ELV": "student"}})

    assert rules.profiles == {"national_elv": Profile.STUDENT}


FARM_TOML = """
[directories.ent-bretagne]
url = "ldaps://ent.example.fr"
bind_dn = "cn=moodle,ou=services,dc=ent,dc=fr"
bind_password = "env:ENT_PASSWORD"
people_base = "ou=people,dc=ent,dc=fr"
structures_base = "ou=structures,dc=ent,dc=fr"

[directories.ent-bretagne.mapping]
auth = "cas"
parent_role = "parent"

[directories.ent-bretagne.mapping.idnumber]
attribute = "ENTPersonJointure"
pattern = '^[^$]*\\$(.+)$'

[directories.ent-bretagne.mapping.profile_fields.birthdate]
attribute = "ENTPersonDateNaissance"
kind = "date"

[directories.ent-bretagne.mapping.cohorts]
year = "2026"
kinds = ["class", "profile", "class_parents"]
"""


def test_a_directory_table_of_farm_toml() -> None:
    table = tomllib.loads(FARM_TOML)["directories"]["ent-bretagne"]

    settings = DirectorySettings.model_validate(table)

    assert settings.verify_certificates
    assert settings.mapping.idnumber.apply(["AC-RENNES$1"], NAMES) == "1"
    assert settings.mapping.cohorts.year == "2026"
    assert settings.mapping.cohorts.kinds == {
        CohortKind.CLASS,
        CohortKind.PROFILE,
        CohortKind.CLASS_PARENTS,
    }
    assert "ENTPersonDateNaissance" in settings.mapping.attributes()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": "http://ent.example.fr"}, "ldap:// or ldaps://"),
        ({"url": "ldap://ent.example.fr:99999"}, "port"),
        ({"start_tls": True}, "start_tls applies to ldap://"),
        ({"bind_dn": None}, "bind_dn is not"),
        ({"bind_password": "s3cret"}, "never the secret itself"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_bad_directory_settings_name_the_problem(change: dict[str, object], message: str) -> None:
    table = tomllib.loads(FARM_TOML)["directories"]["ent-bretagne"] | change

    with pytest.raises(ValidationError, match=message):
        DirectorySettings.model_validate(table)


def test_the_cohort_prefix_is_the_farms_not_the_mappings() -> None:
    with pytest.raises(ValidationError, match=r"set cohort_prefix in farm\.toml"):
        MappingRules.model_validate({"cohorts": {"prefix": "ent:", "year": "2026"}})
