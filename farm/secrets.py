"""Secret references and the values they resolve to.

Configuration never holds a secret itself, only a reference to where it lives:
``env:NAME`` (an environment variable) or ``file:PATH`` (a file whose content,
stripped of a trailing newline, is the secret). A reference is resolved only
when the secret is about to be used, and the resolved value is wrapped in
:class:`Secret`, whose ``repr`` and ``str`` are ``***`` so that it cannot leak
into a log line, a report, a traceback or the dashboard by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo

MASK: Final = "***"


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

    ``base`` is the folder relative file paths are read from (the folder of
    the TOML file that named the reference).
    """

    scheme: str
    target: str
    base: Path | None = None

    @classmethod
    def parse(cls, text: str, *, base: Path | None = None) -> SecretRef:
        scheme, sep, target = text.partition(":")
        if not sep or scheme not in ("env", "file") or not target:
            raise SecretError(
                "a secret must be a reference, 'env:NAME' or 'file:PATH', never the secret itself"
            )
        return cls(scheme=scheme, target=target, base=base)

    @property
    def path(self) -> Path:
        path = Path(self.target).expanduser()
        if self.base is not None and not path.is_absolute():
            path = self.base / path
        return path

    def resolve(self) -> Secret:
        """Read the secret now. Errors name the reference, never a value."""
        if self.scheme == "env":
            value = os.environ.get(self.target)
            if value is None:
                raise SecretError(f"environment variable {self.target} is not set")
            if not value:
                raise SecretError(f"environment variable {self.target} is empty")
            return Secret(value)
        try:
            value = self.path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"cannot read secret file {self.path}: {exc.strerror}") from None
        if not value:
            raise SecretError(f"secret file {self.path} is empty")
        return Secret(value)

    def __str__(self) -> str:
        # The reference itself is not secret; showing it tells the operator where to look.
        return f"{self.scheme}:{self.target}"


def _secret_ref_from_config(value: object, info: ValidationInfo) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    if not isinstance(value, str):
        raise ValueError("a secret reference is a string, 'env:NAME' or 'file:PATH'")
    base = (info.context or {}).get("base_dir")
    try:
        return SecretRef.parse(value, base=Path(base) if base else None)
    except SecretError as exc:
        raise ValueError(str(exc)) from None


SecretReference = Annotated[
    SecretRef,
    BeforeValidator(_secret_ref_from_config),
    PlainSerializer(str, return_type=str),
]
"""A pydantic field type for settings: a ``SecretRef`` parsed from TOML.

Relative ``file:`` paths are read from ``context["base_dir"]`` given to
``model_validate``, normally the folder of the TOML file.
"""
