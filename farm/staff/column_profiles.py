"""Column profiles: a file layout saved once, in the farm folder, and given again by name.

A school's software exports the same columns every time, so the mapping that
fits its file is saved (``farm staff check ... --save-profile NAME``) as
``<farm>/staff-profiles/NAME.toml`` and given back with ``--columns NAME``::

    # Column profile of farm staff files; docs/staff-csv.md describes it.
    kind = "teachers"
    separator = ";"
    header = true

    [columns]
    civility = "Civilité enseignant"
    lastname = "Nom enseignant"
    firstname = "Prénom enseignant"
    subject = "Matière enseignant"

A column is named by its header, or by its number (from 1) in a file
without a header. The folder sits beside the site files; the farm loader
reads only the folder's top-level ``*.toml``, so profiles are never taken
for sites.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from farm.staff.columns import ColumnRef
from farm.staff.fields import StaffField, StaffKind
from farm.staff.table import DEFAULT_SEPARATOR, parse_separator

PROFILES_FOLDER: Final = "staff-profiles"
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_KEYS: Final = frozenset({"kind", "separator", "header", "columns"})


class ColumnProfileError(Exception):
    """A column profile is missing or wrong; the message names the file and the key."""


@dataclass(frozen=True)
class ColumnProfile:
    """A saved layout: the kind of file, its separator, its header, and its columns."""

    name: str
    kind: StaffKind
    columns: Mapping[StaffField, ColumnRef]
    separator: str = DEFAULT_SEPARATOR
    header: bool = True


def profile_path(farm_dir: Path, name: str) -> Path:
    """Where the profile ``name`` lives; raises ColumnProfileError for a name that cannot be one."""
    if not _NAME.fullmatch(name):
        raise ColumnProfileError(
            f"{name!r} cannot name a column profile: use lowercase letters, digits, '.', '_', '-'"
        )
    return farm_dir / PROFILES_FOLDER / f"{name}.toml"


def is_profile_name(text: str) -> bool:
    """Whether ``--columns`` names a profile rather than giving FIELD=COLUMN pairs."""
    return "=" not in text and bool(_NAME.fullmatch(text))


def save_profile(farm_dir: Path, profile: ColumnProfile) -> tuple[Path, bool]:
    """Write ``profile``, replacing one of that name; return its path, and if it replaced one."""
    path = profile_path(farm_dir, profile.name)
    lines = [
        "# Column profile of farm staff files (farm staff check --columns "
        f"{profile.name}); docs/staff-csv.md describes it.",
        f"kind = {_toml(profile.kind.value)}",
        f"separator = {_toml(profile.separator)}",
        f"header = {'true' if profile.header else 'false'}",
        "",
        "[columns]",
        *(f"{f.value} = {_toml(ref)}" for f, ref in profile.columns.items()),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path, existed


def _toml(value: str | int) -> str:
    # A JSON string is a TOML basic string: same quotes, same escapes.
    return str(value) if isinstance(value, int) else json.dumps(value, ensure_ascii=False)


def load_profile(farm_dir: Path, name: str) -> ColumnProfile:
    """Read the profile ``name`` of the farm; every problem names the file and the key."""
    path = profile_path(farm_dir, name)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        folder = path.parent
        known = sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []
        listed = f"; profiles saved: {', '.join(known)}" if known else ""
        raise ColumnProfileError(f"{path}: no such column profile{listed}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ColumnProfileError(f"{path}: not valid TOML: {exc}") from None
    for key in raw:
        if key not in _KEYS:
            raise ColumnProfileError(
                f"{path}: {key}: unknown key (keys: {', '.join(sorted(_KEYS))})"
            )
    kind = _kind(path, raw.get("kind"))
    separator = raw.get("separator", DEFAULT_SEPARATOR)
    try:
        separator = parse_separator(separator if isinstance(separator, str) else "")
    except ValueError as exc:
        raise ColumnProfileError(f"{path}: separator: {exc}") from None
    header = raw.get("header", True)
    if not isinstance(header, bool):
        raise ColumnProfileError(f"{path}: header: true or false, not {header!r}")
    return ColumnProfile(name, kind, _columns(path, raw.get("columns"), header), separator, header)


def _kind(path: Path, value: Any) -> StaffKind:
    try:
        return StaffKind(value)
    except ValueError:
        raise ColumnProfileError(f"{path}: kind: {value!r} is not 'teachers' or 'staff'") from None


def _columns(path: Path, raw: Any, header: bool) -> dict[StaffField, ColumnRef]:
    if not isinstance(raw, dict) or not raw:
        raise ColumnProfileError(f"{path}: columns: a table of FIELD = COLUMN is needed")
    columns: dict[StaffField, ColumnRef] = {}
    for key, ref in raw.items():
        try:
            staff_field = StaffField(key)
        except ValueError:
            known = ", ".join(f.value for f in StaffField)
            raise ColumnProfileError(
                f"{path}: columns.{key}: no such field (fields: {known})"
            ) from None
        if isinstance(ref, bool) or not isinstance(ref, str | int):
            raise ColumnProfileError(f"{path}: columns.{key}: a header or a column number")
        if isinstance(ref, int) and ref < 1:
            raise ColumnProfileError(f"{path}: columns.{key}: columns are numbered from 1")
        if isinstance(ref, str) and not header:
            raise ColumnProfileError(
                f"{path}: columns.{key}: the profile says header = false: give a column number"
            )
        columns[staff_field] = ref
    return columns
