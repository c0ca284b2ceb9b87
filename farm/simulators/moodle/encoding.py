"""Form decoding and parameter validation, the way PHP and Moodle's external API do it.

PHP keeps only the first ``max_input_vars`` form fields and drops the rest
without a word; the simulator does the same before anything else. Bracket
names (``users[0][customfields][0][type]``) become nested mappings, then a
function's parameter description validates and cleans them: unknown keys,
missing required keys and values of the wrong type fail the whole call with
``invalidparameter``, whose ``debuginfo`` names the culprit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from farm.simulators.moodle.errors import invalid_parameter

_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_MISSING: Any = object()


def parse_form(body: bytes, max_input_vars: int) -> tuple[dict[str, Any], int]:
    """Nested parameters from a urlencoded body, and how many fields PHP dropped."""
    pairs = form_pairs(body.decode("utf-8", "replace"))
    kept, dropped = pairs[:max_input_vars], max(0, len(pairs) - max_input_vars)
    root: dict[str, Any] = {}
    for name, value in kept:
        keys = _keys(name)
        node = root
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if key == "":
                key = str(len(node))
            if last:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
    return root, dropped


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)``, without unquoting what needs none.

    Most names and values of a call carry no ``%`` and no ``+``: they are
    taken as they are, which halves the cost of decoding a large call.
    """
    pairs: list[tuple[str, str]] = []
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:
            name = unquote(name.replace("+", " "), "utf-8", "replace")
            value = unquote(value.replace("+", " "), "utf-8", "replace")
        pairs.append((name, value))
    return pairs


@lru_cache(maxsize=65536)
def _keys(name: str) -> tuple[str, ...]:
    """``users[0][email]`` -> ``("users", "0", "email")``; names repeat, so cache them."""
    match = _NAME.match(name)
    if match is None:
        return (name,)
    return (match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2)))


@dataclass(frozen=True, slots=True)
class Value:
    """A scalar parameter: ``int``, ``bool``, ``text``, ``username``, ``alpha``, ``timezone``."""

    kind: str
    required: bool = True
    default: Any = _MISSING


@dataclass(frozen=True, slots=True)
class Single:
    """A structure with named keys."""

    keys: dict[str, Value | Single | Multiple]
    required: bool = True
    default: Any = _MISSING


@dataclass(frozen=True, slots=True)
class Multiple:
    """A list of one kind of item."""

    item: Value | Single
    required: bool = True
    default: Any = field(default=_MISSING)


Spec = Value | Single | Multiple


def validate(spec: Single, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate the top-level parameters of a call."""
    return _single(spec, raw, "")


def _single(spec: Single, raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid_parameter(f"{path} => Only arrays accepted. The bad value is: '{raw}'")
    result: dict[str, Any] = {}
    for key, sub in spec.keys.items():
        where = f"{path}{key}" if not path else f"{path}[{key}]"
        if key not in raw:
            if sub.required:
                raise invalid_parameter(
                    f"{where} => Missing required key in single structure: {key}"
                )
            if sub.default is not _MISSING:
                result[key] = sub.default
            continue
        result[key] = _any(sub, raw[key], where)
    unexpected = [key for key in raw if key not in spec.keys]
    if unexpected:
        raise invalid_parameter(
            f"Unexpected keys ({', '.join(unexpected)}) detected in parameter array."
        )
    return result


def _any(spec: Spec, raw: Any, path: str) -> Any:
    if isinstance(spec, Single):
        return _single(spec, raw, path)
    if isinstance(spec, Multiple):
        if not isinstance(raw, dict):
            raise invalid_parameter(f"{path} => Only arrays accepted. The bad value is: '{raw}'")
        return [_any(spec.item, item, f"{path}[{index}]") for index, item in raw.items()]
    return _value(spec, raw, path)


def _value(spec: Value, raw: Any, path: str) -> Any:
    if isinstance(raw, dict):
        raise invalid_parameter(f"{path} => Scalar type expected, array or object received.")
    text = str(raw)
    expected = {"username": "username", "alpha": "alpha"}.get(spec.kind, spec.kind)
    problem = (
        f"{path} => Invalid parameter value detected: Invalid external api parameter: the "
        f'value is "{text}", the server was expecting "{expected}" type'
    )
    if spec.kind == "int":
        if not re.fullmatch(r"-?\d+", text):
            raise invalid_parameter(problem)
        return int(text)
    if spec.kind == "bool":
        if text not in ("0", "1"):
            raise invalid_parameter(problem)
        return text == "1"
    if spec.kind == "username":
        # PARAM_USERNAME lowercases and strips; Moodle rejects a value it would change.
        if text != clean_username(text):
            raise invalid_parameter(problem)
        return text
    if spec.kind == "alpha" and not re.fullmatch(r"[A-Za-z]*", text):
        raise invalid_parameter(problem)
    if spec.kind == "timezone" and not _TIMEZONE.fullmatch(text):
        raise invalid_parameter(problem)
    return text


# PARAM_TIMEZONE: an hour offset, 99 (the site's own), or a name such as Europe/Paris.
_TIMEZONE = re.compile(
    r"([+-]?(0?[0-9](\.[5|0])?|1[0-3](\.0)?|1[0-2]\.5))|99|[A-Za-z0-9]+(/?[A-Za-z_-])+"
)


def clean_username(text: str) -> str:
    return re.sub(r"[^-\.@_a-z0-9]", "", text.strip().lower())
