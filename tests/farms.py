"""Farms built in code, as :func:`farm.config.load_farm` returns them, and tenants' reads.

Test farms differ in their sites, tenants, limits and tags, not in how a
:class:`~farm.config.Farm` is put together: :func:`establishment`,
:func:`site_config` and :func:`farm_of` hold that part once.
:func:`snapshot` is a tenant's read as a directory gives it: its people,
one cohort of its students, and their memberships.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from farm.config import Farm, FarmSettings, SiteConfig, TenantConfig
from farm.model import Cohort, CohortMembership, Person, TenantSnapshot
from farm.moodle.settings import MoodleLimits
from farm.secrets import SecretRef


def establishment(uai: str, site: str, name: str, tags: Iterable[str] = ()) -> TenantConfig:
    """An establishment tenant of ``site`` read from the directory named ``ent``."""
    return TenantConfig(
        id=uai, kind="establishment", name=name, site=site, source="ent", tags=frozenset(tags)
    )


def site_config(
    root: Path,
    name: str,
    *,
    url: str,
    token: SecretRef,
    tenants: Iterable[TenantConfig],
    limits: MoodleLimits | None = None,
    tags: Iterable[str] = (),
    mass_removal_threshold: float = 0.5,
    auth: str = "oauth2",
) -> SiteConfig:
    """A Moodle site as if read from ``root/NAME.toml``; removed people are suspended.

    Its accounts use ``auth`` (single sign-on by default: no password is sent).
    """
    return SiteConfig(
        name=name,
        file=root / f"{name}.toml",
        url=url,
        token=token,
        limits=limits or MoodleLimits(),
        tags=frozenset(tags),
        tenants=tuple(tenants),
        removal="suspend",
        mass_removal_threshold=mass_removal_threshold,
        auth=auth,
    )


def farm_of(
    root: Path, sites: Iterable[SiteConfig], *, name: str = "test", jobs_in_flight: int = 8
) -> Farm:
    """A farm of ``sites`` and their tenants, with no directory or NetYpareo settings."""
    by_name = {site.name: site for site in sites}
    return Farm(
        root=root,
        settings=FarmSettings(
            name=name, registry_url="sqlite:///unused.db", jobs_in_flight=jobs_in_flight
        ),
        directories={},
        netypareo={},
        sites=by_name,
        tenants={t.id: t for site in by_name.values() for t in site.tenants},
    )


def snapshot(tenant: str, people: Iterable[Person]) -> TenantSnapshot:
    """A tenant's read: its people, one cohort of its students, and their memberships."""
    members = tuple(people)
    cohort = Cohort(f"farm:{tenant}:student", f"Élèves {tenant}")
    return TenantSnapshot(
        tenant=tenant,
        people=members,
        cohorts=(cohort,) if members else (),
        cohort_members=tuple(CohortMembership(cohort.idnumber, p.source_key) for p in members),
    )
