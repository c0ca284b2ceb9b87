"""docs/pronote.md stays true: its ``[pronote]`` table loads in farm.toml, its sample reads."""

from __future__ import annotations

import re
from pathlib import Path

from farm.config import load_farm
from farm.pronote.parser import read_pronote_file
from farm.pronote.records import ImportMode, Population
from farm.pronote.settings import PronoteSettings

DOC = Path(__file__).parents[3] / "docs" / "pronote.md"


def block(language: str) -> str:
    (found,) = re.findall(rf"```{language}\n(.*?)```", DOC.read_text("utf-8"), re.DOTALL)
    return str(found)


def documented_settings(tmp_path: Path) -> PronoteSettings:
    """The documented table as the farm loads it: farm.toml holding only it, no site file."""
    (tmp_path / "farm.toml").write_text(block("toml"), encoding="utf-8")
    return load_farm(tmp_path).pronote


def test_the_documented_table_loads_as_the_farms_pronote_settings(tmp_path: Path) -> None:
    settings = documented_settings(tmp_path)
    assert settings.partner == "ENT-OCC"
    assert settings.profile_field == "pronote"
    assert settings.idpn.pupils.person == ("Eleve",)


def test_the_documented_sample_reads(tmp_path: Path) -> None:
    path = tmp_path / "IdPN_To_KOSMOS.xml"
    path.write_text(block("xml"), encoding="utf-8")
    read = read_pronote_file(path, documented_settings(tmp_path))
    assert read.mode is ImportMode.FULL
    assert [p.population for p in read.people] == list(Population)
    assert read.people[1].directory_id == "T000042"
