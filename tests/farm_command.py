"""``farm ARGS`` run inside the test process, answering as the subprocess it stands for.

An acceptance test that only reads what ``farm`` printed and its exit code
gains nothing from a process of its own but the bill: each ``farm`` process
imports SQLAlchemy, pydantic and the engine again (about 2 s of CPU), and
the acceptance tests start hundreds. :func:`run_farm` runs the same click
group (``farm.cli.main``, what the ``farm`` script calls) with click's
runner and gives back a :class:`subprocess.CompletedProcess`: exit code,
stdout and stderr apart, and, for an exception no command caught, the
traceback on stderr with exit code 1, as Python prints it.

What a process of its own is needed for stays one: signals (Ctrl-C,
SIGTERM), a ``farm`` killed or left running in the background, the
installed entry point itself (``tests/acceptance/test_cli_help.py``,
``test_demo.py``).

The run is sealed from the test process in both directions: the
environment is the one given (the runner restores ``os.environ``), and the
log setup each command makes (:func:`farm.logs.configure_logs`, bound to the
runner's stderr) is undone afterwards, so that later log lines of the test
never go to a stream that is closed.
"""

from __future__ import annotations

import logging
import subprocess
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from click import formatting
from click.testing import CliRunner

from farm.cli import main

__all__ = ["run_farm"]


class _ProcessLikeRunner(CliRunner):
    """Click's runner, with help as wide as a process gets it.

    The runner forces 80 columns; a ``farm`` process wraps at its terminal's
    width or ``COLUMNS`` (80 when piped), less click's margin.
    """

    @contextmanager
    def isolation(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with super().isolation(*args, **kwargs) as streams:
            formatting.FORCED_WIDTH = None  # the runner puts its own value back after
            yield streams


def run_farm(
    args: Sequence[str], env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``farm ARGS`` in this process, with ``env`` over this process's environment.

    A ``None`` in ``env`` unsets that variable for the run.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs = structlog.get_config()
    try:
        runner = _ProcessLikeRunner()
        result = runner.invoke(main, list(args), env=dict(env or {}), prog_name="farm")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**logs)
    stderr = result.stderr
    code = result.exit_code
    if result.exc_info is not None and not issubclass(result.exc_info[0], SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
        code = 1
    return subprocess.CompletedProcess(["farm", *args], code, result.stdout, stderr)
