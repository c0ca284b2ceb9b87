"""``farm dashboard``: the Textual dashboard on the registry.

With the farm's configuration loaded, the dashboard can sync, simulate and
cancel (through the coordinator, under the same leases as ``farm sync``);
with ``--watch-only``, or when only a registry URL is at hand, it follows
what runs elsewhere and starts nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import click

from farm.cli.context import CliContext, fail, open_registry, registry_option
from farm.config import Farm, FarmConfigError, load_farm
from farm.engine.leases import LeasePolicy


@click.command()
@click.option("--watch-only", is_flag=True, help="Follow runs; start nothing.")
@click.option(
    "--tick",
    type=click.FloatRange(0.1, 10.0),
    default=0.5,
    show_default=True,
    help="Seconds between two reads of the registry and redraws.",
)
@registry_option
@click.pass_obj
def dashboard(obj: CliContext, watch_only: bool, tick: float, registry_url: str | None) -> None:
    """Open the terminal dashboard: every tenant, live runs, reports and actions.

    Keys are shown in the footer; '?' lists them all. A batch started by cron,
    another terminal or another machine on the same registry shows live.

    \b
    Examples:
      farm dashboard
      farm --farm-dir /etc/farm dashboard --registry postgresql+psycopg://farm@db/farm
      farm dashboard --watch-only
    """
    from farm.logs import configure_logs
    from farm.tui.app import FarmDashboard
    from farm.tui.commands import Commander
    from farm.tui.feed import RegistryFeed

    # Log lines on stderr would tear the screen: only errors, and the log pane shows events.
    configure_logs(as_json=True, level=logging.CRITICAL)
    farm: Farm | None = None
    try:
        farm = load_farm(obj.farm_dir)
    except FarmConfigError as error:
        if registry_url is None:
            fail(f"{obj.farm_dir}: {len(error.problems)} problem(s); run 'farm tenants check'")
    url = registry_url or (farm.settings.registry_url if farm else "")
    registry = open_registry(url)
    try:
        commander = None
        if farm is not None and not watch_only:
            commander = Commander(farm, registry, leases=LeasePolicy(ttl=timedelta(seconds=90)))
        app = FarmDashboard(
            RegistryFeed(registry, farm),
            commander,
            tick=tick,
            # A --registry URL may hold a password: the title shows it masked.
            title=farm.settings.name if farm else registry.url,
        )
        app.run_with_signals()
    finally:
        registry.close()
    if app.return_code:
        raise SystemExit(app.return_code)
