"""The typed farm: :class:`Farm`, its sites and tenants, and :func:`load_farm`.

The package docstring (:mod:`farm.config`) says what it reads and how it fails.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from farm.cohorts import DEFAULT_PREFIX
from farm.config.checks import check_files, resolve_registry_url
from farm.config.files import FileSet
from farm.config.problems import FarmConfigError, Problem
from farm.config.schema import (
    DEFAULT_SCHEDULES,
    ESTABLISHMENT_TASKS,
    NETYPAREO_TASKS,
    CohortRetirement,
    FarmFile,
    FarmSection,
    Removal,
    SiteFile,
    StatusThresholds,
)
from farm.moodle.settings import MoodleLimits
from farm.options import (
    DEFAULT_ARCHIVE_SUFFIX,
    CohortRetirementPolicy,
    PlanDefaults,
    PlanOptions,
    RemovalPolicy,
    RunOptions,
    retirement_of_removal,
)
from farm.pronote.settings import PronoteSettings
from farm.secrets import SecretRef
from farm.site_rules import STOCK_ROLE_IDS, EmailConflicts, PasswordDelivery, SiteRules
from farm.sources.netypareo.settings import NetYpareoSettings
from farm.sources.sdet.settings import DirectorySettings
from farm.user_defaults import UserDefaults

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

FARM_FILE: Final = "farm.toml"

TenantKind = Literal["establishment", "netypareo"]


@dataclass(frozen=True)
class FarmSettings:
    """Farm-wide settings from farm.toml's ``[farm]``, ``[limits]``, ``[schedules]``, ``[status]``.

    ``registry_url`` is a SQLAlchemy URL in which a relative SQLite path has
    already been made absolute against the farm folder. ``schedules`` holds
    every task, defaults included.
    """

    name: str
    registry_url: str
    jobs_in_flight: int = 8
    limits: MoodleLimits = field(default_factory=MoodleLimits)
    removal: Removal = "suspend"
    mass_removal_threshold: float = 0.10
    cohort_retirement: CohortRetirement = "keep"
    cohort_archive_suffix: str = DEFAULT_ARCHIVE_SUFFIX
    schedules: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_SCHEDULES)), hash=False
    )
    cohort_prefix: str = DEFAULT_PREFIX
    timezone: str = "Europe/Paris"
    status: StatusThresholds = field(default_factory=StatusThresholds)
    #: How old a stored plan may be when ``farm apply`` applies it (``[farm] plan_max_age``).
    plan_max_age: timedelta = timedelta(hours=24)
    #: Days ``farm journal prune`` keeps the journal's lines (``[farm] journal_retention_days``).
    journal_retention_days: int = 365


@dataclass(frozen=True)
class TenantConfig:
    """One tenant: an establishment (UAI) or a NetYpareo site, in exactly one Moodle site.

    ``source`` names a ``[directories.NAME]`` (establishments) or a
    ``[netypareo.NAME]`` (NetYpareo sites) of farm.toml. ``tags`` are the
    site's tags plus the tenant's own. ``schedules`` holds only overrides (the
    site's, then the tenant's); :meth:`Farm.schedules_of` gives the full set.
    """

    id: str
    kind: TenantKind
    name: str
    site: str
    source: str
    tags: frozenset[str]
    schedules: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    netypareo_code: str | None = None
    netypareo_index: int | None = None

    @property
    def uai(self) -> str | None:
        return self.id if self.kind == "establishment" else None

    @property
    def usertype_prefix(self) -> str | None:
        """The NetYpareo site index as written before usertypes: ``0`` in ``0teacher``."""
        return None if self.netypareo_index is None else str(self.netypareo_index)


@dataclass(frozen=True)
class SiteConfig:
    """One Moodle site and its tenants, from ``tenants/<name>.toml``.

    ``limits``, ``removal``, ``mass_removal_threshold``, ``cohort_retirement``
    and ``cohort_archive_suffix`` already include the farm-wide defaults.
    ``token`` is a reference; resolve it only to call Moodle.
    """

    name: str
    file: Path
    url: str
    token: SecretRef
    limits: MoodleLimits
    tags: frozenset[str]
    tenants: tuple[TenantConfig, ...]
    removal: Removal
    mass_removal_threshold: float
    cohort_retirement: CohortRetirement = "keep"
    cohort_archive_suffix: str = DEFAULT_ARCHIVE_SUFFIX
    profile_fields: tuple[str, ...] = ()
    auth: str | None = None
    new_passwords: PasswordDelivery | None = None
    email_conflicts: EmailConflicts = EmailConflicts.HOLD
    email_template: str = "{username}@noreply.invalid"
    roles: Mapping[str, int] = field(default_factory=dict)
    user_defaults: UserDefaults = field(default_factory=UserDefaults)

    def rules(self) -> SiteRules:
        """What this site accepts, for the planner (:mod:`farm.site_rules`)."""
        return SiteRules(
            site=self.name,
            auth=self.auth,
            new_passwords=self.new_passwords,
            email_conflicts=self.email_conflicts,
            email_template=self.email_template,
            roles={**STOCK_ROLE_IDS, **self.roles},
            profile_fields=frozenset(self.profile_fields),
            user_defaults=self.user_defaults,
        )

    @property
    def is_cite_scolaire(self) -> bool:
        """Several establishments share this site."""
        return sum(1 for tenant in self.tenants if tenant.kind == "establishment") > 1


@dataclass(frozen=True)
class Farm:
    """A valid farm: its settings, sources, sites and tenants."""

    root: Path
    settings: FarmSettings
    directories: Mapping[str, DirectorySettings] = field(hash=False)
    netypareo: Mapping[str, NetYpareoSettings] = field(hash=False)
    sites: Mapping[str, SiteConfig] = field(hash=False)
    tenants: Mapping[str, TenantConfig] = field(hash=False)
    pronote: PronoteSettings = field(default_factory=PronoteSettings, hash=False)
    """farm.toml's ``[pronote]``: identifier files, exports, the profile field (docs/pronote.md)."""
    warnings: tuple[Problem, ...] = field(default=(), hash=False, compare=False)
    """What ``load_farm`` found worth fixing that does not stop the farm (loose secret files)."""

    def site_of(self, tenant: TenantConfig | str) -> SiteConfig:
        """The site a tenant (or tenant id) belongs to."""
        tenant_id = tenant if isinstance(tenant, str) else tenant.id
        return self.sites[self.tenants[tenant_id].site]

    def plan_defaults(self, site: SiteConfig | str) -> PlanDefaults:
        """What a run's plan on ``site`` takes where its options say nothing."""
        config = self.sites[site] if isinstance(site, str) else site
        return PlanDefaults(
            removal=RemovalPolicy(config.removal),
            cohort_retirement=CohortRetirementPolicy(config.cohort_retirement),
            cohort_archive_suffix=config.cohort_archive_suffix,
            mass_removal_threshold=config.mass_removal_threshold,
            cohort_prefix=self.settings.cohort_prefix,
        )

    def plan_options(self, site: SiteConfig | str, options: RunOptions) -> PlanOptions:
        """The plan options of a run on ``site``; :class:`ValueError` when they contradict."""
        return options.resolve(self.plan_defaults(site))

    def auths_of(self, site: SiteConfig | str) -> tuple[str, ...]:
        """The auth plugins of a site's accounts: the site's own, or those its sources name."""
        config = self.sites[site] if isinstance(site, str) else site
        if config.auth:
            return (config.auth,)
        found: set[str] = set()
        for tenant in config.tenants:
            source: DirectorySettings | NetYpareoSettings | None
            if tenant.kind == "establishment":
                source = self.directories.get(tenant.source)
                auth = source.mapping.auth if source is not None else None
            else:
                source = self.netypareo.get(tenant.source)
                auth = source.auth if source is not None else None
            if auth:
                found.add(auth)
        return tuple(sorted(found))

    def schedules_of(self, tenant: TenantConfig | str) -> Mapping[str, str]:
        """Each of the tenant's tasks with its schedule: farm, then site and tenant overrides.

        Only the tasks of the tenant's kind are listed: an establishment has
        ``ESTABLISHMENT_TASKS``, a NetYpareo site ``NETYPAREO_TASKS``.
        """
        config = self.tenants[tenant] if isinstance(tenant, str) else tenant
        tasks = ESTABLISHMENT_TASKS if config.kind == "establishment" else NETYPAREO_TASKS
        merged = {**self.settings.schedules, **config.schedules}
        return MappingProxyType({task: merged[task] for task in tasks})


def load_farm(farm_dir: Path, *, resolve_secrets: bool = False) -> Farm:
    """Read and validate the farm in ``farm_dir``.

    Raises :class:`FarmConfigError` with every problem found in every file.
    With ``resolve_secrets``, every secret reference is also resolved (and the
    value dropped at once) so that a missing variable or file, or a ``file:``
    secret outside the farm folder and its ``secrets_dir``, is a problem too;
    a secret file others may read is one of the farm's ``warnings``.
    """
    files = FileSet.read(farm_dir, farm_file=FARM_FILE)
    problems = check_files(files, resolve_secrets=resolve_secrets)
    if any(not problem.warning for problem in problems) or files.farm is None:
        raise FarmConfigError(problems)
    farm = _build(farm_dir, files.farm, files.sites)
    warnings = tuple(sorted(problems, key=Problem.sort_key))
    return replace(farm, warnings=warnings) if warnings else farm


def registry_url_of(farm_dir: Path) -> str:
    """The registry URL of the farm in ``farm_dir``, reading farm.toml's ``[farm]`` table only.

    Commands that only read the registry (``farm runs``, ``farm report``,
    ``farm status``) use this, so that a mistake in one site file never hides
    what the farm did last night. Raises :class:`FarmConfigError` when
    farm.toml itself cannot give a URL.
    """
    path = farm_dir / FARM_FILE
    default = FarmSection.model_fields["registry_url"].default
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FarmConfigError(
            (Problem(file=path, key=None, message=f"cannot read the file: {exc.strerror}"),)
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise FarmConfigError(
            (Problem(file=path, key=None, message=f"invalid TOML: {exc}"),)
        ) from None
    section = data.get("farm", {})
    text = section.get("registry_url", default) if isinstance(section, dict) else default
    if not isinstance(text, str) or not text:
        raise FarmConfigError(
            (Problem(file=path, key="farm.registry_url", message="must be a URL or a file path"),)
        )
    return resolve_registry_url(text, farm_dir)


def _build(farm_dir: Path, farm_file: FarmFile, site_files: Mapping[str, Any]) -> Farm:
    section = farm_file.farm
    settings = FarmSettings(
        name=section.name,
        registry_url=resolve_registry_url(section.registry_url, farm_dir),
        jobs_in_flight=section.jobs_in_flight,
        limits=farm_file.limits,
        removal=section.removal,
        mass_removal_threshold=section.mass_removal_threshold,
        cohort_retirement=_retirement(section.cohort_retirement, section.cohort_removal) or "keep",
        cohort_archive_suffix=section.cohort_archive_suffix,
        schedules=MappingProxyType({**DEFAULT_SCHEDULES, **farm_file.schedules.overrides()}),
        cohort_prefix=section.cohort_prefix,
        timezone=section.timezone,
        status=farm_file.status,
        plan_max_age=section.plan_max_age,
        journal_retention_days=section.journal_retention_days,
    )
    sites: dict[str, SiteConfig] = {}
    tenants: dict[str, TenantConfig] = {}
    for name, (path, site_file) in sorted(site_files.items()):
        site = _site(name, path, site_file, settings)
        sites[name] = site
        tenants.update((tenant.id, tenant) for tenant in site.tenants)
    return Farm(
        root=farm_dir,
        settings=settings,
        directories=MappingProxyType(dict(farm_file.directories)),
        netypareo=MappingProxyType(dict(farm_file.netypareo)),
        sites=MappingProxyType(sites),
        tenants=MappingProxyType(tenants),
        pronote=farm_file.pronote,
    )


def _retirement(
    retirement: CohortRetirement | None, removal: str | None
) -> CohortRetirement | None:
    """A table's ``cohort_retirement``, or what its old ``cohort_removal`` means (checks warn)."""
    if retirement is not None or removal is None:
        return retirement
    return retirement_of_removal(removal).value


def _site(name: str, path: Path, site_file: SiteFile, settings: FarmSettings) -> SiteConfig:
    section = site_file.site
    site_tags = frozenset(section.tags)
    site_schedules = site_file.schedules.overrides()
    tenants: list[TenantConfig] = []
    for establishment in site_file.establishments:
        source = establishment.directory or section.directory
        assert source is not None  # check_files reported a missing directory
        tenants.append(
            TenantConfig(
                id=establishment.uai,
                kind="establishment",
                name=establishment.name or establishment.uai,
                site=name,
                source=source,
                tags=site_tags | frozenset(establishment.tags),
                schedules=MappingProxyType(
                    {**site_schedules, **establishment.schedules.overrides()}
                ),
            )
        )
    for entry in site_file.netypareo_sites:
        source = entry.netypareo or section.netypareo
        assert source is not None  # check_files reported a missing endpoint
        tenants.append(
            TenantConfig(
                id=entry.id,
                kind="netypareo",
                name=entry.name or entry.id,
                site=name,
                source=source,
                tags=site_tags | frozenset(entry.tags),
                schedules=MappingProxyType({**site_schedules, **entry.schedules.overrides()}),
                netypareo_code=entry.code,
                netypareo_index=entry.index,
            )
        )
    overrides = site_file.limits.model_dump(exclude_unset=True) if site_file.limits else {}
    return SiteConfig(
        name=name,
        file=path,
        url=section.url,
        token=section.token,
        limits=settings.limits.model_copy(update=overrides),
        tags=site_tags,
        tenants=tuple(tenants),
        removal=section.removal or settings.removal,
        mass_removal_threshold=(
            section.mass_removal_threshold
            if section.mass_removal_threshold is not None
            else settings.mass_removal_threshold
        ),
        cohort_retirement=_retirement(section.cohort_retirement, section.cohort_removal)
        or settings.cohort_retirement,
        cohort_archive_suffix=section.cohort_archive_suffix or settings.cohort_archive_suffix,
        profile_fields=section.profile_fields,
        auth=section.auth,
        new_passwords=section.new_passwords,
        email_conflicts=section.email_conflicts,
        email_template=section.email_template,
        roles=MappingProxyType(dict(section.roles)),
        user_defaults=UserDefaults(section.lang, section.timezone, section.country),
    )
