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
    and opens the dashboard, which syncs the farm once through the real
    coordinator (press a to sync all again: the second run writes nothing).
    With --headless (the default when the output is not a terminal) it prints
    the first run's progress and summary, the records it did not write and
    why, then a second run that writes nothing. At the end it says what it
    stopped and removed, and what to try next. Ctrl-C stops everything
    cleanly.

    One CFA tenant ends partial on purpose: two of its formateurs share a
    login, and the farm refuses the second rather than give two people one
    account; the demo says so. Exit status (headless): 0 when every tenant
    ran and every record not written is such an intended refusal; 1 when a
    tenant failed or Moodle refused a record the demo did not plan, saying
    which; 130 when interrupted.

    \b
    Examples:
      farm demo
      farm demo --headless --establishments 40
      farm demo --keep --workdir /tmp/farm-demo
    """
    from farm.demo import Demo, DemoOptions
    from farm.demo import dashboard as open_dashboard
    from farm.demo import headless as run_headless
    from farm.demo.story import next_steps, verdict
    from farm.logs import configure_logs

    configure_logs(as_json=True, level=logging.CRITICAL)
    options = DemoOptions(
        workdir=workdir,
        establishments=establishments,
        people=people,
        keep=keep,
        slapd={"auto": None, "slapd": True, "embedded": False}[directory],
    )
    status = 0
    ended: list[str] = []
    first_run: int | None = None
    partial: str | None = None
    try:
        with Demo(options, echo=click.echo) as built:
            # A dashboard needs a terminal: from a script or a CI log, print instead.
            if headless or not (sys.stdin.isatty() and sys.stdout.isatty()):
                results = anyio.run(run_headless, built, click.echo)
                told = verdict(built.registry, results)
                status, ended = told.status, list(told.lines)
                first_run = results[0].run_id if results else None
                partial = next(
                    (
                        t
                        for r in results[:1]
                        for t, o in sorted(r.tenants.items())
                        if o.counts.get("errors")
                    ),
                    None,
                )
            else:
                open_dashboard(built)
    except KeyboardInterrupt:
        click.echo("demo stopped", err=True)
        status = 130
    for line in ended:
        click.echo(line, err=status != 0)
    if status != 130:
        for line in next_steps((workdir / "farm").resolve() if keep else None, first_run, partial):
            click.echo(line)
    raise SystemExit(status)
