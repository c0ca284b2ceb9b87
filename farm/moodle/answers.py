"""Readers that check Moodle's answer against the records sent.

A create answers one entry per record, in request order; anything else (fewer
entries, other names, another order) is an :class:`AnswerMismatch`, never a
silent loss: the entries that do match are kept in ``partial`` because Moodle
wrote them. Functions without a return value must answer ``null``. Per-item
calls answer ``warnings``; each warning is tied back to the record it names,
and a warning that names no record sent is an error too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from farm.moodle.errors import AnswerMismatch, RecordError, UnknownError
from farm.moodle.records import BatchResult, Confirmed, Failed

T = TypeVar("T")
Reader = Callable[[Sequence[T], Any], BatchResult[T]]

MISMATCH_HINT = (
    "the site may drop form fields past PHP's max_input_vars: lower form_fields_per_request "
    "in the site's [limits]"
)


def created(site: str, function: str, sent_key: Callable[[T], str], answer_key: str) -> Reader[T]:
    """A reader for creates answering ``[{id, <answer_key>}, ...]`` in request order."""

    def read(batch: Sequence[T], answer: Any) -> BatchResult[T]:
        entries = answer if isinstance(answer, list) else []
        sent = [sent_key(item) for item in batch]
        got = [str(e.get(answer_key)) for e in entries if isinstance(e, Mapping)]
        if got == sent and all("id" in e for e in entries):
            return BatchResult(
                confirmed=[
                    Confirmed(item, int(e["id"])) for item, e in zip(batch, entries, strict=True)
                ]
            )
        ids = {
            str(e.get(answer_key)): int(e["id"])
            for e in entries
            if isinstance(e, Mapping) and "id" in e
        }
        error = AnswerMismatch(
            f"sent {len(sent)} records, the answer names {len(got)} of them or others; "
            + MISMATCH_HINT,
            site=site,
            function=function,
            errorcode="answermismatch",
        )
        error.partial = BatchResult(
            confirmed=[
                Confirmed(item, ids[key])
                for item, key in zip(batch, sent, strict=True)
                if key in ids
            ]
        )
        raise error

    return read


def null(site: str, function: str) -> Reader[Any]:
    """A reader for functions that answer ``null`` once every record is applied."""

    def read(batch: Sequence[Any], answer: Any) -> BatchResult[Any]:
        if answer is not None:
            raise UnknownError(
                f"expected a null answer, got {type(answer).__name__}",
                site=site,
                function=function,
            )
        return BatchResult(confirmed=[Confirmed(item) for item in batch])

    return read


def warned(
    site: str,
    function: str,
    blame: Callable[[Mapping[str, Any], Sequence[T]], Iterable[int] | None],
    ok_codes: frozenset[str] = frozenset(),
    item_id: Callable[[T], int | None] = lambda item: None,
) -> Reader[T]:
    """A reader for per-item calls answering ``{"warnings": [...]}``.

    ``blame`` returns the positions of the records a warning is about, or
    None when it names none of them. Warnings whose code is in ``ok_codes``
    (an existing member, say) do not fail the record.
    """

    def read(batch: Sequence[T], answer: Any) -> BatchResult[T]:
        if not isinstance(answer, Mapping) or not isinstance(answer.get("warnings", []), list):
            raise UnknownError("expected {warnings: [...]}", site=site, function=function)
        failures: dict[int, RecordError] = {}
        for warning in answer.get("warnings", []):
            positions = blame(warning, batch)
            if positions is None:
                raise UnknownError(
                    f"a warning names no record sent: {warning.get('message', '')}",
                    site=site,
                    function=function,
                )
            code = str(warning.get("warningcode", ""))
            if code in ok_codes:
                continue
            for position in positions:
                failures.setdefault(
                    position,
                    RecordError(
                        str(warning.get("message", "")),
                        site=site,
                        function=function,
                        exception="warning",
                        errorcode=code,
                    ),
                )
        result: BatchResult[T] = BatchResult()
        for position, item in enumerate(batch):
            if position in failures:
                result.failed.append(Failed(item, failures[position]))
            else:
                result.confirmed.append(Confirmed(item, item_id(item)))
        return result

    return read
