"""A site's Moodle user defaults (lang, timezone, country): checked on load, naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from farm.cli import main
from farm.config import FarmConfigError, load_farm
from farm.user_defaults import UserDefaults

from .farmdir import LYCEE_TOML, write_farm


def with_defaults(lines: str) -> str:
    return LYCEE_TOML.replace('auth = "oauth2"\n', f'auth = "oauth2"\n{lines}')


def test_a_site_gives_its_defaults_to_the_site_rules(tmp_path: Path) -> None:
    lycee = with_defaults('lang = "fr"\ntimezone = "Europe/Paris"\ncountry = "FR"\n')
    farm = load_farm(write_farm(tmp_path, **{"lycee-iroise": lycee}))

    rules = farm.sites["lycee-iroise"].rules()
    assert rules.user_defaults == UserDefaults("fr", "Europe/Paris", "FR")
    assert farm.sites["cfa"].rules().user_defaults == UserDefaults()  # Moodle's own


@pytest.mark.parametrize(
    ("line", "key", "said"),
    [
        ('lang = "french"', "site.lang", "not a Moodle language code"),
        ('timezone = "Europe/Lutece"', "site.timezone", "not a known time zone"),
        ('country = "FRA"', "site.country", "not an ISO 3166 alpha-2"),
        ('country = "fr"', "site.country", "did you mean 'FR'?"),
    ],
)
def test_a_bad_default_is_refused_naming_the_file_and_key(
    tmp_path: Path, line: str, key: str, said: str
) -> None:
    root = write_farm(tmp_path, **{"lycee-iroise": with_defaults(line + "\n")})

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)

    (problem,) = caught.value.problems
    assert (problem.file.name, problem.key) == ("lycee-iroise.toml", key)
    assert said in str(problem)


def test_tenants_check_refuses_lang_french_naming_file_and_key(tmp_path: Path) -> None:
    root = write_farm(tmp_path, **{"lycee-iroise": with_defaults('lang = "french"\n')})

    done = CliRunner().invoke(main, ["--farm-dir", str(root), "tenants", "check"])

    assert done.exit_code != 0
    assert "lycee-iroise.toml" in done.output
    assert "site.lang" in done.output
    assert "'french' is not a Moodle language code" in done.output
