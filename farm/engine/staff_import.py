"""A staff import, the seed's five steps: load, map, check, the summary's real plan, import.

:func:`import_staff_file` is what ``farm staff import`` runs:

1. **load, map, check** (:func:`farm.staff.check_staff_file`), with the
   logins already held: the index of the sites concerned and their
   tenants' sources, read as a sync reads them
   (:func:`farm.engine.staff_people.known_logins`), so a login someone else
   holds is a conflict. A file that cannot be read, or rows in conflict
   without ``skip_conflicts``, end here: nothing is written;
2. **the roster's changes** (:func:`farm.staff.plan_roster`) and the logins
   and first passwords of the people (:func:`farm.staff.staff_records`);
3. **the summary's plan**: the coordinator syncs the tenants concerned in
   simulation, through a registry view that reads their rosters as the
   import would leave them (:meth:`Registry.with_pending_rosters`): who is
   created, updated, suspended, on which site, is the sync engine's own
   answer, safety checks included. A simulation that fails or stops (the
   mass-removal guard, for a "Complet" file) ends here;
4. with ``apply``: the roster is stored (only if it is still what the
   preview saw), then the tenants are synced for real;
5. the **report file** (:func:`farm.staff.write_report`, owner-only) lists
   every imported person Moodle now holds, with their sync key, the login
   Moodle holds and the first password Moodle confirmed.

First passwords: the sync creates accounts as it creates anyone's (the
site's ``new_passwords``). Then, on a site whose accounts are internal
(``manual``), the import sets each new account's first password with one
update call: the file's (the seed lets an administrator impose login and
password), else, on a site that hands passwords out by file, one it
generated. A site that e-mails first passwords keeps Moodle's, unless the
file imposed one; a single-sign-on site (CAS, OAuth 2) gets none. A
password is in the report only once Moodle confirmed it; it is never
printed or logged. The run's own credentials file, if the site keeps one,
still lists the password the sync first gave such an account: the report
file is the one to hand out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import anyio

from farm.config import Farm
from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, InvalidOptions, RunResult, SyncRequest
from farm.engine.events import Phase
from farm.engine.leases import LeasePolicy, LeaseRefused, hold_leases, lease_order
from farm.engine.staff_people import PeopleReadError, known_logins
from farm.engine.wiring import ClientProvider, Sources, client_provider
from farm.index import SiteIndex
from farm.model import Kind, Person
from farm.moodle import MoodleError, UserUpdate
from farm.operation import Action, Operation
from farm.options import RunOptions
from farm.registry import Registry, RegistryError, RunTrigger, StaffImport, UnknownStoredPlan
from farm.secrets import Secret, SecretError
from farm.site_rules import INTERNAL_AUTH_PLUGINS, PasswordDelivery
from farm.sources import Source
from farm.staff import (
    DEFAULT_SEPARATOR,
    ColumnRef,
    RecordOptions,
    ReportRow,
    RosterChanged,
    RosterEntry,
    RosterPlan,
    StaffCheck,
    StaffField,
    StaffKind,
    StaffRecords,
    check_staff_file,
    pending_rosters,
    plan_roster,
    staff_records,
    write_report,
)
from farm.staff.sync_keys import SOURCE_KEY_PREFIX
from farm.stored_plan import PlanAlreadyApplied

REPORTS = Path("var") / "staff-reports"
"""Where report files go, under the farm folder (owner-only, with a .gitignore)."""


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file and what the import may do.

    ``tenant`` is the establishment of rows without an RNE/UAI cell.
    ``complete`` is the seed's "Complet" mode: the people of the file's
    kind it does not name leave the rosters of the establishments it
    covers. ``usertype`` goes to rows without one (a CFA site's
    ``_teacher``); ``manager_category`` is the course category where
    ``DIR`` gets the manager role.
    """

    kind: StaffKind
    tenant: str | None = None
    separator: str = DEFAULT_SEPARATOR
    header: bool = True
    columns: Mapping[StaffField, ColumnRef | None] = field(default_factory=dict)
    complete: bool = False
    usertype: str | None = None
    manager_category: str | None = None
    skip_conflicts: bool = False
    allow_mass_removal: bool = False


@dataclass(frozen=True, slots=True)
class SitePreview:
    """What the simulated sync would do on one site: the imported people by name, the rest counted.

    ``created``, ``updated``, ``suspended`` and ``revived`` are usernames
    of imported people (source keys ``csv:``); ``others`` counts the
    operations on everything else by ``kind.action`` (the directory's own
    changes, which the sync makes too). ``refused`` names imported people
    the site's rules refuse, with why; ``blocked`` the safety stop.
    """

    site: str
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    suspended: tuple[str, ...] = ()
    revived: tuple[str, ...] = ()
    others: Mapping[str, int] = field(default_factory=dict)
    refused: tuple[str, ...] = ()
    blocked: str | None = None


@dataclass
class StaffImportOutcome:
    """Everything an import found and did; ``failure`` says why it stopped, if it did.

    ``stored`` is None until the roster was stored; ``report`` the file
    written, ``reported`` how many people it lists, ``passwords`` how many
    first passwords Moodle confirmed, ``missing`` the imported people
    Moodle does not hold after the sync (their creation was refused: the
    sync's report says why; the next sync tries again).
    """

    check: StaffCheck
    plan: RosterPlan | None = None
    preview: RunResult | None = None
    sites: tuple[SitePreview, ...] = ()
    failure: str | None = None
    stored: StaffImport | None = None
    sync: RunResult | None = None
    report: Path | None = None
    reported: int = 0
    passwords: int = 0
    password_failures: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def tenants(self) -> tuple[str, ...]:
        return self.plan.tenants if self.plan is not None else ()


async def import_staff_file(
    farm: Farm,
    registry: Registry,
    path: Path,
    options: ImportOptions,
    *,
    apply: bool = False,
    checked: StaffCheck | None = None,
    sources: Mapping[str, Source] | None = None,
    clients: ClientProvider | None = None,
) -> StaffImportOutcome:
    """Run the import of ``path``; see the module docstring.

    Raises :class:`farm.staff.StaffFileError` for a file that cannot be
    read as a staff file (nothing written). ``checked`` is
    :func:`check_file`'s answer when the caller made it first (``farm staff
    import`` does, before it opens the registry). ``sources`` replaces
    sources by name and ``clients`` opens the Moodle clients (tests, the demo).
    """
    clients = clients or client_provider()
    first = checked
    if first is None:
        first = await anyio.to_thread.run_sync(lambda: check_file(farm, path, options))
    covered = _covered(first, options)
    try:
        taken = await known_logins(farm, registry, covered, given=sources)
    except PeopleReadError as error:
        return StaffImportOutcome(first, failure=f"{error}: nothing was imported")
    check = await anyio.to_thread.run_sync(lambda: _check(farm, path, options, taken, True))
    outcome = StaffImportOutcome(check)
    if check.has_conflicts and not options.skip_conflicts:
        outcome.failure = (
            f"{check.conflicts} row(s) in conflict: correct them, or give --skip-conflicts "
            "to leave them out. Nothing was imported."
        )
        return outcome
    if check.accepted == 0 and not options.complete:
        outcome.failure = "no row to import. Nothing was imported."
        return outcome
    covered = _covered(check, options)
    try:
        records, plan, current = await anyio.to_thread.run_sync(
            lambda: _plan(farm, registry, path, check, covered, options, taken)
        )
    except RegistryError as error:
        outcome.failure = f"registry: {error}; nothing was imported"
        return outcome
    outcome.plan = plan
    view = registry.with_pending_rosters(pending_rosters(current, plan))
    simulate = RunOptions(simulate=True, allow_mass_removal=options.allow_mass_removal)
    try:
        preview = await _sync(farm, view, registry, covered, simulate, path, sources, clients)
        outcome.preview = preview
        outcome.sites = tuple(_previews(view, preview))
    except (InvalidOptions, RegistryError) as error:
        outcome.failure = f"the simulation could not run: {error}; nothing was imported"
        return outcome
    failed = _not_succeeded(preview)
    if failed:
        outcome.failure = f"the simulation did not succeed: {failed}. Nothing was imported."
        return outcome
    if not apply:
        return outcome
    try:
        outcome.stored = await anyio.to_thread.run_sync(registry.apply_roster_plan, plan)
    except (RosterChanged, RegistryError) as error:
        outcome.failure = f"{error}"
        return outcome
    real = RunOptions(allow_mass_removal=options.allow_mass_removal)
    try:
        outcome.sync = await _sync(farm, registry, registry, covered, real, path, sources, clients)
    except (InvalidOptions, RegistryError) as error:
        outcome.failure = (
            f"the roster is stored (import {outcome.stored.id}) but the sync could not run: "
            f"{error}; the next sync of {', '.join(covered)} brings the people to Moodle"
        )
        return outcome
    await _claim_preview(registry, preview, outcome.sync)
    await _finish(farm, registry, check.kind, records.report, outcome, clients)
    return outcome


async def _claim_preview(registry: Registry, preview: RunResult, sync: RunResult) -> None:
    """Mark the preview's stored plans applied by the import's sync, so none is applied again.

    ``farm apply`` of the preview would create the people a second time
    over (the sync did it): claimed, it names the run that did.
    """
    for stored in await anyio.to_thread.run_sync(registry.stored_plans, preview.run_id):
        claim = partial(registry.claim_stored_plan, preview.run_id, stored.site, by_run=sync.run_id)
        try:
            await anyio.to_thread.run_sync(claim)
        except (PlanAlreadyApplied, UnknownStoredPlan, RegistryError):
            # Claimed already, or the registry failing: the plan's drift checks still hold.
            continue


def check_file(farm: Farm, path: Path, options: ImportOptions) -> StaffCheck:
    """Load, map and check ``path`` knowing no login yet: a refused file fails here, untouched.

    Raises :class:`farm.staff.StaffFileError`. Blocking: call it from a
    worker thread in async code.
    """
    return _check(farm, path, options, None, False)


def _check(
    farm: Farm,
    path: Path,
    options: ImportOptions,
    taken: Mapping[str, str] | None,
    keep_rows: bool,
) -> StaffCheck:
    return check_staff_file(
        path,
        options.kind,
        tenant=options.tenant,
        tenants=list(farm.tenants),
        separator=options.separator,
        header=options.header,
        given=options.columns,
        taken_logins=taken,
        keep_rows=keep_rows,
    )


def _covered(check: StaffCheck, options: ImportOptions) -> tuple[str, ...]:
    """The establishments the import covers: ``--tenant`` and every one a row names."""
    tenants = set(check.per_tenant)
    if options.tenant is not None:
        tenants.add(options.tenant)
    return tuple(sorted(tenants))


def _plan(
    farm: Farm,
    registry: Registry,
    path: Path,
    check: StaffCheck,
    covered: Sequence[str],
    options: ImportOptions,
    taken: Mapping[str, str],
) -> tuple[StaffRecords, RosterPlan, list[RosterEntry]]:
    rows = check.rows
    existing = {
        key
        for site in sorted({farm.tenants[t].site for t in covered})
        for key in registry.site_index(site).of(Kind.PERSON)
    }
    assigned = registry.staff_logins([row.sync_key for row in rows])
    site = farm.site_of(covered[0])
    records = staff_records(
        options.kind,
        rows,
        covered,
        RecordOptions(
            cohort_prefix=farm.settings.cohort_prefix,
            usertype=options.usertype,
            email_template=site.email_template,
        ),
        taken_logins=taken,
        assigned_logins=assigned,
        existing=existing,
    )
    logins = {item.row.sync_key: item.person.username for item in records.report}
    current = registry.staff_roster(covered, retired=True)
    plan = plan_roster(
        options.kind,
        rows,
        logins,
        current,
        file=path.name,
        tenants=covered,
        complete=options.complete,
        usertype=options.usertype,
        manager_category=options.manager_category,
    )
    return records, plan, current


async def _sync(
    farm: Farm,
    registry: Registry,
    bus_registry: Registry,
    tenants: Sequence[str],
    options: RunOptions,
    path: Path,
    given: Mapping[str, Source] | None,
    clients: ClientProvider,
) -> RunResult:
    """One run of the coordinator over ``tenants``, as ``farm sync`` would make it."""
    sources = Sources(farm, given)
    try:
        async with EventBus(bus_registry) as bus:
            coordinator = Coordinator(
                farm=farm,
                registry=registry,
                events=bus,
                sources=sources,
                clients=clients,
                leases=LeasePolicy(wait=True, wait_timeout=600, ttl=timedelta(seconds=90)),
            )
            request = SyncRequest(
                tenants=tuple(farm.tenants[t] for t in tenants),
                options=options,
                trigger=RunTrigger.TARGETED,
                selection={"staff_import": [path.name]},
            )
            return await coordinator.run(request)
    finally:
        with anyio.CancelScope(shield=True):
            await sources.aclose()


def _not_succeeded(result: RunResult) -> str:
    bad = [
        f"{tenant}: {outcome.reason or outcome.phase.value}"
        for tenant, outcome in sorted(result.tenants.items())
        if outcome.phase is not Phase.SUCCEEDED
    ]
    return "; ".join(bad)


def _previews(registry: Registry, result: RunResult) -> list[SitePreview]:
    out = []
    for stored in registry.stored_plans(result.run_id):
        groups: dict[Action, list[str]] = {}
        others: dict[str, int] = {}
        for op in stored.shown():
            if op.kind is Kind.PERSON and op.key.startswith(SOURCE_KEY_PREFIX):
                groups.setdefault(op.action, []).append(_username(op))
            elif op.writes_moodle:
                name = f"{op.kind.value}.{op.action.value}"
                others[name] = others.get(name, 0) + 1
        refused = tuple(
            f"{r.key}: {r.reason}"
            for r in stored.refusals
            if r.kind is Kind.PERSON and r.key.startswith(SOURCE_KEY_PREFIX)
        )
        out.append(
            SitePreview(
                site=stored.site,
                created=tuple(sorted(groups.get(Action.CREATE, []))),
                updated=tuple(sorted(groups.get(Action.UPDATE, []))),
                suspended=tuple(
                    sorted(groups.get(Action.SUSPEND, []) + groups.get(Action.DELETE, []))
                ),
                revived=tuple(sorted(groups.get(Action.REVIVE, []))),
                others=dict(sorted(others.items())),
                refused=refused,
                blocked=stored.blocked.reason if stored.blocked is not None else None,
            )
        )
    return out


def _username(op: Operation) -> str:
    if isinstance(op.record, Person):
        return op.record.username
    if op.previous is not None:
        return str(op.previous.values.get("username", op.key))
    return op.key


async def _finish(
    farm: Farm,
    registry: Registry,
    kind: StaffKind,
    report: Sequence[ReportRow],
    outcome: StaffImportOutcome,
    clients: ClientProvider,
) -> None:
    """Set the new accounts' first passwords, write the report file, record both."""
    assert outcome.sync is not None
    assert outcome.stored is not None
    assert outcome.plan is not None
    tenants = outcome.plan.tenants
    sites = sorted({farm.tenants[t].site for t in tenants})
    indexes = {site: await anyio.to_thread.run_sync(registry.site_index, site) for site in sites}
    journal = await anyio.to_thread.run_sync(registry.journal, outcome.sync.run_id)
    created = {(e.site, e.key) for e in journal if e.entity == "person" and e.action == "create"}
    confirmed: dict[str, Secret] = {}
    failures: list[str] = []
    for site_name in sites:
        site = farm.sites[site_name]
        wanted = _passwords_for(site.auth, site.new_passwords, report, created, site_name)
        updates = []
        for item, password in wanted:
            entry = indexes[site_name].get(Kind.PERSON, item.person.source_key)
            if entry is not None and entry.moodle_id is not None:
                updates.append((item, UserUpdate(id=entry.moodle_id, password=password)))
        if not updates:
            continue
        mine = [t for t in tenants if farm.tenants[t].site == site_name]
        policy = LeasePolicy(wait=True, wait_timeout=600)
        try:
            # A write to the site outside a job holds its lease, as a job does.
            async with (
                hold_leases(registry, lease_order(site_name, mine), policy),
                clients(site) as client,
            ):
                result = await client.update_users([u for _, u in updates])
        except (MoodleError, SecretError, LeaseRefused, RegistryError) as error:
            failures.extend(f"{i.person.username}: {error}" for i, _ in updates)
            continue
        ok = {c.item.id for c in result.confirmed}
        for item, update in updates:
            if update.id in ok and update.password is not None:
                confirmed[item.person.source_key] = update.password
        failures.extend(f"user id {f.item.id}: {f.reason}" for f in result.failed)
    outcome.passwords = len(confirmed)
    outcome.password_failures = tuple(failures)
    rows, missing = _report_rows(farm, report, indexes, confirmed)
    outcome.missing = tuple(missing)
    if rows:
        first = tenants[0] if len(tenants) == 1 else "multi"
        path = farm.root / REPORTS / f"{first}-{kind.value}-{outcome.stored.id}.csv"
        outcome.report = await anyio.to_thread.run_sync(write_report, path, kind, rows)
        outcome.reported = len(rows)
    written = str(outcome.report) if outcome.report is not None else None
    try:
        await anyio.to_thread.run_sync(
            registry.set_staff_import_run, outcome.stored.id, outcome.sync.run_id, written
        )
    except RegistryError as error:
        failures.append(f"registry: the import's run was not recorded: {error}")
        outcome.password_failures = tuple(failures)


def _passwords_for(
    auth: str | None,
    delivery: PasswordDelivery | None,
    report: Sequence[ReportRow],
    created: Collection[tuple[str, str]],
    site: str,
) -> list[tuple[ReportRow, Secret]]:
    """The first passwords to set on ``site``: new accounts only, as the module docstring says."""
    if (auth or "manual") not in INTERNAL_AUTH_PLUGINS:
        return []
    out = []
    for item in report:
        if (site, item.person.source_key) not in created or item.password is None:
            continue
        if item.password_generated and delivery is not PasswordDelivery.FILE:
            continue
        out.append((item, item.password))
    return out


def _report_rows(
    farm: Farm,
    report: Sequence[ReportRow],
    indexes: Mapping[str, SiteIndex],
    passwords: Mapping[str, Secret],
) -> tuple[list[ReportRow], list[str]]:
    """The report's rows as Moodle holds them: login and e-mail from the index."""
    rows: list[ReportRow] = []
    missing: list[str] = []
    for item in report:
        held = None
        for tenant in item.row.establishments:
            index = indexes.get(farm.tenants[tenant].site)
            if index is not None:
                held = held or index.get(Kind.PERSON, item.person.source_key)
        if held is None or held.moodle_id is None:
            missing.append(item.person.username)
            continue
        person = replace(
            item.person,
            username=str(held.values.get("username", item.person.username)),
            email=str(held.values.get("email", item.person.email)),
        )
        password = passwords.get(item.person.source_key)
        rows.append(replace(item, person=person, password=password))
    return rows, missing
