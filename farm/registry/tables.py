"""The registry's tables, as SQLModel classes.

These classes are what the queries use. The schema itself is created and
changed by the Alembic revisions in ``farm/registry/migrations/versions``,
never by ``create_all``: a test checks that the two agree.

Nothing here stores a secret. A site's token is a reference in the farm's
TOML files and is not copied into the registry at all.

JSON columns hold plain lists and dicts. Removed sites and tenants are kept
with ``removed_at`` set, so their runs, reports and index keep their history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, false
from sqlmodel import Field, SQLModel

from farm.registry.database import JSONValue, UTCDateTime


def _json(*, nullable: bool = False) -> Any:
    return Field(sa_column=Column(JSONValue, nullable=nullable))


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class SiteRow(SQLModel, table=True):
    """One Moodle site of the farm, as last loaded from its TOML file."""

    __tablename__ = "site"

    name: str = Field(primary_key=True)
    url: str
    file: str
    tags: list[str] = _json()
    removal: str
    added_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    removed_at: datetime | None = _timestamp(nullable=True)


class TenantRow(SQLModel, table=True):
    """One tenant: an establishment (UAI) or a NetYpareo site, on one Moodle site."""

    __tablename__ = "tenant"

    id: str = Field(primary_key=True)
    kind: str
    name: str
    site: str = Field(sa_column=Column(String, ForeignKey("site.name"), nullable=False))
    source: str
    tags: list[str] = _json()
    added_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    removed_at: datetime | None = _timestamp(nullable=True)


class TenantChangeRow(SQLModel, table=True):
    """The history of a tenant: added, moved, updated, removed, restored."""

    __tablename__ = "tenant_change"

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(sa_column=Column(String, ForeignKey("tenant.id"), nullable=False))
    at: datetime = _timestamp()
    change: str
    detail: dict[str, Any] = _json()


class IndexEntryRow(SQLModel, table=True):
    """What the farm last wrote to a site for one source record (Moodle confirmed it)."""

    __tablename__ = "index_entry"

    site: str = Field(
        sa_column=Column(String, ForeignKey("site.name"), primary_key=True, nullable=False)
    )
    entity: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    moodle_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    digest: str
    values: dict[str, Any] = _json()
    tenants: list[str] = _json()
    run_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    updated_at: datetime = _timestamp()
    # The farm suspended the account: every tenant dropped the person (revision 0009).
    suspended: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class RunRow(SQLModel, table=True):
    """One batch, targeted or scheduled execution."""

    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _timestamp(index=True)
    finished_at: datetime | None = _timestamp(nullable=True)
    status: str = Field(index=True)
    trigger: str
    selection: dict[str, Any] = _json()
    options: dict[str, Any] = _json()
    simulated: bool
    host: str
    pid: int
    reason: str | None = None


class TenantReportRow(SQLModel, table=True):
    """What one run did for one tenant."""

    __tablename__ = "tenant_report"
    # "Each tenant's last run" (farm status, the dashboard) reads by tenant, newest run first.
    # A tenant's open problems (farm.engine.status) read by tenant and ground, newest run first.
    __table_args__ = (
        Index("ix_tenant_report_tenant_run", "tenant", "run_id"),
        Index("ix_tenant_report_tenant_ground_run", "tenant", "ground", "run_id"),
    )

    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("run.id"), primary_key=True, nullable=False)
    )
    tenant: str = Field(primary_key=True)
    site: str
    status: str
    reason: str | None = None
    counts: dict[str, dict[str, int]] = _json()
    errors: list[dict[str, Any]] = _json()
    warnings: list[dict[str, Any]] = _json()
    durations: dict[str, float] = _json()
    simulated: bool
    recorded_at: datetime = _timestamp()
    operations: list[str] = _json()
    # farm.ground.Ground.text of the run's options: what the run covered for the tenant.
    ground: str = Field(default="", sa_column=Column(String, nullable=False))


class TenantNoticeRow(SQLModel, table=True):
    """What operators were last told about a tenant (farm.notify): one message per change."""

    __tablename__ = "tenant_notice"

    tenant: str = Field(primary_key=True)
    notified: str  # the state last sent: "ok" or a problem state ("failed", "partial"...)
    reason: str | None = None
    changed_at: datetime = _timestamp()
    delivery: list[dict[str, Any]] = _json()


class JournalRow(SQLModel, table=True):
    """One confirmed write to a site, in the order it happened within a run.

    ``tenants`` and ``person`` say what the line is about (farm.registry.journal);
    lines recorded before revision 0007 have no tenants.
    """

    __tablename__ = "journal"
    # The journal is read by record (site + key), by person and by time (farm journal),
    # and pruned by time.
    __table_args__ = (
        Index("ix_journal_run_site_seq", "run_id", "site", "seq", unique=True),
        Index("ix_journal_site_key", "site", "key"),
        Index("ix_journal_person", "person"),
        Index("ix_journal_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("run.id"), nullable=False))
    site: str
    seq: int
    entity: str
    action: str
    key: str
    moodle_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    old: dict[str, Any] | None = _json(nullable=True)
    new: dict[str, Any] | None = _json(nullable=True)
    at: datetime = _timestamp()
    tenants: list[str] = _json()
    person: str | None = None


class StoredPlanRow(SQLModel, table=True):
    """One site's plan of a simulated run (farm.stored_plan), kept to be shown and applied once."""

    __tablename__ = "stored_plan"

    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("run.id"), primary_key=True, nullable=False)
    )
    site: str = Field(primary_key=True)
    tenants: list[str] = _json()
    operations: int  # the plan's operations (withheld ones included): listed without reading it
    plan: dict[str, Any] = _json()  # farm.plan_codec's document
    created_at: datetime = _timestamp()
    applied_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("run.id"), nullable=True)
    )
    applied_at: datetime | None = _timestamp(nullable=True)


class LeaseRow(SQLModel, table=True):
    """Who may write to a site (``site:NAME``) or sync a tenant (``tenant:ID``), until when."""

    __tablename__ = "lease"

    key: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime = _timestamp()
    renewed_at: datetime = _timestamp()
    expires_at: datetime = _timestamp()


class EventRow(SQLModel, table=True):
    """One progress event; ids only grow, so readers follow with ``events_since``."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, index=True)
    at: datetime = _timestamp()
    site: str | None = None
    tenant: str | None = None
    kind: str
    payload: dict[str, Any] = _json()


class BookmarkRow(SQLModel, table=True):
    """Where a source's delta read stopped for a tenant (an LDAP modifyTimestamp, say)."""

    __tablename__ = "bookmark"

    source: str = Field(primary_key=True)
    tenant: str = Field(primary_key=True)
    value: str
    updated_at: datetime = _timestamp()


class PronoteLinkRow(SQLModel, table=True):
    """One person's Pronote identifier in one tenant and population (farm.pronote)."""

    __tablename__ = "pronote_link"
    # A Pronote identifier names one person of a tenant's population at most.
    __table_args__ = (
        Index(
            "ix_pronote_link_tenant_population_id",
            "tenant",
            "population",
            "pronote_id",
            unique=True,
        ),
    )

    tenant: str = Field(primary_key=True)
    source_key: str = Field(primary_key=True)
    population: str = Field(primary_key=True)
    pronote_id: str
    method: str
    file: str
    mode: str  # full, partial or manual
    imported_at: datetime = _timestamp()


class PronoteImportRow(SQLModel, table=True):
    """One applied Pronote import for one tenant: its summary and its match report."""

    __tablename__ = "pronote_import"
    __table_args__ = (Index("ix_pronote_import_tenant_id", "tenant", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str
    imported_at: datetime = _timestamp()
    mode: str
    file: str
    file_kind: str
    count: int  # the tenant's links once the import was applied
    added: int
    updated: int
    removed: int
    report: dict[str, Any] = _json()


class StaffImportRow(SQLModel, table=True):
    """One applied staff CSV import (farm.staff.roster): its file, options and counts."""

    __tablename__ = "staff_import"

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # teachers or staff
    tenants: list[str] = _json()
    file: str
    imported_at: datetime = _timestamp()
    complete: bool
    usertype: str | None = None
    manager_category: str | None = None
    counts: dict[str, int] = _json()
    # The sync run that brought the import to Moodle, and the report file it wrote (no secret).
    run_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("run.id"), nullable=True)
    )
    report: str | None = None


class StaffRosterRow(SQLModel, table=True):
    """One imported person of one establishment's roster, one kind of file (farm.staff.roster)."""

    __tablename__ = "staff_roster"
    # A person's login is for life: looked up by sync key across establishments.
    __table_args__ = (Index("ix_staff_roster_sync_key", "sync_key"),)

    tenant: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    sync_key: str = Field(primary_key=True)
    civility: str
    lastname: str
    firstname: str
    codes: list[str] = _json()
    login: str
    email: str
    birthdate: date | None = None
    address: str
    postcode: str
    city: str
    phone: str
    mobile: str
    usertype: str
    manager_category: str | None = None
    line: int
    import_id: int = Field(sa_column=Column(Integer, ForeignKey("staff_import.id"), nullable=False))
    first_import: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_import.id"), nullable=False)
    )
    added_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    retired_at: datetime | None = _timestamp(nullable=True)
    retired_reason: str | None = None
    linked_to: str | None = None


class StaffScanRow(SQLModel, table=True):
    """What ``farm reconcile`` last found for a tenant: the dashboard's counts."""

    __tablename__ = "staff_scan"

    tenant: str = Field(primary_key=True)
    scanned_at: datetime = _timestamp()
    pending: int  # CSV people whose directory account arrived, confirmed pairs
    ambiguous: int
    duplicates: int  # Moodle accounts the index holds twice
    ghosts: int
