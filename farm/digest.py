"""Digests of record values: canonical JSON, then blake2b, identical on every machine.

:func:`canonical` turns a value (sets, tuples, mappings, enums, datetimes)
into one stable JSON-ready form; :func:`list_digest` hashes a canonical
list. Planning computes a digest per record, so the encoder is built once.
:func:`json_text` is the same encoder's text of any JSON-ready value: the
index's stored values and the journal's, encoded once each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any


def canonical(value: Any) -> Any:
    """Turn a record field into something JSON can encode in one stable way."""
    if type(value) is str or type(value) is bool or value is None:
        return value
    if isinstance(value, frozenset | set):
        return sorted(canonical(v) for v in value)
    if isinstance(value, tuple | list):
        return [canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# Built once: json.dumps builds an encoder per call and JSONEncoder.encode builds the C
# encoder per call, which together triple the cost of a digest. ASCII output is both
# canonical and the fastest path. Canonical values hold no cycles, so no marker check.
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER = (
    _c_make_encoder(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring_ascii,
        None,
        ":",
        ",",
        False,
        False,
        True,
    )
    if _c_make_encoder is not None
    else None
)
_blake2b = hashlib.blake2b


def json_text(value: Any) -> str:
    """Compact ASCII JSON of a JSON-ready value (keys in their order), with no per-call set-up.

    ``json.dumps`` builds its C encoder on every call, which costs more than
    encoding a record's few fields.
    """
    if _C_ENCODER is not None and isinstance(value, list | dict):
        return "".join(_C_ENCODER(value, 0))
    return _ENCODER.encode(value)


def list_digest(values: Any) -> str:
    """Digest of a value already in canonical form (the hot path of planning)."""
    if _C_ENCODER is not None and isinstance(values, list):
        encoded = "".join(_C_ENCODER(values, 0))
    else:  # pragma: no cover - interpreters without the C accelerator
        encoded = _ENCODER.encode(values)
    return _blake2b(encoded.encode("ascii"), digest_size=12).hexdigest()
