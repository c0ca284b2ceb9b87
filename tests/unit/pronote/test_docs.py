"""docs/pronote.md stays true: its settings file loads, its IdPN sample reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from farm.pronote.parser import read_pronote_file
from farm.pronote.records import ImportMode, Population
from farm.pronote.settings import PronoteSettingsError, load_pronote_settings

DOC = Path(__file__).parents[3] / "docs" / "pronote.md"


def block(language: str) -> str:
    (found,) = re.findall(rf"```{language}\n(.*?)```", DOC.read_text("utf-8"), re.DOTALL)
    return str(found)


def test_the_documented_settings_file_loads(tmp_path: Path) -> None:
    (tmp_path / "pronote.toml").write_text(block("toml"), encoding="utf-8")
    settings = load_pronote_settings(tmp_path)
    assert settings.partner == "ENT-OCC"
    assert settings.idpn.pupils.person == ("Eleve",)


def test_the_documented_sample_reads(tmp_path: Path) -> None:
    path = tmp_path / "IdPN_To_KOSMOS.xml"
    path.write_text(block("xml"), encoding="utf-8")
    read = read_pronote_file(path, load_pronote_settings(tmp_path))
    assert read.mode is ImportMode.FULL
    assert [p.population for p in read.people] == list(Population)
    assert read.people[1].directory_id == "T000042"


def test_no_settings_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_pronote_settings(tmp_path).partner_id == "uid"


def test_a_wrong_setting_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "pronote.toml").write_text('max_people = 10\npartner_id = "login"\n', "utf-8")
    with pytest.raises(PronoteSettingsError) as caught:
        load_pronote_settings(tmp_path)
    assert f"{tmp_path / 'pronote.toml'}:2: partner_id: " in str(caught.value)
    assert "uid, source_key" in str(caught.value)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pronote.toml").write_text("[idpn]\nroot = ['X']\n", "utf-8")
    with pytest.raises(PronoteSettingsError, match=r"idpn\.root: unknown key"):
        load_pronote_settings(tmp_path)
