"""``farm worker``: run sync jobs queued by ``farm sync --executor distributed``.

A worker takes ``farm.sync_site`` jobs from the procrastinate queue kept in
the registry's PostgreSQL database, at most ``--concurrency`` at once, and
runs each one exactly as a local run would (same leases, reports, events).
Several workers on several machines share the queue; procrastinate's
per-site lock and the registry's leases keep two jobs off one site.
``--install-schema`` creates the queue's tables once, then exits.

SIGTERM or Ctrl-C once: no new job starts, running jobs finish their
current batch, record what Moodle confirmed and give their leases back,
then the worker exits 0; a second signal cancels them at once.
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path

import anyio
import click
import procrastinate

from farm.cli.context import (
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
    resolve_registry_url,
)
from farm.config import Farm, load_farm
from farm.engine.distributed.app import procrastinate_app
from farm.engine.distributed.errors import DistributedUnavailable
from farm.engine.distributed.queue import check_ready, install_schema
from farm.logs import configure_logs
from farm.registry import Registry, RegistryError, mask_url


@click.command()
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    metavar="N",
    help="Jobs this worker runs at once (default: jobs_in_flight of farm.toml).",
)
@click.option("--name", metavar="NAME", help="The worker's name in logs (default: worker).")
@click.option(
    "--install-schema",
    is_flag=True,
    help="Create the job queue's tables in the registry's database if missing, then exit.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=5),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Fail jobs of workers silent this long (killed machines), so their sites free up.",
)
@click.option(
    "--lease-ttl",
    type=click.FloatRange(min=5),
    default=90.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a job's leases last without renewal.",
)
@click.option("--log-json", is_flag=True, help="Logs as JSON lines (the default off a terminal).")
@registry_option
@click.pass_obj
def worker(
    obj: CliContext,
    concurrency: int | None,
    name: str | None,
    install_schema: bool,
    stalled_after: float,
    lease_ttl: float,
    log_json: bool,
    registry_url: str | None,
) -> None:
    """Run queued sync jobs until SIGTERM (the distributed executor's worker).

    The registry must be on PostgreSQL: the job queue lives in its database.
    Run 'farm worker --install-schema' once per database before the first
    worker; every worker needs the farm files (--farm-dir) the runs use.

    \b
    Examples:
      farm worker --install-schema
      farm worker --concurrency 8
      farm --farm-dir /etc/farm worker --registry postgresql+psycopg://farm@db/farm --log-json
    """
    configure_logs(as_json=log_json or not sys.stderr.isatty(), level=logging.INFO)
    url = resolve_registry_url(obj, registry_url)
    try:
        app = procrastinate_app(url)
    except DistributedUnavailable as error:
        fail(f"{error}.")
    if install_schema:
        try:
            created = anyio.run(_install, app)
        except Exception as error:  # psycopg and procrastinate errors: say which database
            fail(f"could not install the job queue in {mask_url(url)}: {error}")
        state = "created" if created else "already present"
        click.echo(f"Job queue tables {state} in {mask_url(url)}.")
        return
    farm = load_farm_or_fail(obj)
    with open_registry(url) as registry:
        try:
            anyio.run(
                _work,
                app,
                registry,
                obj.farm_dir,
                concurrency or farm.settings.jobs_in_flight,
                name,
                stalled_after,
                lease_ttl,
            )
        except DistributedUnavailable as error:
            fail(str(error))
        except RegistryError as error:
            fail(str(error))


async def _install(app: procrastinate.App) -> bool:
    async with app.open_async():
        return await install_schema(app)


async def _work(
    app: procrastinate.App,
    registry: Registry,
    farm_dir: Path,
    concurrency: int,
    name: str | None,
    stalled_after: float,
    lease_ttl: float,
) -> None:
    from farm.engine.bus import EventBus
    from farm.engine.distributed.worker import WorkerRuntime, WorkerSettings, run_worker
    from farm.engine.leases import LeasePolicy
    from farm.engine.wiring import client_provider

    def load() -> Farm:
        # Read for every job: a worker follows edits to the farm files without a restart.
        return load_farm(farm_dir)

    async with app.open_async(), EventBus(registry) as bus:
        await check_ready(app, registry.url)
        runtime = WorkerRuntime(
            farm=load,
            registry=registry,
            events=bus,
            clients=client_provider(),
            stop=anyio.Event(),
            leases=LeasePolicy(ttl=timedelta(seconds=lease_ttl)),
        )
        settings = WorkerSettings(
            concurrency=concurrency,
            name=name,
            stalled_after=stalled_after,
            heartbeat=min(10.0, stalled_after / 4),
        )
        click.echo(
            f"worker on {registry.url}: {concurrency} job(s) at once; SIGTERM or Ctrl-C stops it",
            err=True,
        )
        await run_worker(app, runtime, settings)
