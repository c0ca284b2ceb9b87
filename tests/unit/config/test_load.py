"""Loading a valid farm: what other parts of the farm get from farm.toml and site files."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.config import load_farm
from farm.config.schema import DEFAULT_SCHEDULES, ESTABLISHMENT_TASKS, NETYPAREO_TASKS

from .farmdir import SECRETS, write_farm


@pytest.fixture
def farm_dir(tmp_path: Path) -> Path:
    return write_farm(tmp_path / "farm")


def test_tenants_come_from_every_site_file(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    assert sorted(farm.sites) == ["cfa", "lycee-iroise"]
    assert sorted(farm.tenants) == ["0290009C", "0291595B", "cfa-brest", "cfa-quimper"]
    assert farm.tenants["0291595B"].kind == "establishment"
    assert farm.tenants["0291595B"].source == "ent"
    assert farm.tenants["cfa-brest"].source == "cfa"


def test_lowercase_uai_is_stored_uppercase(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    assert farm.tenants["0291595B"].uai == "0291595B"


def test_a_site_with_two_establishments_is_a_cite_scolaire(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    assert farm.sites["lycee-iroise"].is_cite_scolaire
    assert not farm.sites["cfa"].is_cite_scolaire


def test_tenant_tags_are_the_site_tags_plus_its_own(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    assert farm.tenants["0290009C"].tags == {"academie:rennes", "departement:29", "network:lycees"}
    assert farm.tenants["0291595B"].tags == {"academie:rennes", "departement:29"}


def test_site_limits_override_farm_defaults_key_by_key(farm_dir: Path) -> None:
    (farm_dir / "farm.toml").write_text(
        (farm_dir / "farm.toml").read_text() + "\n[limits]\ncalls_in_flight = 8\nretries = 1\n"
    )
    farm = load_farm(farm_dir)

    lycee = farm.sites["lycee-iroise"].limits
    assert (lycee.calls_in_flight, lycee.retries) == (2, 1)
    assert farm.sites["cfa"].limits.calls_in_flight == 8


def test_netypareo_sites_keep_code_and_index(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    brest, quimper = farm.tenants["cfa-brest"], farm.tenants["cfa-quimper"]
    assert (brest.netypareo_code, brest.usertype_prefix) == ("29", "0")
    assert (quimper.netypareo_code, quimper.usertype_prefix) == ("290", "1")


def test_schedules_merge_farm_site_and_tenant(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    quimper, brest = farm.schedules_of("cfa-quimper"), farm.schedules_of("cfa-brest")
    assert quimper["students"] == "0 4 * * *"  # the tenant's own override
    assert brest["students"] == DEFAULT_SCHEDULES["students"]
    assert farm.tenants["0290009C"].schedules == {}


def test_schedules_list_only_the_tasks_of_the_tenant_kind(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    assert tuple(farm.schedules_of("cfa-quimper")) == NETYPAREO_TASKS
    assert tuple(farm.schedules_of("0290009C")) == ESTABLISHMENT_TASKS
    assert farm.schedules_of("0290009C")["delta"] == "disabled"


def test_relative_sqlite_registry_is_resolved_against_the_farm_folder(farm_dir: Path) -> None:
    farm = load_farm(farm_dir)

    expected = farm_dir.resolve() / "var" / "registry.sqlite"
    assert farm.settings.registry_url == f"sqlite:///{expected}"
    assert farm.settings.registry_url.startswith("sqlite:////")


def test_registry_url_given_as_a_plain_relative_path(farm_dir: Path) -> None:
    text = (farm_dir / "farm.toml").read_text()
    text = text.replace('name = "test farm"', 'name = "x"\nregistry_url = "db/farm.sqlite"')
    (farm_dir / "farm.toml").write_text(text)

    farm = load_farm(farm_dir)

    assert farm.settings.registry_url == f"sqlite:///{farm_dir.resolve() / 'db' / 'farm.sqlite'}"


def test_postgresql_registry_url_is_kept(farm_dir: Path) -> None:
    text = (farm_dir / "farm.toml").read_text()
    url = "postgresql+psycopg://farm@db.example.fr:5432/farm"
    text = text.replace('name = "test farm"', f'name = "x"\nregistry_url = "{url}"')
    (farm_dir / "farm.toml").write_text(text)

    assert load_farm(farm_dir).settings.registry_url == url


def test_farm_defaults(farm_dir: Path) -> None:
    settings = load_farm(farm_dir).settings

    assert settings.jobs_in_flight == 8
    assert settings.mass_removal_threshold == pytest.approx(0.10)
    assert settings.removal == "suspend"
    assert settings.timezone == "Europe/Paris"
    assert settings.status.critical_after > settings.status.warning_after


def test_secrets_are_references_resolved_only_when_asked(
    farm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    farm = load_farm(farm_dir, resolve_secrets=True)

    token = farm.sites["lycee-iroise"].token
    assert str(token) == "env:TEST_FARM_TOKEN_LYCEE"
    assert token.resolve().reveal() == "lycee-token-value"
    assert farm.sites["cfa"].token.resolve().reveal() == "cfa-token-value"
    assert "lycee-token-value" not in repr(farm)


def test_the_shipped_demo_farm_is_valid() -> None:
    farm = load_farm(Path(__file__).parents[3] / "tenants")

    cites = [site.name for site in farm.sites.values() if site.is_cite_scolaire]
    assert len(cites) == 2
    assert {tenant.kind for tenant in farm.tenants.values()} == {"establishment", "netypareo"}
    academies = {
        tag for tenant in farm.tenants.values() for tag in tenant.tags if "academie" in tag
    }
    assert academies == {"academie:montpellier", "academie:toulouse"}
