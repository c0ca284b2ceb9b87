"""`farm tenants check` on the directories' course rules: each mistake named by file and key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from farm.cli import main
from farm.sources.sdet.course_rules import CourseRules

from .farmdir import FARM_TOML, LYCEE_TOML, write_farm

RULES = """
[[directories.ent.courses.enrolments]]
attribute = "ENTAuxEnsClassesMatieres"
course = "{uai}-{class}-{subject}"
groups = ["class"]

[[directories.ent.courses.roles]]
function = "DIR"
role = "manager"
context = "category"
category = "{uai}"
"""


def check(tmp_path: Path, rules: str, site: str = LYCEE_TOML) -> Result:
    root = write_farm(tmp_path / "farm", farm=FARM_TOML + rules, **{"lycee-iroise": site})
    return CliRunner().invoke(main, ["--farm-dir", str(root), "tenants", "check", "--skip-secrets"])


def test_declared_rules_with_stock_roles_are_valid(tmp_path: Path) -> None:
    result = check(tmp_path, RULES)
    assert result.exit_code == 0, result.output
    assert "valid." in result.output


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (
            ('"ENTAuxEnsClassesMatieres"', '"ENTAuxEnsMatieres"'),
            "directories.ent.courses.enrolments[0].attribute",
            "unknown attribute 'ENTAuxEnsMatieres'",
        ),
        (
            ('"{uai}-{class}-{subject}"', '"{uai}-{classe}"'),
            "directories.ent.courses.enrolments[0].course",
            "unknown placeholder(s) {classe}",
        ),
        (
            ('category = "{uai}"', 'category = "{etab}"'),
            "directories.ent.courses.roles[0].category",
            "unknown placeholder(s) {etab}",
        ),
    ],
)
def test_a_rule_the_source_cannot_apply_is_refused_naming_farm_toml_and_the_key(
    tmp_path: Path, change: tuple[str, str], key: str, words: str
) -> None:
    result = check(tmp_path, RULES.replace(*change))
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if words in line)
    assert "farm.toml" in line
    assert key in line


def test_a_role_no_site_reading_the_directory_has_is_refused_with_the_closest(
    tmp_path: Path,
) -> None:
    result = check(tmp_path, RULES.replace('role = "manager"', 'role = "managre"'))
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if "managre" in line]
    assert "farm.toml" in line
    assert "directories.ent.courses.roles[0].role" in line
    assert "not a role of site lycee-iroise (lycee-iroise.toml)" in line
    assert "did you mean 'manager'?" in line


def test_a_role_the_site_declares_is_accepted(tmp_path: Path) -> None:
    rules = RULES.replace('role = "manager"', 'role = "chefetab"')
    assert check(tmp_path, rules).exit_code == 1
    site = LYCEE_TOML.replace(
        'auth = "oauth2"\n', 'auth = "oauth2"\n\n[site.roles]\nchefetab = 9\n'
    )
    result = check(tmp_path, rules, site)
    assert result.exit_code == 0, result.output


def test_the_documented_rules_are_valid_rules() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = doc[doc.index("#### Enrolments, course groups and roles") :]
    example = tomllib.loads(re.findall(r"```text\n(.*?)```", section, re.DOTALL)[0])
    rules = CourseRules.model_validate(example["directories"]["ent-occitanie"]["courses"])
    assert [rule.attribute for rule in rules.enrolments] == [
        "ENTAuxEnsClassesMatieres",
        "ENTEleveNivFormation",
    ]
    assert rules.categories("0342225J") == ["0342225J"]
