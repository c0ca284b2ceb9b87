"""The farm's configuration: ``farm.toml`` and one TOML file per Moodle site.

:func:`load_farm` reads a farm folder and returns a :class:`Farm`, or raises
:class:`FarmConfigError` listing every problem of every file at once. Nothing
here resolves a secret unless asked (``resolve_secrets=True``, what
``farm tenants check`` does): references are resolved when they are used.
The TOML format is documented in ``docs/configuration.md``.
"""

from farm.config.load import (
    FARM_FILE,
    Farm,
    FarmConfigError,
    FarmSettings,
    Problem,
    SiteConfig,
    TenantConfig,
    TenantKind,
    load_farm,
    registry_url_of,
)

__all__ = [
    "FARM_FILE",
    "Farm",
    "FarmConfigError",
    "FarmSettings",
    "Problem",
    "SiteConfig",
    "TenantConfig",
    "TenantKind",
    "load_farm",
    "registry_url_of",
]
