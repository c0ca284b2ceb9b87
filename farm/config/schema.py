"""The shape of the farm's TOML files, as pydantic models.

``farm.toml`` validates as :class:`FarmFile` and every site file as
:class:`SiteFile`. These models only check what one file can check on its
own; what needs several files (references, duplicates) is done in
:mod:`farm.config`. Every model forbids unknown keys so that a typo is an
error, never a silently ignored setting.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta
from typing import Annotated, Final, Literal

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator, BeforeValidator, Field

from farm.cohorts import DEFAULT_PREFIX
from farm.config.notify import NotifySettings
from farm.config.table import Table
from farm.moodle.settings import MoodleLimits
from farm.options import DEFAULT_ARCHIVE_SUFFIX, check_archive_suffix
from farm.pronote.settings import PronoteSettings
from farm.secrets import SecretReference
from farm.site_rules import EmailConflicts, PasswordDelivery
from farm.sources.netypareo.settings import NetYpareoSettings
from farm.sources.sdet.settings import DirectorySettings
from farm.uai import normalize_uai
from farm.user_defaults import check_country, check_lang, check_timezone

DISABLED: Final = "disabled"
ESTABLISHMENT_TASKS: Final = ("users", "cohorts", "roles", "groups", "delta")
"""The tasks of an establishment (ENT directory) tenant."""
NETYPAREO_TASKS: Final = ("sites", "groups", "pdgroups", "students", "teachers", "tutors", "caches")
"""The tasks of a NetYpareo tenant, as the Moodle NetYpareo connector names them."""
DEFAULT_SCHEDULES: Final = {
    "users": "30 2 * * *",
    "cohorts": "0 3 * * *",
    "roles": "15 3 * * *",
    "groups": "30 3 * * *",
    "delta": DISABLED,
    "sites": "0 2 * * *",
    "pdgroups": "40 3 * * *",
    "students": "45 2 * * *",
    "teachers": "50 2 * * *",
    "tutors": "55 2 * * *",
    "caches": "0 1 * * *",
}

Removal = Literal["keep", "suspend", "delete"]
#: ``cohort_removal``, the old name of ``cohort_retirement``, and the values it took.
CohortRemoval = Literal["keep", "delete"]
CohortRetirement = Literal["keep", "archive", "empty", "delete"]
ArchiveSuffix = Annotated[str, AfterValidator(check_archive_suffix)]

_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]*")
_TAG: Final = re.compile(r"[a-z0-9][a-z0-9._:-]*")
_DURATION: Final = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name: use lowercase letters, digits, '.', '_' and '-'"
        )
    return value


def _tag(value: str) -> str:
    lowered = value.lower()
    if not _TAG.fullmatch(lowered):
        raise ValueError(
            f"{value!r} is not a valid tag: use letters, digits and '.', '_', ':', '-', "
            "e.g. 'academie:montpellier'"
        )
    return lowered


def _cron(value: str) -> str:
    if value == DISABLED:
        return value
    try:
        CronSim(value, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise ValueError(
            f"{value!r} is not a cron expression ({exc}): write five fields "
            "'minute hour day month weekday', e.g. '30 2 * * *', or 'disabled'"
        ) from None
    return value


def _duration(value: object) -> object:
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if not value.strip() or match is None:
            raise ValueError(f"{value!r} is not a duration: write e.g. '26h', '90m' or '2d12h'")
        days, hours, minutes = (int(part or 0) for part in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes)
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone, e.g. 'Europe/Paris'") from None
    return value


def _code(value: object) -> object:
    # NetYpareo site codes are numbers in the product; TOML writers often omit the quotes.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _auth(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", value):
        raise ValueError(f"{value!r} is not an auth plugin name, e.g. 'oauth2' or 'cas'")
    return value


def _email_template(value: str) -> str:
    try:
        sample = value.format(username="u", idnumber="i", key="k")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"{value!r} is not an e-mail template ({exc}): use {{username}}, {{idnumber}} or "
            "{key}, e.g. '{username}@noreply.invalid'"
        ) from None
    if "@" not in sample or value == sample:
        raise ValueError(
            f"{value!r} must hold {{username}} or {{idnumber}} and an '@', so that each person "
            "gets an address of their own"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]
Tag = Annotated[str, AfterValidator(_tag)]
Cron = Annotated[str, AfterValidator(_cron)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
Uai = Annotated[str, AfterValidator(normalize_uai)]


class Schedules(Table):
    """A ``[schedules]`` table: when each task runs, as cron or ``"disabled"``.

    A task left out keeps the schedule of the level above (farm, site,
    tenant). Adding a task means adding a field here.
    """

    users: Cron | None = Field(None, description="accounts of an establishment (full read)")
    cohorts: Cron | None = Field(None, description="cohorts and their members")
    roles: Cron | None = Field(None, description="role assignments")
    groups: Cron | None = Field(
        None, description="course groups (ENT); the apprenticeship groups' cohorts (NetYpareo)"
    )
    delta: Cron | None = Field(None, description="accounts changed since the last run (ENT)")
    sites: Cron | None = Field(None, description="NetYpareo sites checked, cohort updates only")
    pdgroups: Cron | None = Field(
        None, description="NetYpareo continuing-education groups' cohorts and members"
    )
    students: Cron | None = Field(None, description="NetYpareo learners and their enrolments")
    teachers: Cron | None = Field(None, description="NetYpareo trainers and their enrolments")
    tutors: Cron | None = Field(None, description="NetYpareo company tutors and their role")
    caches: Cron | None = Field(None, description="NetYpareo reference tables reloaded")

    def overrides(self) -> dict[str, str]:
        """The tasks this table sets."""
        return self.model_dump(exclude_none=True)


SCHEDULE_TASKS: Final = tuple(Schedules.model_fields)


class FarmSection(Table):
    """The ``[farm]`` table of farm.toml."""

    name: str = Field("farm", min_length=1, description="the farm's name, shown in reports")
    registry_url: str = Field(
        "sqlite:///var/registry.sqlite",
        description="SQLAlchemy URL or SQLite file path; relative paths are under the farm folder",
    )
    jobs_in_flight: int = Field(8, ge=1, le=1024, description="sync jobs running at once")
    removal: Removal = Field(
        "suspend", description="what happens to people gone from the source: keep, suspend, delete"
    )
    cohort_retirement: CohortRetirement | None = Field(
        None,
        description="what happens to cohorts no tenant reads any more: keep (as they are, the "
        "default), archive (renamed and hidden), empty (members removed), delete",
    )
    cohort_removal: CohortRemoval | None = Field(
        None,
        description="the old name of cohort_retirement, still read: keep is empty, delete is "
        "delete",
    )
    cohort_archive_suffix: ArchiveSuffix = Field(
        DEFAULT_ARCHIVE_SUFFIX,
        description="what cohort_retirement = archive adds to a cohort's name; {school_year} "
        "is the year of its idnumber (2025-2026), or 'archived'",
    )
    mass_removal_threshold: float = Field(
        0.10, gt=0, le=1, description="share of a site's people a run may remove before it stops"
    )
    cohort_prefix: str = Field(
        DEFAULT_PREFIX, description="prefix of the idnumber of managed cohorts"
    )
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        "Europe/Paris", description="time zone schedules are read in"
    )
    plan_max_age: Duration = Field(
        timedelta(hours=24),
        description="how old a simulation's stored plan may be when farm apply applies it",
    )
    journal_retention_days: int = Field(
        365,
        ge=1,
        description="days farm journal prune keeps the journal's lines (a school year); "
        "nothing prunes on its own",
    )
    secrets_dir: str | None = Field(
        None,
        min_length=1,
        description="a folder file: secrets may be in besides the farm folder, e.g. /run/secrets; "
        "relative paths are under the farm folder",
    )


class StatusThresholds(Table):
    """The ``[status]`` table: how old a tenant's last good run may be."""

    warning_after: Duration = Field(timedelta(hours=26), description="age shown as a warning")
    critical_after: Duration = Field(timedelta(hours=50), description="age shown as critical")


class FarmFile(Table):
    """Everything farm.toml may hold."""

    farm: FarmSection = Field(default_factory=FarmSection, description="farm-wide settings")
    limits: MoodleLimits = Field(
        default_factory=MoodleLimits,
        description="default limits of every site; a site's [limits] overrides them key by key",
    )
    schedules: Schedules = Field(default_factory=Schedules, description="farm-wide schedules")
    status: StatusThresholds = Field(default_factory=StatusThresholds)
    notify: NotifySettings = Field(
        default_factory=NotifySettings, description="who is told when tenants turn bad"
    )
    directories: dict[Name, DirectorySettings] = Field(
        default_factory=dict, description="ENT LDAP directories by name"
    )
    netypareo: dict[Name, NetYpareoSettings] = Field(
        default_factory=dict, description="NetYpareo endpoints by name"
    )
    pronote: PronoteSettings = Field(
        default_factory=PronoteSettings,
        description="Pronote identifier files, exports and profile field (docs/pronote.md)",
    )


class SiteSection(Table):
    """The ``[site]`` table of a site file."""

    url: str = Field(description="the Moodle site's base URL, http(s)://host/path")
    token: SecretReference = Field(description="web-service token: env:NAME or file:PATH")
    tags: tuple[Tag, ...] = Field((), description="tags of every tenant of the site")
    removal: Removal | None = Field(None, description="overrides [farm] removal")
    cohort_retirement: CohortRetirement | None = Field(
        None, description="overrides [farm] cohort_retirement"
    )
    cohort_removal: CohortRemoval | None = Field(
        None, description="the old name of cohort_retirement, still read"
    )
    cohort_archive_suffix: ArchiveSuffix | None = Field(
        None, description="overrides [farm] cohort_archive_suffix"
    )
    mass_removal_threshold: float | None = Field(
        None, gt=0, le=1, description="overrides [farm] mass_removal_threshold"
    )
    profile_fields: tuple[str, ...] = Field(
        (), description="custom profile field shortnames the site must have"
    )
    directory: Name | None = Field(None, description="default directory of its establishments")
    netypareo: Name | None = Field(None, description="default endpoint of its NetYpareo sites")
    auth: Annotated[str, AfterValidator(_auth)] | None = Field(
        None,
        description=(
            "Moodle auth plugin of the accounts the farm creates here (overrides the sources'); "
            "e.g. oauth2, shibboleth, ldap, manual, or cas where the site installed the CAS plugin"
        ),
    )
    new_passwords: PasswordDelivery | None = Field(
        None,
        description=(
            "how a new manual account gets its password: 'email' (Moodle mails it) or 'file' "
            "(an owner-only credentials file under the farm folder); required for manual auth"
        ),
    )
    email_conflicts: EmailConflicts = Field(
        EmailConflicts.HOLD,
        description=(
            "two people with one e-mail: 'hold' refuses all but the first, 'template' gives "
            "the others email_template, 'allow' for a site that allows shared e-mails"
        ),
    )
    email_template: Annotated[str, AfterValidator(_email_template)] = Field(
        "{username}@noreply.invalid",
        description="address given under 'template' to malformed or shared e-mails: {username}",
    )
    roles: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict,
        description="role ids by shortname, for roles a stock site lacks (e.g. parent = 9)",
    )
    lang: Annotated[str, AfterValidator(check_lang)] | None = Field(
        None,
        description="language of the accounts the farm creates, a language pack the site has "
        "(e.g. 'fr'); Moodle's default language otherwise. On creation only",
    )
    timezone: Annotated[str, AfterValidator(check_timezone)] | None = Field(
        None,
        description="time zone of the accounts the farm creates (e.g. 'Europe/Paris', 99 for "
        "the site's); on creation only",
    )
    country: Annotated[str, AfterValidator(check_country)] | None = Field(
        None,
        description="country of the accounts the farm creates, ISO 3166 alpha-2 (e.g. 'FR'); "
        "on creation only",
    )


class EstablishmentEntry(Table):
    """One ``[[establishments]]`` entry: a tenant read from an LDAP directory."""

    uai: Uai = Field(description="7 digits and the check letter, e.g. 0290009C")
    name: str | None = Field(None, min_length=1, description="display name; the UAI by default")
    directory: Name | None = Field(None, description="a [directories.NAME] of farm.toml")
    tags: tuple[Tag, ...] = Field((), description="tags added to the site's")
    schedules: Schedules = Field(default_factory=Schedules, description="schedule overrides")


class NetYpareoSiteEntry(Table):
    """One ``[[netypareo_sites]]`` entry: a tenant read from a NetYpareo endpoint."""

    id: Name = Field(description="tenant id, unique in the farm, e.g. cfa-occ-montpellier")
    code: Annotated[str, BeforeValidator(_code)] = Field(
        min_length=1, description="the site's code in NetYpareo (codeSite)"
    )
    index: int = Field(ge=0, le=99, description="site index, the usertype prefix: 0 -> 0teacher")
    name: str | None = Field(None, min_length=1, description="display name; the id by default")
    netypareo: Name | None = Field(None, description="a [netypareo.NAME] of farm.toml")
    tags: tuple[Tag, ...] = Field((), description="tags added to the site's")
    schedules: Schedules = Field(default_factory=Schedules, description="schedule overrides")


class SiteFile(Table):
    """Everything a site file may hold."""

    site: SiteSection
    limits: MoodleLimits | None = Field(None, description="overrides of farm.toml's [limits]")
    schedules: Schedules = Field(default_factory=Schedules, description="schedule overrides")
    establishments: tuple[EstablishmentEntry, ...] = ()
    netypareo_sites: tuple[NetYpareoSiteEntry, ...] = ()
