"""A farm of 163 tenants after a night with failures, for the CLI's views (issue 19).

:func:`night_farm` writes a farm folder like the demo's (160 establishments,
40 of them in cités scolaires, and a CFA of three NetYpareo sites; nothing
listens at its URLs: these tests only read the registry), loads it into a
registry, and records two runs the way the coordinator does: last night's,
where every tenant succeeded, and tonight's, where two tenants failed, one
ended partial with a refused record, and every other tenant succeeded, with
their events. Two cités scolaires override the ``delta`` task: one disables
it, one runs it every 20 minutes.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farm.config import TenantConfig, load_farm
from farm.demo.farmdir import DemoCfa, DemoSite, plan_sites, write_farm
from farm.engine.events import Event, EventKind, Phase
from farm.registry import (
    NewEvent,
    RefusedRecord,
    Registry,
    RunId,
    RunStatus,
    RunTrigger,
    TenantReport,
    TenantStatus,
)
from farm.simulators.directory import generate
from tests.farm_command import run_farm


@dataclass(frozen=True)
class Night:
    """The farm folder, its tenants by site, and the two runs."""

    folder: Path
    sites: dict[str, tuple[str, ...]]  # site -> tenant ids, in the farm's order
    last_night: RunId
    tonight: RunId
    failed: tuple[str, ...]  # tonight
    partial: tuple[str, ...]  # tonight
    night_only: str  # a site whose delta task is disabled
    more_often: str  # a site whose delta task has its own schedule

    @property
    def tenants(self) -> list[str]:
        return [t for ids in self.sites.values() for t in ids]

    def site_of(self, tenant: str) -> str:
        return next(site for site, ids in self.sites.items() if tenant in ids)

    def run(self, *args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
        """``farm ARGS`` on this farm (in this process), with ``COLUMNS`` set when given."""
        env = {
            "FARM_REGISTRY_URL": None,
            "FARM_DIR": None,
            "COLUMNS": None if columns is None else str(columns),
        }
        return run_farm(["--farm-dir", str(self.folder), *args], env=env)


def night_farm(root: Path) -> Night:
    """See the module docstring."""
    directory = generate(160, 160 * 2, seed=19, suffix="dc=ent-night,dc=fr")
    planned = plan_sites(directory)
    cfa = DemoCfa(
        site=DemoSite("cfa-night", secrets.token_hex(16), ()),
        wsdl="http://127.0.0.1:9/ws?wsdl",
        ws_token=secrets.token_hex(8),
        sites=(("34", "Montpellier"), ("31", "Toulouse"), ("66", "Perpignan")),
    )
    folder = root / "farm"
    write_farm(
        folder,
        planned,
        ldap_url="ldap://127.0.0.1:9",
        suffix=directory.suffix,
        bind_dn="cn=admin,dc=ent-night,dc=fr",
        bind_password=secrets.token_hex(8),
        moodle_url="http://127.0.0.1:9",
        registry_url=f"sqlite:///{folder / 'registry.sqlite'}",
        cfa=cfa,
    )
    cites = [site.name for site in planned if site.cite]
    # Two cités scolaires change a task's schedule: one syncs changes more often, one
    # only at night (its delta runs from the command line only).
    for name, delta in ((cites[0], "disabled"), (cites[1], "*/20 7-18 * * 1-5")):
        with (folder / f"{name}.toml").open("a", encoding="utf-8") as file:
            file.write(f'\n[schedules]\ndelta = "{delta}"\n')
    farm = load_farm(folder)
    sites: dict[str, tuple[str, ...]] = {}
    for tenant in farm.tenants.values():
        sites[tenant.site] = (*sites.get(tenant.site, ()), tenant.id)
    tenants = [t for ids in sites.values() for t in ids]
    failed = (tenants[17], tenants[90])
    partial = (tenants[-1],)
    with Registry.open(farm.settings.registry_url, check=False, create=True) as registry:
        registry.upgrade()
        registry.load_farm(farm)
        last_night = _night(registry, farm.tenants, (), ())
        tonight = _night(registry, farm.tenants, failed, partial)
    return Night(folder, sites, last_night, tonight, failed, partial, cites[0], cites[1])


def _night(
    registry: Registry,
    tenants: Mapping[str, TenantConfig],
    failed: tuple[str, ...],
    partial: tuple[str, ...],
) -> RunId:
    run = registry.start_run(trigger=RunTrigger.BATCH, selection={"all": True})
    sites = {config.site for config in tenants.values()}
    events = [
        Event(run, EventKind.RUN_STARTED, counts={"tenants": len(tenants), "sites": len(sites)})
    ]
    for tenant, config in tenants.items():
        events += _steps(run, config, failed=tenant in failed, partial=tenant in partial)
    for tenant, config in tenants.items():
        site = config.site
        if tenant in failed:
            report = TenantReport(
                tenant, site, TenantStatus.FAILED, reason=f"site {site}: HTTP 503 after 5 tries"
            )
        elif tenant in partial:
            report = TenantReport(
                tenant,
                site,
                TenantStatus.PARTIAL,
                reason="1 record(s) not written; see the errors",
                counts={"person": {"create": 59}},
                errors=(
                    RefusedRecord(
                        f"netypareo:{site}:formateur:715",
                        "jade.rousseau (Jade Rousseau): username 'jade.rousseau' is also the "
                        f"username of netypareo:{site}:formateur:712",
                        "person",
                    ),
                ),
            )
        else:
            report = TenantReport(
                tenant, site, TenantStatus.SUCCEEDED, counts={"person": {"update": 2}}
            )
        registry.record_tenant_report(run, report)
    status = RunStatus.PARTIAL if failed or partial else RunStatus.SUCCEEDED
    events.append(Event(run, EventKind.RUN_FINISHED, message=status.value))
    registry.append_events(
        [
            NewEvent(
                kind=e.kind.value,
                payload=e.to_json(),
                run_id=RunId(e.run_id),
                site=e.site,
                tenant=e.tenant,
            )
            for e in events
        ]
    )
    registry.finish_run(run, status, reason="2 tenants failed" if failed else None)
    return run


def _steps(run: RunId, tenant: TenantConfig, *, failed: bool, partial: bool) -> list[Event]:
    """The events one tenant's job publishes, as :mod:`farm.engine.job` does."""

    def event(kind: EventKind, **fields: Any) -> Event:
        return Event(run, kind, site=tenant.site, tenant=tenant.id, **fields)

    steps = [
        event(EventKind.PHASE, phase=Phase.QUEUED),
        event(EventKind.PHASE, phase=Phase.READING),
        event(EventKind.PHASE, phase=Phase.PLANNING),
    ]
    if failed:
        return [*steps, event(EventKind.PHASE, phase=Phase.FAILED, message="HTTP 503")]
    steps.append(event(EventKind.PHASE, phase=Phase.APPLYING))
    steps += [event(EventKind.PROGRESS, done=done, total=60) for done in (0, 20, 40, 60)]
    counts = {"person.create": 59, "errors": 1} if partial else {"person.update": 2}
    return [*steps, event(EventKind.PHASE, phase=Phase.SUCCEEDED, counts=counts)]
