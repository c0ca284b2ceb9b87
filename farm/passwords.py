"""First passwords of manual accounts: generated here, kept in an owner-only file.

With ``[site] new_passwords = "file"``, the farm generates each new manual
account's password, sends it to Moodle, and appends ``username,password`` to
``var/credentials/<site>-<run>.csv`` under the farm folder, for the
establishment to hand out. The file is created readable and writable by its
owner only (mode 0600, in a folder of mode 0700), refused if it already
exists as something else than a file this run created, and never printed:
passwords travel as :class:`~farm.secrets.Secret` everywhere else. The folder
gets a ``.gitignore`` of its own, since farm folders are kept in git.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import string
import threading
from collections.abc import Sequence
from pathlib import Path

from farm.secrets import Secret

_SPECIALS = "*-#_!"
_ALPHABET = string.ascii_letters + string.digits + _SPECIALS


def new_password(length: int = 16) -> Secret:
    """A random password that passes Moodle's default policy (every class of character).

    It begins with a letter or a digit: a cell that begins with ``-`` is a
    formula to a spreadsheet, and the files the farm writes neutralise such
    a cell with a leading apostrophe, which would read as part of the password.
    """
    while True:
        value = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (
            value[0].isalnum()
            and any(c.islower() for c in value)
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
        # Slices of one run record their creations from several worker threads.
        self._lock = threading.Lock()

    def append(self, rows: Sequence[tuple[str, Secret]]) -> None:
        """Write ``username,password`` rows, creating the file (0600) on the first call.

        The file is never one that already exists (``O_EXCL``): should the
        name be taken (a registry started afresh reuses run ids), the next
        free ``NAME-2.csv``, ``NAME-3.csv``... is used, and ``path`` says which.
        """
        if not rows:
            return
        with self._lock:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            if not self._created:
                writer.writerow(["username", "password"])
            for username, password in rows:
                writer.writerow([username, password.reveal()])
            descriptor = self._open()
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(buffer.getvalue())
                out.flush()
                os.fsync(out.fileno())
            self._created = True

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        if self._created:
            return os.open(self.path, flags)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Farm folders live in git: passwords must never be committed with them.
        ignore = self.path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        stem, suffix = self.path.stem, self.path.suffix
        for attempt in range(1, 1000):
            candidate = (
                self.path if attempt == 1 else self.path.with_name(f"{stem}-{attempt}{suffix}")
            )
            try:
                # O_EXCL: never append to, or through, a file someone else put there.
                descriptor = os.open(candidate, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            self.path = candidate
            return descriptor
        raise FileExistsError(f"no free credentials file name beside {self.path}")
