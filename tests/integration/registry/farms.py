"""Small farms built in code, as ``farm.config.load_farm`` would return them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from farm.config import Farm
from farm.secrets import SecretRef
from tests.farms import establishment, farm_of, site_config


def build_farm(root: Path, layout: Mapping[str, Mapping[str, str]]) -> Farm:
    """A farm whose ``layout`` maps site name -> {tenant id: tenant name}."""
    return farm_of(
        root,
        (
            site_config(
                root,
                site,
                url=f"https://{site}.example.org",
                token=SecretRef("env", f"TOKEN_{site.upper()}"),
                tenants=(establishment(t, site, name, {"lycee"}) for t, name in members.items()),
                tags={"academie-paris"},
                mass_removal_threshold=0.1,
            )
            for site, members in layout.items()
        ),
    )
