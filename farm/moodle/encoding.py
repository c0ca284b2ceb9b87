"""The request encoding Moodle's REST server reads: PHP bracket names, booleans 1/0.

``{"users": [{"username": "a", "customfields": [{"type": "uai"}]}]}`` becomes
``users[0][username]=a`` and ``users[0][customfields][0][type]=uai``. Lists
are numbered from 0, ``None`` values are left out (Moodle then applies its
default), and :class:`~farm.secrets.Secret` values are revealed here, at the
last moment, because this is where the request body is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from farm.secrets import Secret

Fields = list[tuple[str, str]]


def encode(params: Mapping[str, Any]) -> Fields:
    """Flatten parameters into form fields, in order."""
    fields: Fields = []
    for key, value in params.items():
        _flatten(key, value, fields)
    return fields


def _flatten(name: str, value: Any, out: Fields) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out.append((name, "1" if value else "0"))
    elif isinstance(value, Secret):
        out.append((name, value.reveal()))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{name}[{key}]", item, out)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for index, item in enumerate(value):
            _flatten(f"{name}[{index}]", item, out)
    else:
        out.append((name, str(value)))


def field_count(value: Any) -> int:
    """How many form fields ``value`` becomes once flattened."""
    if value is None:
        return 0
    if isinstance(value, Mapping):
        return sum(field_count(v) for v in value.values())
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return sum(field_count(v) for v in value)
    return 1
