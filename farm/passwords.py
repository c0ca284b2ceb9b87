"""First passwords of manual accounts: generated here, kept in an owner-only file.

With ``[site] new_passwords = "file"``, the farm generates each new manual
account's password, sends it to Moodle, and appends ``username,password`` to
``var/credentials/<site>-<run>.csv`` under the farm folder, for the
establishment to hand out. The file is created readable and writable by its
owner only (mode 0600, in a folder of mode 0700), refused if it already
exists as something else than a file this run created, and never printed:
passwords travel as :class:`~farm.secrets.Secret` everywhere else.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import string
from collections.abc import Sequence
from pathlib import Path

from farm.secrets import Secret

_SPECIALS = "*-#_!"
_ALPHABET = string.ascii_letters + string.digits + _SPECIALS


def new_password(length: int = 16) -> Secret:
    """A random password that passes Moodle's default policy (every class of character)."""
    while True:
        value = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in value)
            and any(c.isupper() for c in value)
            and any(c.isdigit() for c in value)
            and any(c in _SPECIALS for c in value)
        ):
            return Secret(value)


class CredentialsFile:
    """The owner-only CSV of one run's new passwords on one site. Blocking: use a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._created = False

    def append(self, rows: Sequence[tuple[str, Secret]]) -> None:
        """Write ``username,password`` rows, creating the file (0600) on the first call."""
        if not rows:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not self._created:
            writer.writerow(["username", "password"])
        for username, password in rows:
            writer.writerow([username, password.reveal()])
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        if not self._created:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # O_EXCL: never append to, or through, a file someone else put there.
            flags |= os.O_CREAT | os.O_EXCL
        descriptor = os.open(self.path, flags, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(buffer.getvalue())
            out.flush()
            os.fsync(out.fileno())
        self._created = True
