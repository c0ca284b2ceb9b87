"""``farm status`` and ``farm watch``: where tenants stand, and runs as they happen.

``farm status`` prints a line per tenant from the registry, worst first: its
state and level as :mod:`farm.engine.status` decides them (its worst open
problem, the age of its last success against the farm's ``[status]``
thresholds) and why; ``--json`` and ``--prometheus`` are for monitoring, and
the exit status follows the Nagios convention (0 ok, 1 warning, 2 critical).
``farm watch`` follows the events every run records in the registry, so a
batch started by cron, the scheduler or another operator can be watched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import anyio
import click
from rich.table import Table
from rich.text import Text

from farm.cli.context import (
    EXIT_INTERRUPTED,
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
    resolve_registry_url,
)
from farm.cli.event_words import event_words
from farm.cli.screen import table_console
from farm.clock import label, local_text, stamp_text, zone, zone_of
from farm.config.schema import StatusThresholds
from farm.config.selection import SelectionError, select_tenants
from farm.engine.bus import follow
from farm.engine.events import Event, EventKind
from farm.engine.health import Level, State, age_text, counts_text, state_counts
from farm.engine.prometheus import prometheus
from farm.engine.status import TenantState, exit_code, summary, tenant_states, worst_first
from farm.logs import configure_logs
from farm.notify import digest, failed_deliveries, notify_changes
from farm.registry import Registry, RegistryError, RunId, RunStatus

_STYLE = {Level.OK: "green", Level.WARNING: "yellow", Level.CRITICAL: "red"}
_STATE_STYLE = {
    State.FAILED: "red",
    State.NEVER: "red",
    State.PARTIAL: "yellow",
    State.INTERRUPTED: "yellow",
}


@click.command()
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only tenants with this tag.")
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Only this site's tenants.")
@click.option("--tenant", "tenants", multiple=True, metavar="ID", help="Only this tenant.")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.option("--prometheus", "as_prometheus", is_flag=True, help="Prometheus text format.")
@click.option(
    "--notify",
    "send",
    is_flag=True,
    help="Also tell operators ([notify] of farm.toml) about tenants whose state changed.",
)
@click.option(
    "--digest",
    "send_digest",
    is_flag=True,
    help="Also send the list of every tenant not ok ([notify]): the morning digest.",
)
@registry_option
@click.pass_obj
def status(
    obj: CliContext,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    tenants: tuple[str, ...],
    as_json: bool,
    as_prometheus: bool,
    send: bool,
    send_digest: bool,
    registry_url: str | None,
) -> None:
    """One line per tenant: its state, level and why; worst first.

    A tenant's state is its worst open problem (failed, interrupted,
    partial) until a run covering the same ground succeeds, else its last
    result; "never" when no real run ever succeeded. The level is the worst
    of the state's (failed and never: critical; partial and interrupted:
    warning) and the age of the last success against [status]
    warning_after and critical_after. Times are in [farm] timezone.

    Exit status, as Nagios plugins: 0 every tenant ok, 1 a warning,
    2 a critical tenant (3 when the registry cannot be read).

    \b
    Examples:
      farm status
      farm status --tag academie:toulouse
      farm status --json | jq '.[] | select(.level != "ok")'
      farm status --prometheus > /var/lib/node_exporter/farm.prom
      farm status --notify --json > /dev/null   # from cron, after the night's runs
      farm status --digest > /dev/null          # from cron at 07:00: the night's digest
    """
    configure_logs()
    farm = load_farm_or_fail(obj)
    try:
        chosen = select_tenants(farm, tags=tags, sites=sites, tenants=tenants)
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    where = zone(farm.settings.timezone)
    thresholds = farm.settings.status
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            states = worst_first(tenant_states(registry, chosen, thresholds))
            if send:
                notify_changes(farm, registry, states)
            if send_digest:
                digest(farm, states)
            undelivered = failed_deliveries(registry, [s.tenant for s in states])
        except RegistryError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(EXIT_UNKNOWN) from None
    code = exit_code(states)
    if as_prometheus:
        click.echo(prometheus(states, farm.settings.name), nl=False)
    elif as_json:
        out = [s.to_json(where, thresholds) for s in states]
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print_states(states, thresholds, where)
    for notice in undelivered:
        errors = "; ".join(
            f"{d.get('channel')}: {d.get('error')}" for d in notice.delivery if not d.get("ok")
        )
        click.echo(
            f"notification about {notice.tenant} not delivered "
            f"({local_text(notice.changed_at, where)}): {errors}",
            err=True,
        )
    raise SystemExit(code)


#: ``farm status`` when it cannot say: the Nagios "unknown".
EXIT_UNKNOWN = 3


def _print_states(states: list[TenantState], thresholds: StatusThresholds, where: ZoneInfo) -> None:
    table = Table(
        "tenant", "site", "state", "level", "last run", "result", f"at ({label(where)})", "age"
    )
    for state in states:
        table.add_row(
            Text(state.tenant),
            Text(state.site),
            Text(state.state.value, style=_STATE_STYLE.get(state.state, "")),
            Text(state.level.value, style=_STYLE[state.level]),
            "-" if state.last_run is None else str(state.last_run),
            Text(state.result or "-"),
            local_text(state.last_run_at, where),
            age_text(state.age),
        )
    console = table_console()
    console.print(table)
    for state in states:
        reasons = state.why(thresholds, where)
        if reasons:
            console.print(
                Text(f"{state.tenant} {state.level.value}: ", style=_STYLE[state.level])
                + Text("; ".join(reasons))
            )
    counts = summary(states)
    by_state = state_counts(s.state.value for s in states)
    console.print(
        ", ".join(f"{n} {level.value}" for level, n in counts.items() if n)
        + f" ({counts_text(by_state)})",
        highlight=False,
    )


@click.command()
@click.option("--run", "run_id", type=int, help="Follow this run from its start until it ends.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only tenants with this tag.")
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Only this site's tenants.")
@click.option("--tenant", "tenants", multiple=True, metavar="ID", help="Only this tenant.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event, every step.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between polls.",
)
@registry_option
@click.pass_obj
def watch(
    obj: CliContext,
    run_id: int | None,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    tenants: tuple[str, ...],
    as_json: bool,
    interval: float,
    registry_url: str | None,
) -> None:
    """Follow runs live, wherever they were started (polls the registry's events).

    Without --run, shows every run's events from now on until Ctrl-C. Each
    tenant gets a few lines: started, waiting for its site (when another run
    holds it), writing N changes, and how it ended with its counts in words;
    every line starts with the time and the zone (farm.toml's [farm]
    timezone). --tag, --site and --tenant keep those tenants' lines (and
    the start and end of every run); --json prints every event as it is,
    queued, planning and progress steps included.

    \b
    Examples:
      farm watch
      farm watch --run 42
      farm watch --site cite-clemenceau-montpellier
      farm watch --json | jq -c 'select(.kind == "phase")'
    """
    configure_logs()
    url = resolve_registry_url(obj, registry_url)
    where = zone_of(obj.farm_dir)
    chosen: EventFilter | None = None
    if tags or sites or tenants:
        farm = load_farm_or_fail(obj)
        try:
            picked = select_tenants(farm, tags=tags, sites=sites, tenants=tenants)
        except SelectionError as error:
            raise click.UsageError(str(error)) from None
        chosen = EventFilter(frozenset(t.id for t in picked), frozenset(t.site for t in picked))
    if not as_json:
        click.echo(f"Times in {label(where)}.")
    with open_registry(url) as registry:
        try:
            anyio.run(_watch, registry, run_id, as_json, interval, where, chosen)
        except KeyboardInterrupt:
            raise SystemExit(EXIT_INTERRUPTED) from None
        except RegistryError as error:
            fail(str(error))


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The tenants ``farm watch`` follows: their events, their sites', and every run's own."""

    tenants: frozenset[str]
    sites: frozenset[str]

    def __call__(self, event: Event) -> bool:
        if event.tenant is not None:
            return event.tenant in self.tenants
        return event.site is None or event.site in self.sites


async def _watch(
    registry: Registry,
    run_id: int | None,
    as_json: bool,
    interval: float,
    where: ZoneInfo | None = None,
    chosen: Callable[[Event], bool] | None = None,
) -> None:
    """Print events until the run ends (with --run) or until interrupted.

    A run can end without a ``run-finished`` event (its process was killed and
    a later run marked it interrupted): the run's status is checked too.
    Registry errors are raised as they are, never wrapped in a group.
    """
    if run_id is not None:
        await anyio.to_thread.run_sync(registry.get_run, RunId(run_id))  # UnknownRun: say so
    after = 0 if run_id is not None else await anyio.to_thread.run_sync(registry.max_event_id)
    errors: list[RegistryError] = []

    def finished(event: Event) -> bool:
        return run_id is not None and event.kind is EventKind.RUN_FINISHED

    async def show(scope: anyio.CancelScope) -> None:
        try:
            async for _, event in follow(
                registry, after=after, run_id=run_id, interval=interval, until=finished
            ):
                if chosen is not None and not chosen(event):
                    continue
                if as_json:
                    click.echo(json.dumps(event.to_json(), ensure_ascii=False))
                elif (said := event_words(event, where or zone(None))) is not None:
                    click.echo(said)
        except RegistryError as error:
            errors.append(error)
        scope.cancel()

    async def until_ended(run: RunId, scope: anyio.CancelScope) -> None:
        try:
            # The registry is polled: another process may end the run, no event tells us.
            while True:
                current = await anyio.to_thread.run_sync(registry.get_run, run)
                if current.status is not RunStatus.RUNNING:
                    break
                await anyio.sleep(max(interval, 1.0))
        except RegistryError as error:
            errors.append(error)
        # Leave time for the last events to be shown before stopping.
        await anyio.sleep(interval * 2 + 0.5)
        scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(show, group.cancel_scope)
        if run_id is not None:
            group.start_soon(until_ended, RunId(run_id), group.cancel_scope)
    if errors:
        raise errors[0]


def line(event: Event, zone_: ZoneInfo | None = None) -> str:
    """An event as one line of text, its time in ``zone_`` (the farm's; the default zone if None).

    What ``farm watch`` prints (:func:`farm.cli.event_words.event_words`); a
    step it leaves out is named by its kind and phase. A final phase is named
    by its state: a tenant that succeeded with refused records says
    ``partial``, as every view does.
    """
    where = zone_ or zone(None)
    said = event_words(event, where)
    if said is not None:
        return said
    what = event.phase.value if event.phase is not None else event.kind.value
    return f"{stamp_text(event.at, where)}  run {event.run_id} {event.tenant or ''} {what}"
