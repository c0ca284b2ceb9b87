"""The registry: SQLModel tables and queries.

Sites, tenants, the per-site index, runs, reports, the journal, leases,
events and sources' bookmarks, on a SQLite file or PostgreSQL. Open it with
:meth:`Registry.open` and call its named operations; see
``farm/registry/registry.py`` for the rules every operation follows.
"""

from farm.registry.database import mask_url
from farm.registry.errors import (
    InconsistentFarm,
    RegistryError,
    RegistryNotCreated,
    RegistryOutdated,
    RegistryTooNew,
    RegistryUnavailable,
    UnknownRun,
    UnknownTenantReport,
)
from farm.registry.farm_load import FarmChanges, SiteChange, TenantChange
from farm.registry.index import FetchedIndex
from farm.registry.journal_store import RunJournalLines
from farm.registry.leases import Holder, holder_role, lease_holder
from farm.registry.plans import PlanStore, UnknownStoredPlan
from farm.registry.pronote import PronoteStore
from farm.registry.registry import Registry
from farm.registry.relink import DuplicateAccount, PersonRelink, RelinkRefused, RelinkResult
from farm.registry.rows import (
    JournalEntry,
    Lease,
    LeaseHeld,
    NewEvent,
    RefusedRecord,
    ReportWarning,
    RunId,
    RunReport,
    RunStatus,
    RunSummary,
    RunTrigger,
    StoredEntry,
    StoredEvent,
    TenantReport,
    TenantStatus,
)
from farm.registry.runs import TenantLastRun
from farm.registry.schema import SchemaState, SchemaStateKind
from farm.registry.staff import StaffImport, StaffScan, StaffTally
from farm.registry.tenants import RegisteredSite, RegisteredTenant, TenantHistoryEntry

__all__ = [
    "DuplicateAccount",
    "FarmChanges",
    "FetchedIndex",
    "Holder",
    "InconsistentFarm",
    "JournalEntry",
    "Lease",
    "LeaseHeld",
    "NewEvent",
    "PersonRelink",
    "PlanStore",
    "PronoteStore",
    "RefusedRecord",
    "RegisteredSite",
    "RegisteredTenant",
    "Registry",
    "RegistryError",
    "RegistryNotCreated",
    "RegistryOutdated",
    "RegistryTooNew",
    "RegistryUnavailable",
    "RelinkRefused",
    "RelinkResult",
    "ReportWarning",
    "RunId",
    "RunJournalLines",
    "RunReport",
    "RunStatus",
    "RunSummary",
    "RunTrigger",
    "SchemaState",
    "SchemaStateKind",
    "SiteChange",
    "StaffImport",
    "StaffScan",
    "StaffTally",
    "StoredEntry",
    "StoredEvent",
    "TenantChange",
    "TenantHistoryEntry",
    "TenantLastRun",
    "TenantReport",
    "TenantStatus",
    "UnknownRun",
    "UnknownStoredPlan",
    "UnknownTenantReport",
    "holder_role",
    "lease_holder",
    "mask_url",
]
