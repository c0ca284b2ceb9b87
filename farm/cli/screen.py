"""How wide tables are drawn: the terminal's width, ``COLUMNS``, or a wide page when piped.

In a terminal, rich follows the terminal. Piped (``farm report 42 | less``,
a cron mail, a file), a table is as wide as ``COLUMNS`` says when it is set,
so ``COLUMNS=100 farm report 42 > report.txt`` gives a hundred columns;
without it, up to :data:`PIPED_WIDTH`, and a table is only as wide as its
cells. Scripts want ``--json`` or ``--csv``, not a table of any width.
"""

from __future__ import annotations

import os

from rich.console import Console

#: Widest a piped table is drawn when ``COLUMNS`` does not say.
PIPED_WIDTH = 200


def piped_width(environ: dict[str, str] | None = None) -> int:
    """``COLUMNS`` when it is a positive number, else :data:`PIPED_WIDTH`."""
    value = (os.environ if environ is None else environ).get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else PIPED_WIDTH


def table_console() -> Console:
    """A console on stdout for a command's tables (see the module docstring)."""
    console = Console()
    return console if console.is_terminal else Console(width=piped_width())
