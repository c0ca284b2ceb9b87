"""``farm status`` and ``farm watch``: where tenants stand, and runs as they happen.

``farm status`` prints a line per tenant from the registry: its last run,
that run's result and the age of its last success against the farm's
``[status]`` thresholds; ``--json`` and ``--prometheus`` are for monitoring.
``farm watch`` follows the events every run records in the registry, so a
batch started by cron, the scheduler or another operator can be watched.
"""

from __future__ import annotations

import json
from datetime import timedelta

import anyio
import click
from rich.console import Console
from rich.table import Table

from farm.cli import EXIT_INTERRUPTED, CliContext
from farm.cli.registry import (
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
    resolve_registry_url,
)
from farm.engine.bus import follow
from farm.engine.events import Event, EventKind
from farm.engine.status import Level, prometheus, summary, tenant_states
from farm.logs import configure_logs
from farm.registry import Registry, RegistryError, RunId, RunStatus
from farm.selection import SelectionError, select_tenants

_STYLE = {Level.OK: "green", Level.WARNING: "yellow", Level.CRITICAL: "red", Level.NEVER: "red"}


@click.command()
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only tenants with this tag.")
@click.option("--site", "sites", multiple=True, metavar="SITE", help="Only this site's tenants.")
@click.option("--tenant", "tenants", multiple=True, metavar="ID", help="Only this tenant.")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.option("--prometheus", "as_prometheus", is_flag=True, help="Prometheus text format.")
@registry_option
@click.pass_obj
def status(
    obj: CliContext,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    tenants: tuple[str, ...],
    as_json: bool,
    as_prometheus: bool,
    registry_url: str | None,
) -> None:
    """One line per tenant: last run, result, and age of the last success.

    The age is compared with [status] warning_after and critical_after of
    farm.toml; a tenant never synced for real shows "never".

    \b
    Examples:
      farm status
      farm status --tag academie:toulouse
      farm status --json | jq '.[] | select(.level != "ok")'
      farm status --prometheus > /var/lib/node_exporter/farm.prom
    """
    configure_logs()
    farm = load_farm_or_fail(obj)
    try:
        chosen = select_tenants(farm, tags=tags, sites=sites, tenants=tenants)
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    with open_registry(registry_url or farm.settings.registry_url) as registry:
        try:
            states = tenant_states(registry, chosen, farm.settings.status)
        except RegistryError as error:
            fail(str(error))
    if as_prometheus:
        click.echo(prometheus(states, farm.settings.name), nl=False)
        return
    if as_json:
        click.echo(json.dumps([s.to_json() for s in states], indent=2, ensure_ascii=False))
        return
    table = Table("tenant", "site", "last run", "result", "finished (UTC)", "age", "level")
    for state in states:
        table.add_row(
            state.tenant,
            state.site,
            "-" if state.last_run is None else str(state.last_run),
            state.result or "never",
            "-" if state.last_run_at is None else f"{state.last_run_at:%Y-%m-%d %H:%M}",
            _age(state.age),
            f"[{_STYLE[state.level]}]{state.level.value}[/]",
        )
    console = Console()
    console.print(table)
    counts = summary(states)
    console.print(", ".join(f"{n} {level.value}" for level, n in counts.items() if n))


def _age(age: timedelta | None) -> str:
    if age is None:
        return "-"
    hours, rest = divmod(int(age.total_seconds()), 3600)
    return f"{hours // 24}d{hours % 24:02d}h" if hours >= 24 else f"{hours}h{rest // 60:02d}m"


@click.command()
@click.option("--run", "run_id", type=int, help="Follow this run from its start until it ends.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
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
    obj: CliContext, run_id: int | None, as_json: bool, interval: float, registry_url: str | None
) -> None:
    """Follow runs live, wherever they were started (polls the registry's events).

    Without --run, shows every run's events from now on until Ctrl-C.

    \b
    Examples:
      farm watch
      farm watch --run 42
      farm watch --json | jq -c 'select(.kind == "phase")'
    """
    configure_logs()
    url = resolve_registry_url(obj, registry_url)
    with open_registry(url) as registry:
        try:
            anyio.run(_watch, registry, run_id, as_json, interval)
        except KeyboardInterrupt:
            raise SystemExit(EXIT_INTERRUPTED) from None
        except RegistryError as error:
            fail(str(error))


async def _watch(registry: Registry, run_id: int | None, as_json: bool, interval: float) -> None:
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
                click.echo(
                    json.dumps(event.to_json(), ensure_ascii=False) if as_json else line(event)
                )
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


def line(event: Event) -> str:
    """An event as one line of text."""
    where = " ".join(p for p in (event.site, event.tenant) if p)
    what = event.phase.value if event.phase is not None else event.kind.value
    if event.kind is EventKind.PROGRESS:
        what = f"applying {event.done} of {event.total}"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(event.counts.items()) if v)
    tail = "; ".join(p for p in (counts, event.message) if p)
    return f"{event.at:%H:%M:%S} run {event.run_id} {where} {what}" + (f": {tail}" if tail else "")
