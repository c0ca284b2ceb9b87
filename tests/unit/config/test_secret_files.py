"""``file:`` secrets are read from inside the farm folder or its ``secrets_dir``, nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from farm.config import Problem, load_farm
from farm.secrets import SecretError, SecretRef

from .farmdir import CFA_TOML, FARM_TOML, SECRETS, write_farm

CONTENT = "content-7f3a-never-shown"


@pytest.fixture
def farm(tmp_path: Path) -> Path:
    root = tmp_path / "farm"
    (root / "secrets").mkdir(parents=True)
    return root


def secret_file(path: Path, mode: int = 0o600, content: str = CONTENT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def refused(ref: SecretRef) -> str:
    with pytest.raises(SecretError) as caught:
        ref.resolve()
    message = str(caught.value)
    assert CONTENT not in message
    return message


def test_a_relative_path_inside_the_farm_folder_resolves(farm: Path) -> None:
    secret_file(farm / "secrets" / "site.token")

    ref = SecretRef.parse("file:secrets/site.token", base=farm)

    assert ref.resolve().reveal() == CONTENT
    assert ref.verify() == ()


def test_an_absolute_path_inside_the_farm_folder_resolves(farm: Path) -> None:
    path = secret_file(farm / "secrets" / "site.token")

    assert SecretRef.parse(f"file:{path}", base=farm).resolve().reveal() == CONTENT


def test_an_absolute_path_outside_the_farm_folder_is_refused(farm: Path) -> None:
    message = refused(SecretRef.parse("file:/etc/passwd", base=farm))

    assert "/etc/passwd" in message
    assert "outside the farm folder" in message


def test_a_dotdot_escape_is_refused(farm: Path) -> None:
    secret_file(farm.parent / "env.sh")

    message = refused(SecretRef.parse("file:../env.sh", base=farm))

    assert "env.sh" in message
    assert "outside the farm folder" in message


def test_a_dotdot_that_comes_back_inside_is_fine(farm: Path) -> None:
    secret_file(farm / "secrets" / "site.token")

    ref = SecretRef.parse("file:../farm/secrets/site.token", base=farm)

    assert ref.resolve().reveal() == CONTENT


def test_a_symlink_to_a_file_outside_is_refused_naming_both(farm: Path) -> None:
    outside = secret_file(farm.parent / "elsewhere" / "private")
    (farm / "secrets" / "site.token").symlink_to(outside)

    message = refused(SecretRef.parse("file:secrets/site.token", base=farm))

    assert str(farm / "secrets" / "site.token") in message
    assert str(outside) in message
    assert "outside the farm folder" in message


def test_a_symlink_to_etc_shadow_is_refused(farm: Path) -> None:
    (farm / "secrets" / "site.token").symlink_to("/etc/shadow")

    message = refused(SecretRef.parse("file:secrets/site.token", base=farm))

    assert "/etc/shadow" in message


def test_a_symlinked_folder_that_leads_outside_is_refused(farm: Path) -> None:
    secret_file(farm.parent / "elsewhere" / "private")
    (farm / "linked").symlink_to(farm.parent / "elsewhere")

    refused(SecretRef.parse("file:linked/private", base=farm))


def test_a_symlink_that_stays_inside_is_fine(farm: Path) -> None:
    secret_file(farm / "secrets" / "real.token")
    (farm / "secrets" / "site.token").symlink_to("real.token")

    assert SecretRef.parse("file:secrets/site.token", base=farm).resolve().reveal() == CONTENT


def test_the_secrets_dir_is_allowed_too(farm: Path, tmp_path: Path) -> None:
    vault = tmp_path / "run" / "secrets"
    path = secret_file(vault / "site.token")

    ref = SecretRef.parse(f"file:{path}", base=farm, secrets_dir=vault)

    assert ref.resolve().reveal() == CONTENT
    # Without it, the same file is outside.
    assert "outside the farm folder" in refused(SecretRef.parse(f"file:{path}", base=farm))


def test_a_symlink_out_of_the_secrets_dir_is_refused(farm: Path, tmp_path: Path) -> None:
    vault = tmp_path / "run" / "secrets"
    vault.mkdir(parents=True)
    (vault / "site.token").symlink_to("/etc/passwd")

    message = refused(SecretRef.parse(f"file:{vault}/site.token", base=farm, secrets_dir=vault))

    assert "/etc/passwd" in message
    assert str(vault) in message


def test_a_folder_or_a_fifo_is_not_a_secret_file(farm: Path) -> None:
    os.mkfifo(farm / "secrets" / "pipe")

    assert "not a regular file" in refused(SecretRef.parse("file:secrets", base=farm))
    assert "not a regular file" in refused(SecretRef.parse("file:secrets/pipe", base=farm))


def test_a_missing_file_says_so(farm: Path) -> None:
    message = refused(SecretRef.parse("file:secrets/none", base=farm))

    assert str(farm / "secrets" / "none") in message
    assert "No such file" in message


def test_a_file_reference_without_a_farm_folder_is_refused(farm: Path) -> None:
    path = secret_file(farm / "secrets" / "site.token")

    assert "farm folder" in refused(SecretRef("file", str(path)))


def test_binary_content_is_refused_without_showing_it(farm: Path) -> None:
    path = farm / "secrets" / "site.token"
    path.write_bytes(b"\xff\xfe" + CONTENT.encode())
    path.chmod(0o600)

    assert "UTF-8" in refused(SecretRef.parse("file:secrets/site.token", base=farm))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_file_readable_by_others_is_warned_about(farm: Path, mode: int) -> None:
    path = secret_file(farm / "secrets" / "site.token", mode=mode)

    ref = SecretRef.parse("file:secrets/site.token", base=farm)
    (warning,) = ref.verify()

    assert str(path) in warning
    assert "chmod 600" in warning
    assert CONTENT not in warning
    assert ref.resolve().reveal() == CONTENT  # a warning, not a refusal


def test_verify_refuses_what_resolve_refuses(farm: Path) -> None:
    with pytest.raises(SecretError, match="outside the farm folder"):
        SecretRef.parse("file:/etc/passwd", base=farm).verify()


# Through the farm's configuration, as `farm tenants check` reads it.


def problems_of(root: Path) -> tuple[Problem, ...]:
    from farm.config import FarmConfigError

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root, resolve_secrets=True)
    assert CONTENT not in str(caught.value)
    return caught.value.problems


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize("target", ["/etc/passwd", "../env.sh", "secrets/link"])
def test_the_farm_refuses_secrets_outside_naming_file_and_key(tmp_path: Path, target: str) -> None:
    root = write_farm(
        tmp_path / "farm", cfa=CFA_TOML.replace("file:secrets/cfa-token", f"file:{target}")
    )
    secret_file(tmp_path / "env.sh")
    (root / "secrets" / "link").symlink_to("/etc/shadow")

    (problem,) = problems_of(root)

    assert (problem.file.name, problem.key, problem.line) == ("cfa.toml", "site.token", 3)
    assert "outside the farm folder" in problem.message
    assert not problem.warning


@pytest.mark.usefixtures("secrets_env")
def test_the_farm_accepts_its_secrets_dir(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    token = secret_file(vault / "cfa.token")
    farm_toml = FARM_TOML.replace(
        'name = "test farm"', f'name = "test farm"\nsecrets_dir = "{vault}"'
    )
    root = write_farm(
        tmp_path / "farm",
        farm=farm_toml,
        cfa=CFA_TOML.replace("file:secrets/cfa-token", f"file:{token}"),
    )

    farm = load_farm(root, resolve_secrets=True)

    assert farm.sites["cfa"].token.resolve().reveal() == CONTENT
    assert farm.warnings == ()


@pytest.mark.usefixtures("secrets_env")
def test_a_relative_secrets_dir_is_read_from_the_farm_folder(tmp_path: Path) -> None:
    token = secret_file(tmp_path / "vault" / "cfa.token")
    farm_toml = FARM_TOML.replace('name = "test farm"', 'name = "f"\nsecrets_dir = "../vault"')
    root = write_farm(
        tmp_path / "farm",
        farm=farm_toml,
        cfa=CFA_TOML.replace("file:secrets/cfa-token", f"file:{token}"),
    )

    assert load_farm(root, resolve_secrets=True).sites["cfa"].token.resolve().reveal() == CONTENT


@pytest.mark.usefixtures("secrets_env")
def test_a_missing_secrets_dir_is_a_problem(tmp_path: Path) -> None:
    farm_toml = FARM_TOML.replace('name = "test farm"', 'name = "f"\nsecrets_dir = "/nonexistent"')
    root = write_farm(tmp_path / "farm", farm=farm_toml)
    (root / "secrets" / "cfa-token").chmod(0o600)

    (problem,) = problems_of(root)

    assert (problem.file.name, problem.key) == ("farm.toml", "farm.secrets_dir")
    assert "/nonexistent" in problem.message


@pytest.mark.usefixtures("secrets_env")
def test_a_loose_secret_file_is_a_warning_of_the_farm(tmp_path: Path) -> None:
    root = write_farm(tmp_path / "farm")
    (root / "secrets" / "cfa-token").chmod(0o644)

    farm = load_farm(root, resolve_secrets=True)

    (warning,) = farm.warnings
    assert (warning.file.name, warning.key, warning.warning) == ("cfa.toml", "site.token", True)
    assert str(root / "secrets" / "cfa-token") in warning.message
    assert str(warning).startswith(f"{root / 'cfa.toml'}:3: warning: site.token: ")
    (root / "secrets" / "cfa-token").chmod(0o600)
    assert load_farm(root, resolve_secrets=True).warnings == ()
    # Plain loads touch no secret, so they warn about nothing.
    (root / "secrets" / "cfa-token").chmod(0o644)
    assert load_farm(root).warnings == ()
