"""The request encoding Moodle's REST server reads: PHP bracket names, booleans 1/0.

``{"users": [{"username": "a", "customfields": [{"type": "uai"}]}]}`` becomes
``users[0][username]=a`` and ``users[0][customfields][0][type]=uai``. Lists
are numbered from 0, ``None`` values are left out (Moodle then applies its
default), and :class:`~farm.secrets.Secret` values are revealed here, at the
last moment, because this is where the request body is built.

A batched call flattens and quotes each record once (:func:`item_form`),
when the session cuts its batches: the pieces give the batch's form-field
count and, prefixed with the record's place in the list (:func:`list_form`),
the request body, also when a refused batch is split and sent again. The
quoted pieces of a new account hold its revealed password until its batch
was sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from farm.secrets import Secret

Fields = list[tuple[str, str]]
Quoted = list[str]
"""Form fields already quoted, each ``name=value``, in order: a request body, not joined yet."""
ItemForm = tuple[str, ...]
"""One list item's quoted fields, each name relative to the item (``%5Busername%5D=jdupont``)."""


def encode(params: Mapping[str, Any]) -> Fields:
    """Flatten parameters into form fields, in order."""
    fields: Fields = []
    for key, value in params.items():
        _flatten(key, value, fields)
    return fields


def _flatten(name: str, value: Any, out: Fields) -> None:
    # Concrete types first: the abstract-class checks below are slow on big batches.
    kind = type(value)
    if kind is str:
        out.append((name, value))
    elif value is None:
        return
    elif kind is bool:
        out.append((name, "1" if value else "0"))
    elif kind is int:
        out.append((name, str(value)))
    elif kind is dict:
        for key, item in value.items():
            # A record's fields are mostly strings: append them without a call.
            if type(item) is str:
                out.append((f"{name}[{key}]", item))
            else:
                _flatten(f"{name}[{key}]", item, out)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{name}[{key}]", item, out)
    elif (
        kind is list
        or kind is tuple
        or (isinstance(value, Sequence) and not isinstance(value, str | bytes))
    ):
        for index, item in enumerate(value):
            _flatten(f"{name}[{index}]", item, out)
    elif isinstance(value, Secret):
        out.append((name, value.reveal()))
    else:
        out.append((name, str(value)))


@lru_cache(maxsize=4096)
def _quoted_key(key: Any) -> str:
    # A mapping's keys repeat from record to record: "[username]" quoted once.
    return quote_plus(f"[{key}]")


@lru_cache(maxsize=65536)
def _quoted_name(name: str) -> str:
    # Field names repeat from request to request (users[0][email]...): quote each once.
    return quote_plus(name)


def quoted(fields: Fields) -> Quoted:
    """Each field as ``name=value``, quoted as ``urlencode`` quotes it."""
    return [f"{_quoted_name(name)}={_quoted_value(value)}" for name, value in fields]


def item_form(value: Any) -> ItemForm:
    """One item of a list parameter, flattened and quoted once; its length is its field count.

    Quoting is character by character, so ``quote(users[3]) + quote([username])``
    is ``quote(users[3][username])``: :func:`list_form` puts each item at its
    place without quoting it again.
    """
    out: Quoted = []
    _quote_into("", value, out)
    return tuple(out)


def quoted_params(params: Mapping[str, Any]) -> Quoted:
    """``quoted(encode(params))`` in one walk: the fields of a call that is not batched."""
    out: Quoted = []
    for key, value in params.items():
        _quote_into(_quoted_name(key), value, out)
    return out


def _quote_into(name: str, value: Any, out: Quoted) -> None:
    # As _flatten, but each field comes out quoted: ``name`` is quoted already.
    kind = type(value)
    if kind is str:
        out.append(f"{name}={_quoted_value(value)}")
    elif value is None:
        return
    elif kind is bool:
        out.append(f"{name}=1" if value else f"{name}=0")
    elif kind is int:
        out.append(f"{name}={value}")
    elif kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            field = name + _quoted_key(key)
            # A record's fields are mostly strings: append them without a call.
            if type(item) is str:
                out.append(f"{field}={_quoted_value(item)}")
            else:
                _quote_into(field, item, out)
    elif (
        kind is list
        or kind is tuple
        or (isinstance(value, Sequence) and not isinstance(value, str | bytes))
    ):
        for index, item in enumerate(value):
            _quote_into(f"{name}%5B{index}%5D", item, out)
    elif isinstance(value, Secret):
        out.append(f"{name}={_quoted_value(value.reveal())}")
    else:
        out.append(f"{name}={_quoted_value(str(value))}")


def list_form(key: str, items: Sequence[ItemForm]) -> Quoted:
    """The quoted fields of ``key[0]``, ``key[1]``... from the items' own quoted fields."""
    out: Quoted = []
    for index, pieces in enumerate(items):
        prefix = _quoted_name(f"{key}[{index}]")
        out.extend([prefix + piece for piece in pieces])
    return out


def form_body(pieces: Quoted) -> bytes:
    """The urlencoded request body, the same bytes ``urlencode`` would give, faster."""
    return "&".join(pieces).encode()


class _Escapes(dict[int, str]):
    """Code point -> how ``quote_plus`` writes it, for ``str.translate``; filled as met.

    ASCII is there from the start (letters, digits and ``_.~-`` as they are,
    a space as ``+``, the rest ``%XX``); any other character is its UTF-8
    bytes escaped, computed the first time it is met. One ``translate``
    call quotes a value in C, where ``quote_plus`` loops in Python.
    """

    def __missing__(self, code: int) -> str:
        escaped = quote_plus(chr(code))
        self[code] = escaped
        return escaped


_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-")
_QUOTE = _Escapes(
    {
        code: chr(code) if chr(code) in _SAFE else "+" if code == 32 else f"%{code:02X}"
        for code in range(128)
    }
)


def _quoted_value(value: str) -> str:
    # Most values (logins, idnumbers, codes) need no escape: checking costs less than translating.
    if value.isalnum() and value.isascii():
        return value
    return value.translate(_QUOTE)
