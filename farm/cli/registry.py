"""``farm registry``: create, upgrade, inspect and load the registry.

Every command that reads or writes the registry takes ``--registry URL``
(or ``$FARM_REGISTRY_URL``); without it the URL is ``[farm] registry_url`` of
farm.toml. :func:`registry_option`, :func:`resolve_registry_url` and
:func:`open_registry` are shared with the other commands that use the
registry. Only ``farm registry upgrade`` creates or changes the schema; every
other command says to run it.
"""

from __future__ import annotations

import click

from farm.cli.context import (
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
    resolve_registry_url,
)
from farm.registry import (
    Registry,
    RegistryError,
    RegistryNotCreated,
    SchemaStateKind,
    mask_url,
)


@click.group()
def registry() -> None:
    """Create, upgrade and inspect the registry.

    The registry keeps the farm's sites and tenants, what each run did, the
    per-site index of what was written to Moodle, leases and events: a SQLite
    file by default, or PostgreSQL when several machines share the farm.

    \b
    Example:
      farm registry upgrade
      farm registry status --registry postgresql+psycopg://farm@db/farm
      farm registry load --dry-run
    """


@registry.command()
@registry_option
@click.pass_obj
def upgrade(obj: CliContext, registry_url: str | None) -> None:
    """Create the registry, or bring its schema up to this version of the farm.

    Safe to run at any time: an up-to-date registry is left as it is, and a
    registry upgraded by a newer version of the farm is refused untouched.

    \b
    Example:
      farm registry upgrade
      FARM_REGISTRY_URL=postgresql+psycopg://farm@db.example.org/farm farm registry upgrade
    """
    url = resolve_registry_url(obj, registry_url)
    with open_registry(url, check=False, create=True) as opened:
        try:
            before, after = opened.upgrade()
        except RegistryError as error:
            fail(str(error))
        if before.kind is SchemaStateKind.MISSING:
            click.echo(f"Created the registry at {opened.url} (schema {after.current}).")
        elif before.current != after.current:
            click.echo(
                f"Upgraded the registry at {opened.url} "
                f"from schema {before.current} to {after.current}."
            )
        else:
            click.echo(f"The registry at {opened.url} is up to date (schema {after.current}).")


@registry.command()
@registry_option
@click.pass_obj
def status(obj: CliContext, registry_url: str | None) -> None:
    """Show the registry's URL (password masked) and its schema version.

    Exit code 0 when the schema is the one this farm expects, 1 otherwise
    (not created yet, older, or newer), with what to do.

    \b
    Example:
      farm registry status
    """
    url = resolve_registry_url(obj, registry_url)
    click.echo(f"registry  {mask_url(url)}")
    try:
        opened = Registry.open(url, check=False)
    except RegistryNotCreated as error:
        click.echo("schema    none")
        fail(str(error))
    except RegistryError as error:
        fail(str(error))
    with opened:
        state = opened.schema_state()
        click.echo(f"schema    {state.current or 'none'} ({state.kind.value})")
        click.echo(f"expected  {state.expected}")
        if state.kind is not SchemaStateKind.CURRENT:
            try:
                opened.check_schema()
            except RegistryError as error:
                fail(str(error))


@registry.command()
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@registry_option
@click.pass_obj
def load(obj: CliContext, dry_run: bool, registry_url: str | None) -> None:
    """Load the farm's TOML files into the registry and say what changed.

    Loading is idempotent. Sites and tenants are added, updated, moved
    between sites or marked removed; a removed tenant keeps its runs, reports
    and history. An invalid farm is refused and nothing is written.

    \b
    Example:
      farm registry load --dry-run
      farm --farm-dir /etc/farm registry load
    """
    farm = load_farm_or_fail(obj)
    url = registry_url or farm.settings.registry_url
    with open_registry(url) as opened:
        try:
            changes = opened.load_farm(farm, dry_run=dry_run)
        except RegistryError as error:
            fail(str(error))
    for line in changes.lines():
        click.echo(line)
    count = len(changes.sites) + len(changes.tenants)
    noun = f"{count} change{'s' if count != 1 else ''}"
    if dry_run:
        click.echo(f"Dry run: {noun} would be made to {mask_url(url)}; nothing was written.")
    elif count:
        click.echo(f"{noun} loaded into {mask_url(url)}.")
    else:
        click.echo(f"No change: {mask_url(url)} already matches {obj.farm_dir}.")
