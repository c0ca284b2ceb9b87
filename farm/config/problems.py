"""Problems found in the farm's TOML files, and how they are worded.

A problem names the file, the key as a dotted path (``establishments[2].uai``),
the line when it can be found, what is wrong and what to do. Pydantic's errors
are translated here so that operators never see a pydantic loc tuple.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the farm's configuration.

    A ``warning`` is worth fixing but does not stop the farm from loading
    (a secret file others may read, say).
    """

    file: Path
    key: str | None
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None
    warning: bool = False

    def __str__(self) -> str:
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.warning:
            where += ": warning"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def sort_key(self) -> tuple[bool, str, int, str]:
        # farm.toml first: its problems often explain the site files' ones.
        return (self.file.name != "farm.toml", str(self.file), self.line or 0, self.key or "")


class FarmConfigError(Exception):
    """The farm's configuration is invalid; ``problems`` lists everything found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=Problem.sort_key))
        super().__init__(self._render())

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that stop the farm from loading, warnings left out."""
        return tuple(problem for problem in self.problems if not problem.warning)

    def _render(self) -> str:
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} in the farm's configuration:"
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])


def key_path(loc: Sequence[str | int]) -> str:
    """``("establishments", 2, "uai")`` -> ``establishments[2].uai``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """A hint naming the closest of ``choices``, if one is close enough."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}?" if close else None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``None`` from an annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc``, if there is one."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif origin in (tuple, list) and isinstance(part, int):
            current = typing.get_args(current)[0]
        elif origin is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def annotation_fields(model: type[BaseModel]) -> Iterator[tuple[str, Any]]:
    """Each field of ``model`` with its unwrapped annotation."""
    for name, field in model.model_fields.items():
        yield name, _unwrap(field.annotation)


_VALUE_ERROR = re.compile(r"^(Value error|Assertion failed), ")


def problems_from_validation(
    error: ValidationError, root: type[BaseModel], file: Path, lines: KeyLines
) -> list[Problem]:
    """Translate every error of one file's validation into problems."""
    problems = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        key = key_path(loc)
        kind = detail["type"]
        hint: str | None = None
        if kind == "extra_forbidden":
            model = model_at(root, loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            message = "unknown key"
            hint = did_you_mean(str(loc[-1]), allowed)
            if hint is None and allowed:
                hint = f"remove it; the keys here are {', '.join(allowed)}"
        elif kind == "missing":
            message = "required key is missing"
            parent = model_at(root, loc[:-1])
            field = parent.model_fields.get(str(loc[-1])) if parent else None
            hint = f"add it: {field.description}" if field and field.description else "add it"
        else:
            message = _VALUE_ERROR.sub("", detail["msg"])
            parent = model_at(root, loc[:-1])
            field = parent.model_fields.get(str(loc[-1])) if parent else None
            if field and field.description and kind != "value_error":
                hint = field.description
        line = lines.find(loc)
        problems.append(Problem(file=file, key=key, message=message, hint=hint, line=line))
    return problems


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', text)
    return tuple(next(group for group in groups if group) for groups in parts)


class KeyLines:
    """Where each key of a TOML file is written, found by a simple line scan.

    It understands ``[table]``, ``[[array]]`` and ``a.b = value`` lines, which
    is what farm files use; a key it cannot place falls back to its nearest
    enclosing table, and then to no line at all.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str | int, ...], int] = {}
        counters: dict[tuple[str | int, ...], int] = {}
        table: tuple[str | int, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                names = _split_key(header.group(2))
                table = self._resolve(names, counters)
                if header.group(1) == "[[":
                    index = counters.get(table, -1) + 1
                    counters[table] = index
                    table = (*table, index)
                self._lines.setdefault(table, number)
                continue
            assign = _ASSIGN.match(line)
            if assign:
                self._lines.setdefault((*table, *_split_key(assign.group(1))), number)

    def _resolve(
        self, names: tuple[str, ...], counters: dict[tuple[str | int, ...], int]
    ) -> tuple[str | int, ...]:
        # In [a.b] after [[a]], "a" means the last element of the array a.
        path: tuple[str | int, ...] = ()
        for position, name in enumerate(names):
            path = (*path, name)
            if path in counters and position < len(names) - 1:
                path = (*path, counters[path])
        return path

    def find(self, loc: Sequence[str | int]) -> int | None:
        """The line of ``loc``, or of its nearest enclosing key that is written."""
        path = tuple(loc)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None
