"""The values of an index entry: as stored JSON text, decoded, or as the record they are.

The registry stores, per index entry, the values last written as a JSON
object; the planner reads almost none of them on a run that changes
nothing, and the applier writes many. :class:`JsonValues` is the one
mapping both hand to :class:`farm.model.IndexEntry`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, ItemsView, Iterator, Mapping
from sys import intern
from typing import Any

from farm.digest import json_text
from farm.model import Record

__all__ = ["JsonValues"]


class JsonValues(Mapping[str, Any]):
    """An index entry's values, held in the cheapest form that can give them back.

    Loading a site's index reads every entry, but a run that changes
    nothing reads the values of almost none: the planner compares digests.
    The registry hands out the stored text, decoded on the first look-up.
    The apply path keeps, for each record Moodle confirmed, the record
    itself (:meth:`of_record`): its plan holds it until the job ends
    anyway, so the entry costs nothing more than this object, and the text
    is made once, when the registry writes it. :attr:`text` is what the
    registry stores, as it is: values read from it are never encoded again.
    """

    __slots__ = ("_data", "_record", "_text")

    def __init__(self, text: str) -> None:
        self._text: str | None = text
        self._data: dict[str, Any] | None = None
        self._record: Record | None = None

    @classmethod
    def of_record(cls, record: Record) -> JsonValues:
        """A record's :meth:`~farm.model.Record.values`, made from it each time they are asked for.

        Nothing is kept but a reference to the record (immutable): for the
        entries an apply writes, the plan's own, which the job holds anyway.
        """
        made = cls.__new__(cls)
        made._text = None
        made._data = None
        made._record = record
        return made

    @property
    def text(self) -> str:
        """The values as one JSON object."""
        if self._record is not None:
            return json_text(self._record.values())
        assert self._text is not None  # a record's values, or a stored text
        return self._text

    def _decoded(self) -> dict[str, Any]:
        data = self._data
        if data is None:
            if self._record is not None:
                return self._record.values()
            text = self._text
            assert text is not None  # a record's values, or a stored text
            loaded = _json_document(text)
            if not isinstance(loaded, dict):
                raise ValueError(f"index values are not a JSON object: {text[:80]!r}")
            # Every entry of a kind has the same field names: shared, not one copy per entry
            # (a person's decoded values take 870 bytes instead of 1,380).
            data = self._data = {intern(name): value for name, value in loaded.items()}
        return data

    def __getitem__(self, name: str) -> Any:
        return self._decoded()[name]

    def get(self, name: str, default: Any = None) -> Any:
        # The planner's and the site rules' one look-up: no call once decoded.
        data = self._data
        return (self._decoded() if data is None else data).get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._decoded()

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __bool__(self) -> bool:
        # Without decoding: what the registry and json_text write for no values is "{}".
        if self._text is None or self._data is not None:
            return bool(self._decoded())
        return self._text not in ("{}", "{ }")

    def items(self) -> ItemsView[str, Any]:
        return self._decoded().items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonValues):
            if self._text is not None and self._text == other._text:
                return True
            if self._record is not None and self._record is other._record:
                return True
            return self._decoded() == other._decoded()
        if isinstance(other, Mapping):
            return self._decoded() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._decoded())


# json.loads wraps the C scanner in Python calls that cost more than scanning a small
# object (2.8 us against 1.0 for a membership's values): scan, then check nothing follows.
# The decoder's C scanner is not in its type stubs.
_DECODER: Any = json.JSONDecoder()
_scan_json: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once


def _json_document(text: str) -> Any:
    """The value of JSON ``text``, which the registry wrote (no surrounding blanks)."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        return json.loads(text)  # raises the decoder's own error, or takes the blanks
    return value
