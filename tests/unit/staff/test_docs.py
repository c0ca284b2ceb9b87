"""docs/staff-csv.md tells what the code does: its tables are the code's data."""

from __future__ import annotations

import re
from pathlib import Path

from farm.staff import StaffField, load_profile
from farm.staff.fields import synonyms
from farm.staff.functions import FUNCTION_CODES

DOC = Path(__file__).parents[3] / "docs" / "staff-csv.md"


def table_rows(first_cell: str) -> list[list[str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and re.fullmatch(first_cell, cells[0]):
            rows.append(cells)
    return rows


def test_the_synonyms_table_is_the_code_s() -> None:
    documented = {row[0].strip("`"): row[1] for row in table_rows(r"`[a-z_]+`") if len(row) == 2}

    assert documented == {f.value: ", ".join(f"`{s}`" for s in synonyms(f)) for f in StaffField}


def test_the_function_code_table_is_the_code_s() -> None:
    documented = [row for row in table_rows(r"`[0-9A-Z]{3}`") if len(row) == 5]

    assert documented == [
        [f"`{c.code}`", c.short_label, c.long_label, c.lvs_profile, c.role or ""]
        for c in FUNCTION_CODES
    ]


def test_the_profile_example_loads(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    example = text.split("# <farm>/staff-profiles/logiciel-x.toml\n")[1].split("```")[0]
    folder = tmp_path / "staff-profiles"
    folder.mkdir()
    (folder / "logiciel-x.toml").write_text(example, encoding="utf-8")

    profile = load_profile(tmp_path, "logiciel-x")

    assert profile.separator == "|"
    assert profile.columns[StaffField.SUBJECT] == "Discipline"


def test_the_import_options_table_names_every_option_of_the_command() -> None:
    from farm.cli.staff_import import import_file

    text = DOC.read_text(encoding="utf-8").split("## `farm staff import`")[1].split("\n## ")[0]
    documented = set(re.findall(r"`(--[a-z-]+)", text))
    options = {opt for param in import_file.params for opt in param.opts if opt.startswith("--")}

    assert documented == options
