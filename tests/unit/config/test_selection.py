"""Selecting tenants by tag, site, tenant id and kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.config import Farm, TenantConfig, load_farm
from farm.config.selection import SelectionError, select_tenants

from .farmdir import write_farm


@pytest.fixture
def farm(tmp_path: Path) -> Farm:
    return load_farm(write_farm(tmp_path))


def ids(tenants: tuple[TenantConfig, ...]) -> list[str]:
    return [tenant.id for tenant in tenants]


def test_no_criteria_selects_everything(farm: Farm) -> None:
    assert len(select_tenants(farm)) == len(farm.tenants)


def test_tags_must_all_be_present(farm: Farm) -> None:
    assert ids(select_tenants(farm, tags=["academie:rennes"])) == ["0290009C", "0291595B"]
    assert ids(select_tenants(farm, tags=["academie:rennes", "network:lycees"])) == ["0290009C"]


def test_sites_and_kinds(farm: Farm) -> None:
    assert ids(select_tenants(farm, sites=["cfa"])) == ["cfa-brest", "cfa-quimper"]
    assert ids(select_tenants(farm, kinds=["establishment"])) == ["0290009C", "0291595B"]


def test_tenant_ids_accept_lowercase_uais(farm: Farm) -> None:
    # The farm's order (by site file), not the order asked.
    assert ids(select_tenants(farm, tenants=["0291595b", "cfa-brest"])) == [
        "cfa-brest",
        "0291595B",
    ]


def test_unknown_values_are_named_with_close_matches(farm: Farm) -> None:
    with pytest.raises(SelectionError) as caught:
        select_tenants(farm, tags=["academie:renes"], sites=["cfa", "lycee-iroize"])

    message = str(caught.value)
    assert "no tag 'academie:renes'" in message
    assert "did you mean academie:rennes" in message
    assert "no site 'lycee-iroize'" in message
    assert "lycee-iroise" in message


def test_criteria_that_match_nothing_together(farm: Farm) -> None:
    with pytest.raises(
        SelectionError, match="no tenant matches all of: --site cfa --kind establishment"
    ):
        select_tenants(farm, sites=["cfa"], kinds=["establishment"])
