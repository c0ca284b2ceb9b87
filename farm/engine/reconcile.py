"""``farm reconcile``: CSV people the directory now brings made one with their directory account.

:func:`reconcile_tenant` reads the tenant's source in full (with birth
dates where the directory has them, :mod:`farm.engine.staff_people`), its
roster and its site's index, and finds the pairs, the ambiguous ones, the
accounts held twice and the ghosts (:func:`farm.staff.find_reconciliations`).
The counts are kept as the tenant's last scan (:meth:`Registry.record_staff_scan`),
which the dashboard shows. Listing writes nothing else.

With ``apply``, each confirmed pair is linked (seed 004, §7), holding the
site's lease as a sync does, inside a run of its own (its journal lines
belong to it):

1. the index is read again: a pair whose accounts changed since is left,
   with the reason;
2. Moodle: the CSV account (the one the person keeps, with its history)
   takes the directory person's idnumber; the directory-side duplicate, if
   a sync created one, is suspended, and its username, e-mail and idnumber
   freed (``duplicate-<id>``), so the kept account can take the directory's
   values at the next sync;
3. the registry records both (:meth:`Registry.relink_person`): the
   directory key replaces the CSV key in the index, the CSV person's roster
   entries retire, all in one journalled transaction.

A CSV person who has no account yet only leaves the roster: the directory
person's account, made by the next sync, is theirs. Ambiguous pairs are
listed and left. The next sync of the tenant gives the kept accounts their
directory values and cohorts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio

from farm.config import Farm
from farm.engine.leases import LeasePolicy, LeaseRefused, hold_leases, lease_order
from farm.engine.staff_people import PeopleReadError, read_people
from farm.engine.wiring import ClientProvider, client_provider
from farm.model import Kind
from farm.moodle import MoodleClient, MoodleError, UserUpdate
from farm.registry import (
    DuplicateAccount,
    PersonRelink,
    Registry,
    RegistryError,
    RelinkRefused,
    RunId,
    RunStatus,
    RunTrigger,
    StaffScan,
)
from farm.secrets import SecretError
from farm.sources import Source
from farm.staff import Findings, Pair, find_reconciliations
from farm.staff.sync_keys import SOURCE_KEY_PREFIX


class ReconcileError(Exception):
    """The tenant could not be scanned (its source, the registry, the site); nothing was linked."""


@dataclass(frozen=True, slots=True)
class Link:
    """One pair linked: what was done, in words, and how many journal lines it wrote."""

    pair: Pair
    done: str
    lines: int = 0


@dataclass
class ReconcileOutcome:
    """What a scan found and, with ``apply``, what was linked and what was left, with why."""

    findings: Findings
    scan: StaffScan | None = None
    run_id: RunId | None = None
    linked: list[Link] = field(default_factory=list)
    left: list[tuple[Pair, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.left


async def scan_tenant(
    farm: Farm, registry: Registry, tenant: str, *, sources: Mapping[str, Source] | None = None
) -> Findings:
    """The tenant's findings, from a full read of its source, its roster and its site's index."""
    site = farm.tenants[tenant].site
    try:
        read = (await read_people(farm, [tenant], birthdates=True, given=sources))[tenant]
        roster = await anyio.to_thread.run_sync(registry.staff_roster, [tenant])
        index = await anyio.to_thread.run_sync(registry.site_index, site)
    except PeopleReadError as error:
        raise ReconcileError(str(error)) from None
    except RegistryError as error:
        raise ReconcileError(f"registry: {error}") from None
    return find_reconciliations(
        tenant,
        roster,
        read.people,
        index,
        birthdates=read.birthdates,
        read_complete=read.complete,
    )


async def reconcile_tenant(
    farm: Farm,
    registry: Registry,
    tenant: str,
    *,
    apply: bool = False,
    sources: Mapping[str, Source] | None = None,
    clients: ClientProvider | None = None,
) -> ReconcileOutcome:
    """Scan ``tenant`` and, with ``apply``, link its confirmed pairs; see the module docstring.

    Raises :class:`ReconcileError` when the scan cannot be made.
    """
    findings = await scan_tenant(farm, registry, tenant, sources=sources)
    outcome = ReconcileOutcome(findings, scan=await _record_scan(registry, findings))
    if not apply or not findings.pairs:
        return outcome
    site = farm.sites[farm.tenants[tenant].site]
    tenants = tuple(t.id for t in site.tenants)
    opened = clients or client_provider()
    run_id = await anyio.to_thread.run_sync(
        lambda: registry.start_run(
            trigger=RunTrigger.TARGETED,
            selection={"reconcile": [tenant], "tenants": [tenant]},
            options={"reconcile": True},
        )
    )
    outcome.run_id = run_id
    status, reason = RunStatus.SUCCEEDED, None
    try:
        policy = LeasePolicy(wait=True, wait_timeout=600)
        async with (
            hold_leases(registry, lease_order(site.name, [tenant]), policy),
            opened(site) as client,
        ):
            for pair in findings.pairs:
                await _link(registry, client, site.name, tenants, pair, run_id, outcome)
    except (LeaseRefused, MoodleError, SecretError, RegistryError) as error:
        status, reason = RunStatus.FAILED, str(error)
        outcome.left.extend((p, str(error)) for p in _untouched(findings, outcome))
    if outcome.left and status is RunStatus.SUCCEEDED:
        status = RunStatus.PARTIAL
        reason = f"{len(outcome.left)} pair(s) left: {outcome.left[0][1]}"
    await anyio.to_thread.run_sync(lambda: registry.finish_run(run_id, status, reason=reason))
    # The counts the dashboard shows are those after the links.
    after = await scan_tenant(farm, registry, tenant, sources=sources)
    outcome.scan = await _record_scan(registry, after)
    return outcome


def _untouched(findings: Findings, outcome: ReconcileOutcome) -> list[Pair]:
    seen = {id(link.pair) for link in outcome.linked} | {id(p) for p, _ in outcome.left}
    return [p for p in findings.pairs if id(p) not in seen]


async def _record_scan(registry: Registry, findings: Findings) -> StaffScan | None:
    scan = StaffScan(
        findings.tenant,
        datetime.now(UTC),
        pending=len(findings.pairs),
        ambiguous=len(findings.ambiguous),
        duplicates=len(findings.duplicates),
        ghosts=len(findings.ghosts),
    )
    try:
        return await anyio.to_thread.run_sync(registry.record_staff_scan, scan)
    except RegistryError:
        # Only the dashboard's counts wait for the next scan: the findings are shown anyway.
        return None


def duplicate_names(moodle_id: int) -> tuple[str, str]:
    """The username and e-mail a suspended duplicate account is given: freed, unmistakable."""
    return f"duplicate-{moodle_id}", f"duplicate-{moodle_id}@noreply.invalid"


async def _link(
    registry: Registry,
    client: MoodleClient,
    site: str,
    tenants: tuple[str, ...],
    pair: Pair,
    run_id: RunId,
    outcome: ReconcileOutcome,
) -> None:
    directory = pair.directory
    index = await anyio.to_thread.run_sync(registry.site_index, site)
    csv_entry = index.get(Kind.PERSON, pair.csv_key)
    dir_entry = index.get(Kind.PERSON, directory.source_key)
    now_csv = csv_entry.moodle_id if csv_entry is not None else None
    now_dir = dir_entry.moodle_id if dir_entry is not None else None
    if (now_csv, now_dir) != (pair.csv_account, pair.directory_account):
        outcome.left.append((pair, "the index changed since the scan: scan again"))
        return
    sync_key = pair.csv_key.removeprefix(SOURCE_KEY_PREFIX)
    reason = f"reconciled with {directory.source_key}"
    if pair.csv_account is None:
        await anyio.to_thread.run_sync(
            lambda: registry.retire_roster_entries(
                tenants, sync_key, reason=reason, linked_to=directory.source_key
            )
        )
        done = "no account yet: left the roster; the directory's account is theirs"
        outcome.linked.append(Link(pair, done))
        return
    kept = await client.update_users([UserUpdate(id=pair.csv_account, idnumber=directory.idnumber)])
    if kept.failed:
        outcome.left.append((pair, f"Moodle refused the idnumber: {kept.failed[0].reason}"))
        return
    duplicate = None
    if pair.directory_account is not None:
        username, email = duplicate_names(pair.directory_account)
        suspended = await client.update_users(
            [
                UserUpdate(
                    id=pair.directory_account,
                    username=username,
                    email=email,
                    idnumber="",
                    suspended=True,
                )
            ]
        )
        if suspended.failed:
            why = suspended.failed[0].reason
            outcome.left.append(
                (pair, f"Moodle refused to suspend duplicate {pair.directory_account}: {why}")
            )
            return
        duplicate = DuplicateAccount(pair.directory_account, username, email)
    relink = PersonRelink(
        site,
        pair.csv_key,
        directory.source_key,
        pair.csv_account,
        directory.idnumber,
        tenants,
        duplicate,
    )
    try:
        result = await anyio.to_thread.run_sync(
            lambda: registry.relink_person(relink, run_id=run_id)
        )
    except RelinkRefused as error:
        outcome.left.append((pair, f"{error}: scan again"))
        return
    done = f"account {pair.csv_account} is {directory.source_key}'s now"
    if duplicate is not None:
        done += f"; duplicate account {duplicate.moodle_id} suspended"
    outcome.linked.append(Link(pair, done, result.lines))
