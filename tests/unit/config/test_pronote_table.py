"""farm.toml's ``[pronote]``: defaults, problems named like any key, the profile field's warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.config import FarmConfigError, Problem, load_farm
from farm.pronote.settings import PronoteSettings

from .farmdir import FARM_TOML, LYCEE_TOML, write_farm


def problems_of(root: Path) -> tuple[Problem, ...]:
    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)
    return caught.value.problems


def test_no_pronote_table_means_the_defaults(tmp_path: Path) -> None:
    farm = load_farm(write_farm(tmp_path))

    assert farm.pronote == PronoteSettings()
    assert farm.pronote.partner_id == "uid"
    assert farm.pronote.profile_field is None
    assert farm.warnings == ()


def test_the_table_is_the_farms_pronote_settings(tmp_path: Path) -> None:
    text = FARM_TOML + '\n[pronote]\npartner = "ENT-BZH"\n\n[pronote.idpn]\nroots = ["IDX"]\n'
    farm = load_farm(write_farm(tmp_path, farm=text))

    assert farm.pronote.partner == "ENT-BZH"
    assert farm.pronote.idpn.roots == ("IDX",)
    assert farm.pronote.idpn.pupils.person == ("Eleve",)


def test_a_wrong_value_names_farm_toml_its_line_and_the_key(tmp_path: Path) -> None:
    text = FARM_TOML + '\n[pronote]\nmax_people = 10\npartner_id = "login"\n'
    root = write_farm(tmp_path, farm=text)
    line = text.splitlines().index('partner_id = "login"') + 1

    (problem,) = problems_of(root)

    assert (problem.file, problem.key, problem.line) == (
        root / "farm.toml",
        "pronote.partner_id",
        line,
    )
    assert "uid, source_key" in problem.message
    assert str(problem).startswith(f"{root / 'farm.toml'}:{line}: pronote.partner_id: ")


def test_an_unknown_key_of_the_idpn_names_gets_did_you_mean(tmp_path: Path) -> None:
    text = FARM_TOML + "\n[pronote.idpn]\nroot = ['X']\n"
    root = write_farm(tmp_path, farm=text)

    (problem,) = problems_of(root)

    assert (problem.key, problem.message) == ("pronote.idpn.root", "unknown key")
    assert problem.hint == "did you mean 'roots'?"
    assert problem.line == text.splitlines().index("root = ['X']") + 1


def test_a_site_without_the_profile_field_is_warned_about(tmp_path: Path) -> None:
    root = write_farm(tmp_path, farm=FARM_TOML + '\n[pronote]\nprofile_field = "pronote"\n')

    farm = load_farm(root)

    # The NetYpareo-only site has no establishment, so no Pronote identifier to carry.
    (warning,) = farm.warnings
    assert (warning.file, warning.key, warning.warning) == (
        root / "lycee-iroise.toml",
        "site.profile_fields",
        True,
    )
    assert warning.message == (
        "site lycee-iroise does not carry Pronote identifiers: add 'pronote' to its profile_fields"
    )
    assert warning.line == 1  # the [site] table: profile_fields is not written
    assert farm.pronote.profile_field == "pronote"


def test_a_site_listing_the_profile_field_is_not_warned_about(tmp_path: Path) -> None:
    lycee = LYCEE_TOML.replace("[site]\n", '[site]\nprofile_fields = ["pronote"]\n', 1)
    root = write_farm(
        tmp_path,
        farm=FARM_TOML + '\n[pronote]\nprofile_field = "pronote"\n',
        **{"lycee-iroise": lycee},
    )

    assert load_farm(root).warnings == ()
