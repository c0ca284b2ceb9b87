"""What every ``farm`` command shares: its context, exit codes, and how it fails.

:func:`registry_option`, :func:`resolve_registry_url` and
:func:`open_registry` give every command that reads or writes the registry
the same ``--registry URL`` option (or ``$FARM_REGISTRY_URL``, else farm.toml's
``registry_url``) and the same messages when it cannot be opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from farm.config import Farm
    from farm.registry import Registry

# Exit codes every command keeps to.
EXIT_FAILED = 1  # something failed; stderr says what
EXIT_USAGE = 2  # the command line was wrong (click's own code)
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM: work in flight was finished and recorded


@dataclass(frozen=True, slots=True)
class CliContext:
    """What every command receives through ``click.pass_obj``."""

    farm_dir: Path


_F = TypeVar("_F", bound=Callable[..., Any])


def registry_option(function: _F) -> _F:
    """The ``--registry URL`` option, read from ``$FARM_REGISTRY_URL`` too."""
    return click.option(
        "--registry",
        "registry_url",
        envvar="FARM_REGISTRY_URL",
        metavar="URL",
        help="Registry URL (sqlite:///PATH or postgresql+psycopg://…); "
        "default: $FARM_REGISTRY_URL, else registry_url in farm.toml.",
    )(function)


def fail(message: str) -> NoReturn:
    """Print ``message`` on stderr and exit with status 1."""
    click.echo(message, err=True)
    raise SystemExit(1)


def load_farm_or_fail(obj: CliContext) -> Farm:
    """The farm of ``--farm-dir``, or every problem printed and exit 1."""
    # Imported here: `farm --help` loads this module and must stay light.
    from farm.config import FarmConfigError, load_farm

    try:
        return load_farm(obj.farm_dir)
    except FarmConfigError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        count = len(error.problems)
        fail(f"{count} problem{'s' if count != 1 else ''} in {obj.farm_dir}: nothing was done.")


def resolve_registry_url(obj: CliContext, url: str | None) -> str:
    """``--registry`` if given, else farm.toml's ``registry_url``.

    Only farm.toml's ``[farm]`` table is read: a broken site file must not
    keep an operator from reading runs and reports.
    """
    if url:
        return url
    from farm.config import FarmConfigError, registry_url_of

    try:
        return registry_url_of(obj.farm_dir)
    except FarmConfigError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        fail(f"cannot find the registry of {obj.farm_dir}: nothing was done.")


def open_registry(url: str, *, check: bool = True, create: bool = False) -> Registry:
    """Open the registry, or say why not (which URL, what to run) and exit 1."""
    from farm.registry import Registry, RegistryError

    try:
        return Registry.open(url, check=check, create=create)
    except RegistryError as error:
        fail(str(error))
