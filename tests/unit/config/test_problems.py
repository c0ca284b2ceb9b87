"""An invalid farm: every problem at once, each naming the file, the key and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.config import FarmConfigError, Problem, load_farm

from .farmdir import CFA_TOML, FARM_TOML, LYCEE_TOML, SECRETS, write_farm


def problems_of(root: Path, *, resolve_secrets: bool = False) -> tuple[Problem, ...]:
    with pytest.raises(FarmConfigError) as caught:
        load_farm(root, resolve_secrets=resolve_secrets)
    return caught.value.problems


def test_three_problems_show_three_errors(tmp_path: Path) -> None:
    lycee = LYCEE_TOML.replace("0290009C", "0290009X").replace("calls_in_flight", "calls_in_flite")
    cfa = CFA_TOML.replace('url = "https://cfa.example.fr/moodle"', 'url = "cfa.example.fr"')
    root = write_farm(tmp_path, **{"lycee-iroise": lycee, "cfa": cfa})

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)

    problems = caught.value.problems
    assert [(p.file.name, p.key) for p in problems] == [
        ("cfa.toml", "site.url"),
        ("lycee-iroise.toml", "limits.calls_in_flite"),
        ("lycee-iroise.toml", "establishments[0].uai"),
    ]
    text = str(caught.value)
    assert text.startswith("3 problems")
    assert all(str(problem) in text for problem in problems)


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    broken = LYCEE_TOML.replace('name = "Collège"', 'name = "Collège')
    root = write_farm(tmp_path, **{"lycee-iroise": broken})

    (problem,) = problems_of(root)

    assert problem.file == root / "lycee-iroise.toml"
    # tomllib points at the end of the unterminated string.
    assert (problem.line, problem.column) == (18, 16)
    assert "TOML syntax error" in problem.message
    assert str(problem).startswith(f"{root / 'lycee-iroise.toml'}:18:16: ")


def test_syntax_error_in_one_file_does_not_hide_others(tmp_path: Path) -> None:
    root = write_farm(tmp_path, farm="[farm\n", cfa=CFA_TOML.replace("index = 1", "index = -1"))

    problems = problems_of(root)

    assert [(p.file.name, p.key) for p in problems] == [
        ("farm.toml", None),
        ("cfa.toml", "netypareo_sites[1].index"),
    ]


def test_wrong_check_letter_says_the_expected_one(tmp_path: Path) -> None:
    root = write_farm(tmp_path, **{"lycee-iroise": LYCEE_TOML.replace("0290009C", "0290009X")})

    (problem,) = problems_of(root)

    assert problem.key == "establishments[0].uai"
    assert "0290009X" in problem.message
    assert "should end in C" in problem.message
    assert problem.line == 12


@pytest.mark.parametrize("uai", ["029009C", "02900090", "0290009CC", "A290009C"])
def test_malformed_uai(tmp_path: Path, uai: str) -> None:
    root = write_farm(tmp_path, **{"lycee-iroise": LYCEE_TOML.replace("0290009C", uai)})

    (problem,) = problems_of(root)

    assert problem.key == "establishments[0].uai"
    assert "7 digits and a check letter" in problem.message


def test_unknown_key_gets_did_you_mean(tmp_path: Path) -> None:
    root = write_farm(tmp_path, **{"lycee-iroise": LYCEE_TOML.replace('tags = ["n', 'tag = ["n')})

    (problem,) = problems_of(root)

    assert problem.key == "establishments[0].tag"
    assert problem.message == "unknown key"
    assert problem.hint == "did you mean 'tags'?"
    assert problem.line == 14


def test_unknown_key_in_farm_toml_source_table(tmp_path: Path) -> None:
    from .farmdir import FARM_TOML

    root = write_farm(tmp_path, farm=FARM_TOML.replace("people_base", "people_bse"))

    problems = problems_of(root)

    assert [(p.key, p.hint) for p in problems if p.message == "unknown key"] == [
        ("directories.ent.people_bse", "did you mean 'people_base'?")
    ]


def test_unknown_schedule_task_gets_did_you_mean(tmp_path: Path) -> None:
    root = write_farm(tmp_path, cfa=CFA_TOML.replace('delta = "disabled"', 'dleta = "disabled"'))

    (problem,) = problems_of(root)

    assert (problem.key, problem.hint) == ("schedules.dleta", "did you mean 'delta'?")


def test_bad_cron_expression(tmp_path: Path) -> None:
    root = write_farm(tmp_path, cfa=CFA_TOML.replace('"0 4 * * *"', '"0 24 * * *"'))

    (problem,) = problems_of(root)

    assert problem.key == "netypareo_sites[1].schedules.students"
    assert "not a cron expression" in problem.message
    assert problem.line == 21


def test_uai_claimed_by_two_sites_names_both_files(tmp_path: Path) -> None:
    other = LYCEE_TOML.replace("0291595b", "0350002T").replace("Iroise", "Bretagne")
    root = write_farm(tmp_path, **{"lycee-bretagne": other})

    problems = problems_of(root)

    (problem,) = [p for p in problems if "0290009C" in p.message]
    assert problem.file.name == "lycee-iroise.toml"
    assert "lycee-bretagne.toml" in problem.message
    assert problem.key == "establishments[0].uai"


def test_netypareo_site_claimed_twice(tmp_path: Path) -> None:
    root = write_farm(tmp_path, cfa=CFA_TOML.replace('code = "290"', 'code = "29"'))

    (problem,) = problems_of(root)

    assert problem.key == "netypareo_sites[1].code"
    assert "NetYpareo site '29' of 'cfa'" in problem.message
    assert "listed twice" in problem.message


def test_unknown_source_names_the_defined_ones(tmp_path: Path) -> None:
    root = write_farm(
        tmp_path,
        **{"lycee-iroise": LYCEE_TOML.replace('directory = "ent"', 'directory = "annuaire"')},
    )

    (problem,) = problems_of(root)

    assert problem.key == "site.directory"
    assert problem.message == "unknown directory 'annuaire'"
    assert "ent" in (problem.hint or "")
    assert problem.line == 5


def test_unknown_netypareo_endpoint_gets_did_you_mean(tmp_path: Path) -> None:
    cfa = CFA_TOML.replace("index = 0", 'index = 0\nnetypareo = "cfaa"')
    root = write_farm(tmp_path, cfa=cfa)

    (problem,) = problems_of(root)

    assert problem.key == "netypareo_sites[0].netypareo"
    assert problem.hint == "did you mean 'cfa'?"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('url = "ldap://127.0.0.1:3890"', 'url = "http://127.0.0.1:3890"', "directories.ent.url"),
        ('wsdl = "http://127.0.0.1', 'wsdl = "gopher://127.0.0.1', "netypareo.cfa.wsdl"),
    ],
)
def test_invalid_source_urls(tmp_path: Path, old: str, new: str, key: str) -> None:
    from .farmdir import FARM_TOML

    root = write_farm(tmp_path, farm=FARM_TOML.replace(old, new))

    (problem,) = problems_of(root)

    # The directory's own model checks its URL as a whole, so the key may be its table.
    assert key.startswith(problem.key or "-")
    assert "127.0.0.1" in problem.message
    assert problem.file.name == "farm.toml"


def test_secret_written_in_clear_is_refused(tmp_path: Path) -> None:
    lycee = LYCEE_TOML.replace('"env:TEST_FARM_TOKEN_LYCEE"', '"0123456789abcdef"')
    root = write_farm(tmp_path, **{"lycee-iroise": lycee})

    (problem,) = problems_of(root)

    assert problem.key == "site.token"
    assert "never the secret itself" in problem.message
    assert "0123456789abcdef" not in str(problem)


def test_unresolvable_secrets_are_problems_only_when_resolving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_farm(tmp_path)
    (root / "secrets" / "cfa-token").unlink()
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TEST_FARM_TOKEN_LYCEE")

    load_farm(root)  # plain loads do not touch secrets
    problems = problems_of(root, resolve_secrets=True)

    assert [(p.file.name, p.key) for p in problems] == [
        ("cfa.toml", "site.token"),
        ("lycee-iroise.toml", "site.token"),
    ]
    assert "TEST_FARM_TOKEN_LYCEE is not set" in problems[1].message


def test_secret_values_never_appear_in_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    root = write_farm(tmp_path, cfa=CFA_TOML.replace("index = 1", "index = 0"))
    (root / "secrets" / "cfa-token").write_text("")  # empty: unresolvable

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root, resolve_secrets=True)

    text = str(caught.value)
    assert "index 0 is also used by 'cfa-brest'" in text
    assert "is empty" in text
    for value in SECRETS.values():
        assert value not in text


def test_a_password_in_the_registry_url_is_refused(tmp_path: Path) -> None:
    from .farmdir import FARM_TOML

    url = "postgresql+psycopg://farm:s3cret@db/farm"
    root = write_farm(
        tmp_path, farm=FARM_TOML.replace('name = "test farm"', f'registry_url = "{url}"')
    )

    (problem,) = problems_of(root)

    assert problem.key == "farm.registry_url"
    assert "PGPASSWORD" in (problem.hint or "")


def test_missing_farm_toml(tmp_path: Path) -> None:
    root = write_farm(tmp_path, farm=None)

    problems = problems_of(root)

    assert problems[0].file == root / "farm.toml"
    assert "missing" in problems[0].message


def test_site_without_tenants(tmp_path: Path) -> None:
    empty = '[site]\nurl = "https://x.example.fr"\ntoken = "env:X"\n'
    root = write_farm(tmp_path, empty=empty)

    (problem,) = problems_of(root)

    assert problem.file.name == "empty.toml"
    assert problem.message == "the site has no tenant"


def test_missing_required_key_says_what_to_add(tmp_path: Path) -> None:
    root = write_farm(tmp_path, cfa=CFA_TOML.replace("index = 0\n", ""))

    (problem,) = problems_of(root)

    assert problem.key == "netypareo_sites[0].index"
    assert problem.message == "required key is missing"
    assert (problem.hint or "").startswith("add it")


def test_a_site_whose_accounts_have_no_auth_plugin_is_a_problem(tmp_path: Path) -> None:
    root = write_farm(tmp_path, **{"lycee-iroise": LYCEE_TOML.replace('auth = "oauth2"\n', "")})

    (problem,) = problems_of(root)

    assert problem.key == "site.auth"
    assert "directory 'ent'" in problem.message
    assert "cas" in (problem.hint or "")  # the hint says CAS is no longer in Moodle 5.0


def test_a_site_of_manual_accounts_must_say_how_passwords_are_delivered(tmp_path: Path) -> None:
    root = write_farm(tmp_path, cfa=CFA_TOML.replace('new_passwords = "file"\n', ""))

    (problem,) = problems_of(root)

    assert problem.key == "site.new_passwords"
    assert "email" in (problem.hint or "")
    assert "file" in (problem.hint or "")


def test_a_directory_mapping_may_name_the_auth_plugin_instead_of_the_site(tmp_path: Path) -> None:
    farm_toml = FARM_TOML.replace(
        'bind_password = "env:TEST_FARM_BIND"\n',
        'bind_password = "env:TEST_FARM_BIND"\n[directories.ent.mapping]\nauth = "shibboleth"\n',
    )
    root = write_farm(
        tmp_path, farm=farm_toml, **{"lycee-iroise": LYCEE_TOML.replace('auth = "oauth2"\n', "")}
    )

    farm = load_farm(root)

    assert farm.sites["lycee-iroise"].rules().auth is None  # the records carry shibboleth
