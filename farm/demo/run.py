"""The demo: build a farm on stand-ins, load it into a registry, run batches, show them.

:class:`Demo` is a context manager: entering it generates the directory,
starts the stand-ins, writes the farm folder and loads it into a fresh
registry (migrations applied); leaving it stops everything and removes the
work folder unless asked to keep it. :func:`headless` runs a batch, then a
second one that must write nothing, printing progress and a summary;
:func:`dashboard` opens the dashboard and starts the batch from it.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio

from farm.config import Farm, load_farm
from farm.demo.farmdir import (
    CFA_PROFILE_FIELDS,
    DIRECTORY,
    NETYPAREO,
    DemoCfa,
    DemoSite,
    plan_sites,
    write_farm,
)
from farm.demo.standins import Directory, MoodleServer, NetYpareoServer, slapd_available
from farm.demo.story import WHY_PARTIAL, intended
from farm.engine.coordinator import RunResult
from farm.engine.events import Event, EventKind
from farm.engine.health import outcome_state
from farm.engine.leases import LeasePolicy
from farm.engine.wiring import Sources
from farm.registry import Registry, RunStatus
from farm.simulators.directory import generate
from farm.tui.commands import Commander

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    """How big the demo farm is and where it lives."""

    workdir: Path
    establishments: int = 24
    people: int = 120  # per establishment, roughly
    seed: int = 2026
    keep: bool = False
    slapd: bool | None = None  # None: use it when installed
    cfa_sites: int = 3  # NetYpareo sites of the demo's CFA; 0 for none


@dataclass
class Demo:
    """See the module docstring."""

    options: DemoOptions
    echo: Echo = print
    sites: list[DemoSite] = field(default_factory=list)
    moodle: MoodleServer | None = None
    netypareo: NetYpareoServer | None = None
    directory: Directory | None = None
    farm: Farm | None = None
    registry: Registry | None = None

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        opts = self.options
        workdir = opts.workdir.resolve()
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        generated = generate(
            opts.establishments,
            opts.establishments * opts.people,
            seed=opts.seed,
            suffix="dc=ent-demo,dc=fr",
        )
        self.sites = plan_sites(generated)
        cites = sum(1 for s in self.sites if s.cite)
        cfa_site = DemoSite(NETYPAREO, secrets.token_hex(16), ())
        self.echo("farm demo builds a farm on stand-ins, then syncs it with the real engine:")
        self.echo(
            f"  demo farm: {opts.establishments} establishments ({cites} cités scolaires) "
            f"on {len(self.sites)} Moodle sites, {len(generated.people)} people in the directory"
        )
        cfa: DemoCfa | None = None
        if opts.cfa_sites:
            ws_token = secrets.token_hex(16)
            self.netypareo = NetYpareoServer(opts.cfa_sites, ws_token, seed=opts.seed).start()
            cfa = DemoCfa(
                site=cfa_site,
                wsdl=self.netypareo.wsdl,
                ws_token=ws_token,
                sites=tuple((s.code, s.name) for s in self.netypareo.data.sites),
            )
            self.echo(
                f"  NetYpareo: {opts.cfa_sites} CFA sites on one simulated endpoint "
                f"({self.netypareo.wsdl}), one Moodle site"
            )
        moodle_sites = [*self.sites, cfa_site] if cfa else self.sites
        self.moodle = MoodleServer(
            moodle_sites, profile_fields={NETYPAREO: CFA_PROFILE_FIELDS}
        ).start()
        self.echo(f"  Moodle: {len(moodle_sites)} simulated sites on {self.moodle.url}")
        use_slapd = slapd_available() if opts.slapd is None else opts.slapd
        self.directory = Directory(generated, workdir / "directory", use_slapd).start()
        self.echo(f"  directory: {self.directory.description}")
        registry_file = workdir / "registry.sqlite"
        slapd = self.directory.slapd
        farm_dir = write_farm(
            workdir / "farm",
            self.sites,
            ldap_url=self.directory.url,
            suffix=generated.suffix,
            bind_dn=slapd.admin_dn if slapd else None,
            bind_password=slapd.admin_password if slapd else None,
            moodle_url=self.moodle.url,
            registry_url=f"sqlite:///{registry_file}",
            cfa=cfa,
        )
        self.farm = load_farm(farm_dir)
        self.registry = Registry.open(self.farm.settings.registry_url, check=False, create=True)
        self.registry.upgrade()
        self.registry.load_farm(self.farm)
        if opts.keep:
            self.echo(f"  farm folder: {farm_dir}   registry: {registry_file} (kept)")
        else:
            # Not named: it is gone when the demo ends (--keep keeps it).
            self.echo("  farm folder and registry: in a work folder removed at the end (--keep)")

    def close(self) -> None:
        """Stop the stand-ins and remove the work folder (unless kept), saying what was done."""
        stopped: list[str] = []
        if self.registry is not None:
            self.registry.close()
            self.registry = None
        if self.directory is not None:
            stopped.append("the directory's slapd" if self.directory.slapd else "the directory")
            self.directory.stop()
            self.directory = None
        if self.moodle is not None:
            stopped.append("the simulated Moodle")
            self.moodle.stop()
            self.moodle = None
        if self.netypareo is not None:
            stopped.append("the NetYpareo simulator")
            self.netypareo.stop()
            self.netypareo = None
        workdir = self.options.workdir
        said = [f"stopped {', '.join(stopped)}"] if stopped else []
        if not self.options.keep and workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            said.append("removed the work folder (farm folder, registry, directory data)")
        elif self.options.keep and workdir.exists() and stopped:
            said.append(f"kept {workdir.resolve()} (farm/, registry.sqlite)")
        if said:
            self.echo("cleaned up: " + "; ".join(said))

    def sources(self, farm: Farm) -> Sources:
        """The farm's sources, with the static stand-in in place of the directory when used."""
        static = None if self.directory is None else self.directory.static
        return Sources(farm, {DIRECTORY: static} if static is not None else None)

    def commander(self) -> Commander:
        assert self.farm is not None
        assert self.registry is not None
        return Commander(
            self.farm,
            self.registry,
            sources=self.sources,
            leases=LeasePolicy(ttl=timedelta(seconds=90)),
        )

    def banner(self) -> str:
        """One line saying what stands in for what, for the dashboard's header."""
        directory = "embedded directory"
        if self.directory is not None and self.directory.slapd is not None:
            directory = "directory on a private slapd"
        cfa = ", NetYpareo simulator" if self.netypareo is not None else ""
        return f"demo farm: simulated Moodle{cfa}, {directory}"

    def accounts(self) -> int:
        """Live accounts over every simulated Moodle site."""
        return 0 if self.moodle is None else self.moodle.accounts()

    def writes(self) -> int:
        """Write calls the simulated Moodle sites have answered so far."""
        assert self.moodle is not None
        return sum(
            n
            for site in self.moodle.simulator.sites.values()
            for function, n in site.calls.items()
            if not _reads(function)
        )


def _reads(function: str) -> bool:
    return "_get_" in function or "search" in function or function.endswith("get_site_info")


def _counts(result: RunResult, key: str) -> int:
    return sum(o.counts.get(key, 0) for o in result.tenants.values())


async def headless(demo: Demo, echo: Echo = print) -> list[RunResult]:
    """Run the batch, then the same batch again, printing progress and a summary.

    Returns the runs' results; the second run is skipped when the first was stopped.
    """
    commander = demo.commander()
    tenants = commander.tenants()
    total = len(tenants)
    finished: list[str] = []

    def progress(event: Event) -> None:
        if event.kind is EventKind.PHASE and event.phase is not None and event.phase.final:
            finished.append(event.tenant or "")
            counts = ", ".join(f"{k} {v}" for k, v in sorted(event.counts.items()) if v)
            detail = "; ".join(p for p in (counts, event.message) if p)
            state = outcome_state(event.phase, event.counts)
            said = state.value if state is not None else event.phase.value
            echo(
                f"  [{len(finished):>3}/{total}] {event.tenant:<10} {event.site:<26} "
                f"{said:<10} {detail}".rstrip()
            )

    unsubscribe = commander.bus().subscribe(progress)
    results: list[RunResult] = []
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_stop_on_signal, commander, group.cancel_scope)
            started = time.monotonic()
            echo(f"run 1: syncing {total} tenants")
            first = await commander.sync(tenants, selection={"from": "demo"})
            first_wall = time.monotonic() - started
            _summary(echo, first, first_wall, "run 1", demo.accounts())
            _refusals(echo, demo, first)
            results.append(first)
            if first.status is RunStatus.INTERRUPTED:
                group.cancel_scope.cancel()
                return results
            before = demo.writes()
            finished.clear()
            echo("run 2: the same batch again, nothing changed at the source")
            started = time.monotonic()
            second = await commander.sync(tenants, selection={"from": "demo"})
            _summary(echo, second, time.monotonic() - started, "run 2", demo.accounts())
            results.append(second)
            writes = demo.writes() - before
            echo(f"run 2 wrote {writes} times to Moodle (a second run writes nothing)")
            group.cancel_scope.cancel()
    finally:
        unsubscribe()
        await commander.aclose()
    return results


def _summary(echo: Echo, result: RunResult, wall: float, label: str, accounts: int) -> None:
    phases = [(o.phase.value, o.counts.get("errors", 0)) for o in result.tenants.values()]
    ok = sum(1 for phase, errors in phases if phase == "succeeded" and not errors)
    partial = sum(1 for phase, errors in phases if phase == "succeeded" and errors)
    stopped = sum(1 for phase, _ in phases if phase == "interrupted")
    failed = len(phases) - ok - partial - stopped
    echo(
        f"{label} (run {result.run_id}): {result.status.value}; tenants ok {ok}, "
        f"partial {partial}, failed {failed}, stopped {stopped}; "
        # A person of several establishments of a cité scolaire counts once, in the
        # first one's report: the sums are what Moodle did.
        f"per-tenant sums: accounts created {_counts(result, 'person.create')}, "
        f"updated {_counts(result, 'person.update')}; {accounts} distinct accounts in Moodle; "
        f"wall time {wall:.1f}s" + (f"\n  {result.reason}" if result.reason else "")
    )


def _refusals(echo: Echo, demo: Demo, result: RunResult, shown: int = 5) -> None:
    """The records a run did not write, with their reasons: the demo's folder goes away."""
    if demo.registry is None:
        return
    errors = [
        (report.tenant, error)
        for report in demo.registry.get_report(result.run_id).tenants
        for error in report.errors
    ]
    for tenant, error in errors[:shown]:
        echo(f"  not written: {tenant}: {error.entity} {error.key}: {error.reason}")
    if len(errors) > shown:
        echo(f"  ... and {len(errors) - shown} more (farm report {result.run_id} --failed)")
    shared = [intended(e.reason) for _, e in errors]
    for name in dict.fromkeys(n for n in shared if n is not None):
        echo("  " + WHY_PARTIAL.format(field=name))


async def _stop_on_signal(commander: Commander, scope: anyio.CancelScope) -> None:
    import signal

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        first = True
        async for _ in received:
            if first:
                print("\nstopping: current batches finish, then the demo ends (again: at once)")
                for run_id in list(commander.running()):
                    commander.cancel(run_id)
                first = False
            else:
                scope.cancel()
                return


def dashboard(demo: Demo) -> None:
    """Open the dashboard on the demo farm and start the batch from it."""
    from farm.tui.app import FarmDashboard
    from farm.tui.feed import RegistryFeed

    assert demo.registry is not None
    commander = demo.commander()

    def start(app: FarmDashboard) -> None:
        app.launch(commander.tenants())

    app = FarmDashboard(
        RegistryFeed(demo.registry, demo.farm),
        commander,
        title=demo.banner(),
        on_ready=start,
    )
    app.run_with_signals()
