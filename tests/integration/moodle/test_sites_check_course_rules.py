"""``farm sites check`` on a farm whose directory declares course rules, in process.

The shipped farm, its course rules appended to farm.toml, one site served
by the simulator on loopback: the check's line counts the courses each
template names and warns for what the site lacks, without failing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from farm.cli import main
from farm.config import load_farm
from farm.moodle import CATEGORY_LOOKUP
from farm.simulators.moodle.state import CourseRow
from tests.fixtures.moodle import ServedSimulator

SHIPPED = Path(__file__).parents[3] / "tenants"
SITE, UAI = "lycee-arago-perpignan", "0660014G"
RULES = """
[[directories.ent-occitanie.courses.enrolments]]
attribute = "ENTAuxEnsClassesMatieres"
course = "{uai}-{class}-{subject}"

[[directories.ent-occitanie.courses.enrolments]]
attribute = "ENTEleveNivFormation"
course = "{uai} {level}"
match = "shortname"

[[directories.ent-occitanie.courses.roles]]
function = "DIR"
role = "manager"
context = "category"
category = "{uai}"
"""


def test_course_templates_naming_no_course_and_missing_categories_are_warnings(
    tmp_path: Path, served_moodle: ServedSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    farm_dir = tmp_path / "farm"
    shutil.copytree(SHIPPED, farm_dir, ignore=shutil.ignore_patterns("var"))
    for path in farm_dir.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("http://127.0.0.1:8080", served_moodle.base_url), encoding="utf-8"
        )
    toml = farm_dir / "farm.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + RULES, encoding="utf-8")
    config = load_farm(farm_dir).sites[SITE]
    monkeypatch.setenv(config.token.target, "tok-arago-5e1f")
    site = served_moodle.sim.add_site(
        SITE, token="tok-arago-5e1f", profile_fields=config.profile_fields
    )
    site.auth_installed.add("cas")

    def check() -> str:
        result = CliRunner().invoke(main, ["--farm-dir", str(farm_dir), "sites", "check", SITE])
        return result.output + f"exit {result.exit_code}"

    # The rules name a category: the farm's list lacks its lookup, so the site is not ready.
    assert f"missing functions: {CATEGORY_LOOKUP}" in check()
    site.tokens["tok-arago-5e1f"] |= {CATEGORY_LOOKUP}
    for idnumber in (f"{UAI}-2NDE1-061300", f"{UAI}-TG2-061300", "0999999X-2NDE1-061300"):
        course = CourseRow(site.new_id(), 0, idnumber.lower(), idnumber, 1, idnumber)
        course.contextid = site.new_context(50, course.id)
        site.courses[course.id] = course

    line = check()

    # Warnings only: the site is ready to sync.
    assert line.endswith("exit 0"), line
    assert "course rules: 1 of 2 course patterns match courses (2 courses)" in line
    assert (
        "no course matches directories.ent-occitanie.courses.enrolments[1].course = "
        "'{uai} {level}' (by shortname)" in line
    )
    assert f"1 of 1 categories of the role rules missing (idnumber {UAI})" in line
    site.add_category("Lycée Arago", idnumber=UAI)
    assert "1 categories of the role rules found" in check()
