"""``farm tenants`` run as operators run it: the console script, on the shipped farm."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.farm_command import run_farm

SHIPPED = Path(__file__).parents[2] / "tenants"
SECRET_VALUE = "tok-3c1d9a7f-do-not-print"


def secret_env() -> dict[str, str]:
    """Every env: reference of the shipped farm set to the same recognisable value."""
    names = set()
    for path in SHIPPED.glob("*.toml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if '"env:' in line:
                names.add(line.split('"env:')[1].split('"')[0])
    return dict.fromkeys(names, SECRET_VALUE)


def farm(
    *args: str, farm_dir: Path = SHIPPED, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_farm(["--farm-dir", str(farm_dir), *args], env=env)


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "tenants"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("var"))
    return copy


def test_help_lists_tenants_with_one_line() -> None:
    result = farm("--help")

    assert result.returncode == 0
    line = r"^  tenants +Check, list and show the farm's sites and tenants\.$"
    assert re.search(line, result.stdout, re.MULTILINE)


@pytest.mark.parametrize("command", [[], ["check"], ["list"], ["show"]])
def test_every_tenants_command_has_an_example(command: list[str]) -> None:
    result = farm("tenants", *command, "--help")

    assert result.returncode == 0
    assert "Example:" in result.stdout
    assert "farm " in result.stdout.split("Example:")[1]


def test_check_on_the_shipped_farm_with_its_secrets() -> None:
    result = farm("tenants", "check", env=secret_env())

    assert result.returncode == 0, result.stderr
    assert "11 sites, 15 tenants" in result.stdout
    assert "2 cités scolaires" in result.stdout
    assert SECRET_VALUE not in result.stdout + result.stderr


def test_check_names_each_missing_secret_by_reference_only() -> None:
    env = secret_env()
    env["MOODLE_TOKEN_CFA_OCCITANIE"] = ""
    result = farm("tenants", "check", env=env)

    assert result.returncode == 1
    assert "cfa-occitanie.toml:5: site.token: environment variable " in result.stderr
    assert "MOODLE_TOKEN_CFA_OCCITANIE is empty" in result.stderr
    assert SECRET_VALUE not in result.stdout + result.stderr


def test_check_skip_secrets_validates_without_them() -> None:
    unset: dict[str, str | None] = {name: None for name in os.environ if name.startswith("MOODLE_")}
    result = run_farm(["--farm-dir", str(SHIPPED), "tenants", "check", "--skip-secrets"], unset)

    assert result.returncode == 0, result.stderr
    assert "secrets not resolved" in result.stdout


def test_check_reports_three_problems_at_once(broken_copy: Path) -> None:
    cite = broken_copy / "cite-clemenceau-montpellier.toml"
    cite.write_text(
        cite.read_text()
        .replace("0340041K", "0340041X")
        .replace("calls_in_flight", "calls_in_flite")
    )
    daudet = broken_copy / "lycee-daudet-nimes.toml"
    daudet.write_text(daudet.read_text().replace("0301552Z", "0312693J"))

    result = farm("tenants", "check", "--skip-secrets", farm_dir=broken_copy)

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if ".toml:" in line]
    assert len(errors) == 3
    assert "limits.calls_in_flite: unknown key (did you mean 'calls_in_flight'?)" in errors[0]
    assert "establishments[0].uai: 0340041X has a wrong check letter" in errors[1]
    assert "should end in K" in errors[1]
    assert "lycee-daudet-nimes.toml" in errors[2]
    assert "lycee-bellevue-toulouse.toml" in errors[2]
    assert "3 problems" in result.stderr
    assert not (broken_copy / "var").exists()


def test_toml_syntax_error_names_file_line_and_column(broken_copy: Path) -> None:
    (broken_copy / "farm.toml").write_text("[farm]\nname = 'x\n")

    result = farm("tenants", "list", farm_dir=broken_copy)

    assert result.returncode == 1
    assert f"{broken_copy / 'farm.toml'}:2:10: TOML syntax error" in result.stderr
    assert result.stdout == ""


def test_list_filters_by_tag_and_kind() -> None:
    result = farm("tenants", "list", "--tag", "academie:toulouse", "--kind", "netypareo", "--json")

    assert result.returncode == 0, result.stderr
    (tenant,) = json.loads(result.stdout)
    assert tenant["id"] == "cfa-occ-toulouse"
    assert tenant["netypareo_index"] == 1


def test_list_table_shows_every_tenant() -> None:
    result = farm("tenants", "list")

    assert result.returncode == 0, result.stderr
    for uai in ("0340041K", "0341921D", "0342225J", "0310024H", "0311902Z"):
        assert uai in result.stdout
    assert "cfa-occ-montpellier" in result.stdout


def test_list_with_an_unknown_tag_fails_with_close_matches() -> None:
    result = farm("tenants", "list", "--tag", "academie:tolouse")

    assert result.returncode == 1
    assert "no tag 'academie:tolouse'" in result.stderr
    assert "academie:toulouse" in result.stderr


def test_show_a_tenant_of_a_cite_scolaire_never_prints_the_token() -> None:
    result = farm("tenants", "show", "0341921d", env=secret_env())

    assert result.returncode == 0, result.stderr
    assert "Collège Georges Clemenceau" in result.stdout
    assert "env:MOODLE_TOKEN_CITE_CLEMENCEAU_MONTPELLIER" in result.stdout
    assert "0340041K, 0342225J" in result.stdout
    assert re.search(r"auth of the accounts\s*│\s*cas", result.stdout)
    assert SECRET_VALUE not in result.stdout


def test_show_json_gives_site_and_limits() -> None:
    result = farm("tenants", "show", "cfa-occ-montpellier", "--json", env=secret_env())

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["site"]["token"] == "env:MOODLE_TOKEN_CFA_OCCITANIE"
    assert data["site"]["limits"]["calls_in_flight"] == 2
    assert (data["site"]["auth"], data["site"]["new_passwords"]) == ("manual", "file")
    assert data["schedules"]["students"] == "0 3 * * *"  # the site's override
    assert data["schedules"]["caches"] == "0 1 * * *"  # the farm default
    assert "users" not in data["schedules"]  # an establishment task
    assert SECRET_VALUE not in result.stdout


def test_show_unknown_tenant_suggests_close_ids() -> None:
    result = farm("tenants", "show", "cfa-occ-toulous")

    assert result.returncode == 1
    assert "no tenant 'cfa-occ-toulous'" in result.stderr
    assert "cfa-occ-toulouse" in result.stderr


def _use_token(copy: Path, site: str, reference: str) -> None:
    path = copy / f"{site}.toml"
    text = path.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("token = "))
    path.write_text(text.replace(line, f'token = "{reference}"'), encoding="utf-8")


def test_check_refuses_file_secrets_outside_the_farm_folder(
    broken_copy: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "env.sh"
    outside.write_text(f"export TOKEN={SECRET_VALUE}\n", encoding="utf-8")
    (broken_copy / "secrets").mkdir()
    (broken_copy / "secrets" / "shadow").symlink_to("/etc/shadow")
    _use_token(broken_copy, "cfa-occitanie", "file:/etc/passwd")
    _use_token(broken_copy, "lycee-daudet-nimes", "file:../env.sh")
    _use_token(broken_copy, "lycee-arago-perpignan", "file:secrets/shadow")

    result = farm("tenants", "check", farm_dir=broken_copy, env=secret_env())

    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stderr.splitlines() if ".toml:" in line]
    assert len(errors) == 3, result.stderr
    by_file = {line.split(":")[0].rsplit("/", 1)[-1]: line for line in errors}
    cfa = by_file["cfa-occitanie.toml"]
    assert "cfa-occitanie.toml:5: site.token: " in cfa
    assert "/etc/passwd" in cfa
    assert "outside the farm folder" in cfa
    daudet = by_file["lycee-daudet-nimes.toml"]
    assert "lycee-daudet-nimes.toml:3: site.token: " in daudet
    assert str(outside) in daudet
    assert "outside the farm folder" in daudet
    arago = by_file["lycee-arago-perpignan.toml"]
    assert "lycee-arago-perpignan.toml:3: site.token: " in arago
    assert str(broken_copy / "secrets" / "shadow") in arago
    assert "/etc/shadow" in arago
    assert "3 problems" in result.stderr
    # Nothing of what those files hold is printed.
    assert SECRET_VALUE not in result.stdout + result.stderr
    assert "root:" not in result.stdout + result.stderr


def test_check_warns_about_a_secret_file_others_can_read(broken_copy: Path) -> None:
    token = broken_copy / "secrets" / "cfa-occitanie.token"
    token.parent.mkdir()
    token.write_text(SECRET_VALUE + "\n", encoding="utf-8")
    token.chmod(0o644)
    _use_token(broken_copy, "cfa-occitanie", "file:secrets/cfa-occitanie.token")

    loose = farm("tenants", "check", farm_dir=broken_copy, env=secret_env())

    assert loose.returncode == 0, loose.stderr
    assert "cfa-occitanie.toml:5: warning: site.token: " in loose.stderr
    assert str(token) in loose.stderr
    assert "chmod 600" in loose.stderr
    assert "1 warning" in loose.stdout
    assert SECRET_VALUE not in loose.stdout + loose.stderr

    token.chmod(0o600)
    tight = farm("tenants", "check", farm_dir=broken_copy, env=secret_env())

    assert tight.returncode == 0, tight.stderr
    assert "warning" not in tight.stdout + tight.stderr
