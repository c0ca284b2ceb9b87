"""Secret references and the values they resolve to.

Configuration never holds a secret itself, only a reference to where it lives:
``env:NAME`` (an environment variable) or ``file:PATH`` (a file whose content,
stripped of a trailing newline, is the secret). A reference is resolved only
when the secret is about to be used, and the resolved value is wrapped in
:class:`Secret`, whose ``repr`` and ``str`` are ``***`` so that it cannot leak
into a log line, a report, a traceback or the dashboard by accident.

A ``file:`` secret stays inside the farm: its path, relative paths read from
the farm folder, must lead, once every symlink and ``..`` is resolved, to a
regular file in the farm folder or in the farm's ``secrets_dir``. Anything
else (``file:/etc/passwd``, ``file:../env.sh``, a symlink to ``/etc/shadow``)
is refused before a byte is read, so a mistaken or hostile farm file cannot
make the farm send another file's content to a site as its token. Errors name
the file, never what it holds.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo

MASK: Final = "***"

MAX_SECRET_BYTES: Final = 64 * 1024
"""A secret file larger than this is refused: it is not a token but some other file."""

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not hang the open
    | getattr(os, "O_CLOEXEC", 0)
)


class SecretError(Exception):
    """A secret reference is malformed or cannot be resolved."""


class Secret:
    """A resolved secret. Call :meth:`reveal` at the last moment, never earlier."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret lives: ``env:NAME`` or ``file:PATH``.

    ``base`` is the farm folder: relative file paths are read from it, and a
    file must be inside it or inside ``secrets_dir`` (farm.toml's
    ``[farm] secrets_dir``), once symlinks are resolved. A ``file:``
    reference without a ``base`` is refused: nothing says where it may lead.
    """

    scheme: str
    target: str
    base: Path | None = None
    secrets_dir: Path | None = None

    @classmethod
    def parse(
        cls, text: str, *, base: Path | None = None, secrets_dir: Path | None = None
    ) -> SecretRef:
        scheme, sep, target = text.partition(":")
        if not sep or scheme not in ("env", "file") or not target:
            raise SecretError(
                "a secret must be a reference, 'env:NAME' or 'file:PATH', never the secret itself"
            )
        return cls(scheme=scheme, target=target, base=base, secrets_dir=secrets_dir)

    @property
    def path(self) -> Path:
        """The file as written, made absolute against the farm folder (symlinks kept)."""
        path = Path(self.target).expanduser()
        if self.base is not None and not path.is_absolute():
            path = self.base / path
        return Path(os.path.abspath(path))

    def resolve(self) -> Secret:
        """Read the secret now. Errors name the reference, never a value."""
        if self.scheme == "env":
            return Secret(self._env())
        value, _ = self._read_file()
        return Secret(value)

    def verify(self) -> tuple[str, ...]:
        """Resolve the secret, drop its value, and say what is unsafe about it.

        Raises :class:`SecretError` as :meth:`resolve` does; returns warnings,
        today a ``file:`` secret that the file's group or others may read.
        """
        if self.scheme == "env":
            self._env()
            return ()
        _, (real, mode) = self._read_file()
        if mode & 0o077:
            shown = self.path if real == self.path else f"{self.path} (-> {real})"
            return (
                f"secret file {shown} is readable by its group or others "
                f"(mode {stat.S_IMODE(mode):04o}): chmod 600 {real}",
            )
        return ()

    def _env(self) -> str:
        value = os.environ.get(self.target)
        if value is None:
            raise SecretError(f"environment variable {self.target} is not set")
        if not value:
            raise SecretError(f"environment variable {self.target} is empty")
        return value

    def allowed_folders(self) -> tuple[Path, ...]:
        """The folders a ``file:`` secret may be in: the farm folder, then ``secrets_dir``."""
        folders = [] if self.base is None else [self.base]
        if self.secrets_dir is not None:
            folders.append(self.secrets_dir)
        return tuple(Path(os.path.abspath(folder)) for folder in folders)

    def locate(self) -> Path:
        """The real path of a ``file:`` secret, checked to stay inside the farm.

        Every symlink and ``..`` is resolved (``Path.resolve(strict=True)``) and the
        result must be inside the real path of the farm folder or of
        ``secrets_dir``; a file that does not exist is refused too.
        """
        if self.scheme != "file":
            raise ValueError("only a file: reference has a path")
        folders = self.allowed_folders()
        if not folders:
            raise SecretError(
                f"secret file {self.target} has no farm folder to be read from; "
                "file: references are read from the farm folder or its secrets_dir"
            )
        path = self.path
        try:
            real = Path(path).resolve(strict=True)
        except FileNotFoundError:
            raise SecretError(
                f"cannot read secret file {path}: No such file or directory"
            ) from None
        except (OSError, RuntimeError) as exc:  # a symlink loop, a folder we may not enter
            reason = getattr(exc, "strerror", None) or "cannot be resolved"
            raise SecretError(f"cannot read secret file {path}: {reason}") from None
        real_folders = [Path(os.path.realpath(folder)) for folder in folders]
        if any(real.is_relative_to(folder) for folder in real_folders):
            return real
        where = "the farm folder" + (" or its secrets_dir" if self.secrets_dir else "")
        named = ", ".join(str(folder) for folder in dict.fromkeys(real_folders))
        if real != path and any(path.is_relative_to(f) for f in (*folders, *real_folders)):
            raise SecretError(f"secret file {path} leads to {real}, outside {where} ({named})")
        shown = str(path) if real == path else f"{path} (-> {real})"
        raise SecretError(f"secret file {shown} is outside {where} ({named})")

    def _read_file(self) -> tuple[str, tuple[Path, int]]:
        real = self.locate()
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except OSError as exc:
            raise SecretError(f"cannot read secret file {self.path}: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SecretError(f"secret file {self.path} is not a regular file")
            data = _read_at_most(fd, MAX_SECRET_BYTES + 1)
            if len(data) > MAX_SECRET_BYTES:
                raise SecretError(
                    f"secret file {self.path} is larger than {MAX_SECRET_BYTES} bytes: "
                    "too big for a secret"
                )
        except OSError as exc:
            raise SecretError(f"cannot read secret file {self.path}: {exc.strerror}") from None
        finally:
            os.close(fd)
        try:
            value = data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise SecretError(f"secret file {self.path} is not UTF-8 text") from None
        if not value:
            raise SecretError(f"secret file {self.path} is empty")
        return value, (real, info.st_mode)

    def __str__(self) -> str:
        # The reference itself is not secret; showing it tells the operator where to look.
        return f"{self.scheme}:{self.target}"


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _secret_ref_from_config(value: object, info: ValidationInfo) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    if not isinstance(value, str):
        raise ValueError("a secret reference is a string, 'env:NAME' or 'file:PATH'")
    context = info.context or {}
    base, secrets_dir = context.get("base_dir"), context.get("secrets_dir")
    try:
        return SecretRef.parse(
            value,
            base=Path(base) if base else None,
            secrets_dir=Path(secrets_dir) if secrets_dir else None,
        )
    except SecretError as exc:
        raise ValueError(str(exc)) from None


SecretReference = Annotated[
    SecretRef,
    BeforeValidator(_secret_ref_from_config),
    PlainSerializer(str, return_type=str),
]
"""A pydantic field type for settings: a ``SecretRef`` parsed from TOML.

Relative ``file:`` paths are read from ``context["base_dir"]`` given to
``model_validate``, normally the farm folder; ``context["secrets_dir"]``, when
given, is a second folder ``file:`` secrets may be in.
"""
