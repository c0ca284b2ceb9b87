"""``farm demo``: a demo farm on stand-ins, synced by the real engine, shown in the dashboard."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import anyio
import click

from farm.cli.context import CliContext


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Folder for the demo farm, its registry and its directory (replaced).",
)
@click.option(
    "--establishments",
    type=click.IntRange(2, 400),
    default=24,
    show_default=True,
    help="How many establishments (every fourth pair is a cité scolaire).",
)
@click.option(
    "--people",
    type=click.IntRange(40, 2000),
    default=120,
    show_default=True,
    help="People per establishment, roughly.",
)
@click.option("--headless", is_flag=True, help="Print progress and a summary; no dashboard.")
@click.option("--keep", is_flag=True, help="Keep the work folder afterwards.")
@click.option(
    "--directory",
    type=click.Choice(["auto", "slapd", "embedded"]),
    default="auto",
    show_default=True,
    help="The directory stand-in: a private slapd (when installed) or an embedded source.",
)
@click.pass_obj
def demo(
    obj: CliContext,
    workdir: Path,
    establishments: int,
    people: int,
    headless: bool,
    keep: bool,
    directory: str,
) -> None:
    """Build a demo farm on simulators, sync it with the real engine, and show it.

    The demo generates a directory of establishments (some in cités
    scolaires), starts a simulated Moodle per site and a directory on
    loopback ports, writes a farm folder and a registry under --workdir,
    runs a batch through the real coordinator and opens the dashboard on it.
    With --headless (the default when the output is not a terminal) it prints
    progress, a summary, and a second run that writes nothing. Ctrl-C stops
    everything cleanly.

    \b
    Examples:
      farm demo
      farm demo --headless --establishments 40
      farm demo --keep --workdir /tmp/farm-demo
    """
    from farm.demo import Demo, DemoOptions
    from farm.demo import dashboard as open_dashboard
    from farm.demo import headless as run_headless
    from farm.engine.events import Phase
    from farm.logs import configure_logs
    from farm.registry import RunStatus

    configure_logs(as_json=True, level=logging.CRITICAL)
    options = DemoOptions(
        workdir=workdir,
        establishments=establishments,
        people=people,
        keep=keep,
        slapd={"auto": None, "slapd": True, "embedded": False}[directory],
    )
    status = 0
    try:
        with Demo(options, echo=click.echo) as built:
            # A dashboard needs a terminal: from a script or a CI log, print instead.
            if headless or not (sys.stdin.isatty() and sys.stdout.isatty()):
                results = anyio.run(run_headless, built, click.echo)
                if not results or results[-1].status is RunStatus.INTERRUPTED:
                    status = 130
                elif any(
                    # Records not written are part of the show (reported, never guessed);
                    # a tenant that did not run is a demo that failed.
                    outcome.phase is not Phase.SUCCEEDED
                    for result in results
                    for outcome in result.tenants.values()
                ):
                    status = 1
            else:
                open_dashboard(built)
    except KeyboardInterrupt:
        click.echo("demo stopped", err=True)
        status = 130
    if keep:
        click.echo(f"kept: {workdir.resolve()} (farm/, registry.sqlite)")
    raise SystemExit(status)
