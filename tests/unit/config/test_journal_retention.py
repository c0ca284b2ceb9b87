"""``[farm] journal_retention_days``: how much of the journal ``farm journal prune`` keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.config import FarmConfigError, load_farm

from .farmdir import write_farm


def with_farm_line(folder: Path, line: str) -> Path:
    text = (folder / "farm.toml").read_text()
    (folder / "farm.toml").write_text(text.replace('name = "test farm"', f'name = "x"\n{line}'))
    return folder


def test_the_journal_keeps_a_school_year_by_default(tmp_path: Path) -> None:
    assert load_farm(write_farm(tmp_path / "farm")).settings.journal_retention_days == 365


def test_the_farm_sets_it_in_days(tmp_path: Path) -> None:
    folder = with_farm_line(write_farm(tmp_path / "farm"), "journal_retention_days = 730")
    assert load_farm(folder).settings.journal_retention_days == 730


@pytest.mark.parametrize("value", ["0", '"1y"', "-5"])
def test_a_retention_that_is_not_a_number_of_days_is_named_with_its_key(
    tmp_path: Path, value: str
) -> None:
    folder = with_farm_line(write_farm(tmp_path / "farm"), f"journal_retention_days = {value}")
    with pytest.raises(FarmConfigError) as refused:
        load_farm(folder)
    text = "\n".join(str(p) for p in refused.value.problems)
    assert "farm.journal_retention_days" in text
