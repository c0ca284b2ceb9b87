"""The Pronote identifier carried to Moodle by every sync, where a site asks for it.

When ``profile_field`` is set in farm.toml's ``[pronote]`` and a site lists
that field in its ``profile_fields``, each person of the site's tenants
carries their Pronote identifier there (empty when unlinked, so that an
identifier unlinked in the farm is cleared in Moodle), synced like any
field: the index digests it, so only changed values are sent. The links are
the registry's (``farm pronote import``/``link``); a sync never changes
them. ``farm sites check`` proves the field exists on the site, as for
every field of ``profile_fields``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from farm.config import SiteConfig
from farm.model import TenantSnapshot
from farm.pronote.fields import with_pronote_ids
from farm.pronote.settings import PronoteSettings
from farm.registry import Registry


def pronote_field(settings: PronoteSettings, site: SiteConfig) -> str | None:
    """The profile field ``site`` carries Pronote identifiers in (``Farm.pronote``), or None."""
    field = settings.profile_field
    return field if field is not None and field in site.profile_fields else None


def with_pronote_fields(
    snapshots: Mapping[str, TenantSnapshot], registry: Registry, field: str
) -> dict[str, TenantSnapshot]:
    """``snapshots`` whose people carry their Pronote identifier in ``field`` (blocking)."""
    links = registry.pronote_links(list(snapshots))
    return {
        tenant: replace(snapshot, people=with_pronote_ids(snapshot.people, links, field))
        for tenant, snapshot in snapshots.items()
    }
