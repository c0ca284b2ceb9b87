"""The ``farm`` command.

Each command lives in its own module under ``farm/cli/`` and is imported only
when it runs, so ``farm --help`` answers at once and a broken optional
dependency breaks only the command that needs it. ``COMMANDS`` is the table
of contents: name, module, and the one line shown by ``farm --help``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import click

from farm import __version__
from farm.cli.context import CliContext
from farm.engine.allocator import limit_arenas
from farm.logs import configure_logs

# name -> (module:attribute, one-line summary shown in `farm --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "tenants": ("farm.cli.tenants:tenants", "Check, list and show the farm's sites and tenants."),
    "sites": ("farm.cli.sites:sites", "Pre-flight checks of the Moodle sites' web services."),
    "registry": ("farm.cli.registry:registry", "Create, upgrade and inspect the registry."),
    "runs": ("farm.cli.runs:runs", "List past and current runs."),
    "report": ("farm.cli.runs:report", "Show a run's report per tenant (table, JSON or CSV)."),
    "journal": ("farm.cli.journal:journal", "Who changed which record, when, from what to what."),
    "sync": ("farm.cli.sync:sync", "Sync tenants into their Moodle sites."),
    "plan": ("farm.cli.plan:plan", "Show the plan a simulation stored, value by value."),
    "apply": ("farm.cli.apply:apply", "Apply exactly the plan a simulation stored, once."),
    "undo": ("farm.cli.undo:undo", "Take a run back from its journal (simulated, then --apply)."),
    "staff": ("farm.cli.staff:staff", "Check and import staff CSV files (teachers and staff)."),
    "reconcile": ("farm.cli.reconcile:reconcile", "Make CSV accounts and directory ones one."),
    "pronote": ("farm.cli.pronote:pronote", "Import, report, link and export Pronote identifiers."),
    "status": ("farm.cli.status:status", "One line per tenant: last run, result and age."),
    "watch": ("farm.cli.status:watch", "Follow runs live, wherever they were started."),
    "schedule": ("farm.cli.schedule:schedule", "List schedules, or run the scheduler."),
    "worker": ("farm.cli.worker:worker", "Run queued sync jobs (distributed executor)."),
    "dashboard": ("farm.cli.dashboard:dashboard", "Open the terminal dashboard on the registry."),
    "demo": ("farm.cli.demo:demo", "Build a demo farm on simulators, sync it and show it."),
}

DEFAULT_FARM_DIR = "tenants"


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _module_exists(COMMANDS[name][0])]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _module_exists(entry[0]):
            return None
        module_name, _, attribute = entry[0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
            raise TypeError(f"{entry[0]} is not a click command")
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command named ``args[0]``; a mistyped name is told the closest ones."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            name = args[0] if args else ""
            if not name or name.startswith("-") or name in COMMANDS:
                raise
            # Imported here, when a name was mistyped: `farm --help` stays light.
            from difflib import get_close_matches

            close = get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            if not close:
                close = [c for c in self.list_commands(ctx) if c.startswith(name[:3])][:3]
            if not close:
                raise
            said = " or ".join(repr(c) for c in close)
            message = f"No such command {name!r}. Did you mean {said}?"
            raise click.UsageError(message, ctx) from error

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(target: str) -> bool:
    module_name = target.partition(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Run 'farm COMMAND --help' for a command's options and an example.",
)
@click.option(
    "--farm-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("FARM_DIR", DEFAULT_FARM_DIR),
    show_default="$FARM_DIR or ./tenants",
    help="Folder holding farm.toml and one TOML file per Moodle site.",
)
@click.version_option(__version__, prog_name="farm")
@click.pass_context
def main(ctx: click.Context, farm_dir: Path) -> None:
    """Feed a farm of Moodle sites from ENT directories, NetYpareo, CSV and Pronote files.

    The farm is described in TOML files (see 'farm tenants check --help'); what
    the farm did is kept in the registry, a SQLite file or a PostgreSQL database.
    """
    # Every command logs the same way: readable lines in a terminal, JSON lines
    # elsewhere, secrets masked. Commands with --log-json configure it again.
    configure_logs()
    # The garbage collector is tuned where runs go through, for every command that starts
    # one and for farm worker alike: farm/engine/collector.py, held by each job. The C
    # allocator's arenas are limited before any thread starts (farm/engine/allocator.py).
    limit_arenas()
    ctx.obj = CliContext(farm_dir=farm_dir)
