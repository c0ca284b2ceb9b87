"""Small farms built in code, as ``farm.config.load_farm`` would return them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from farm.config import Farm, FarmSettings, SiteConfig, TenantConfig
from farm.moodle.settings import MoodleLimits
from farm.secrets import SecretRef


def build_farm(root: Path, layout: Mapping[str, Mapping[str, str]]) -> Farm:
    """A farm whose ``layout`` maps site name -> {tenant id: tenant name}."""
    sites: dict[str, SiteConfig] = {}
    tenants: dict[str, TenantConfig] = {}
    for site_name, members in layout.items():
        site_tenants = tuple(
            TenantConfig(
                id=tenant_id,
                kind="establishment",
                name=name,
                site=site_name,
                source="ent",
                tags=frozenset({"lycee"}),
            )
            for tenant_id, name in members.items()
        )
        sites[site_name] = SiteConfig(
            name=site_name,
            file=root / f"{site_name}.toml",
            url=f"https://{site_name}.example.org",
            token=SecretRef("env", f"TOKEN_{site_name.upper()}"),
            limits=MoodleLimits(),
            tags=frozenset({"academie-paris"}),
            tenants=site_tenants,
            removal="suspend",
            mass_removal_threshold=0.1,
        )
        tenants.update((t.id, t) for t in site_tenants)
    return Farm(
        root=root,
        settings=FarmSettings(name="test", registry_url="sqlite:///unused.db"),
        directories={},
        netypareo={},
        sites=sites,
        tenants=tenants,
    )
