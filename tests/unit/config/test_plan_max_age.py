"""``[farm] plan_max_age``: how old a stored plan may be when ``farm apply`` applies it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from farm.config import FarmConfigError, load_farm

from .farmdir import write_farm


def with_farm_line(folder: Path, line: str) -> Path:
    text = (folder / "farm.toml").read_text()
    (folder / "farm.toml").write_text(text.replace('name = "test farm"', f'name = "x"\n{line}'))
    return folder


def test_a_plan_may_be_a_day_old_by_default(tmp_path: Path) -> None:
    assert load_farm(write_farm(tmp_path / "farm")).settings.plan_max_age == timedelta(hours=24)


def test_the_farm_sets_it_as_a_duration(tmp_path: Path) -> None:
    folder = with_farm_line(write_farm(tmp_path / "farm"), 'plan_max_age = "1d12h"')
    assert load_farm(folder).settings.plan_max_age == timedelta(hours=36)


def test_a_bad_duration_is_named_with_its_key(tmp_path: Path) -> None:
    folder = with_farm_line(write_farm(tmp_path / "farm"), 'plan_max_age = "soon"')
    with pytest.raises(FarmConfigError) as refused:
        load_farm(folder)
    text = "\n".join(str(p) for p in refused.value.problems)
    assert "farm.plan_max_age" in text
    assert "is not a duration" in text
