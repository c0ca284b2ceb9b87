"""The JSON form of a stored plan, and back. Pure.

:func:`plan_to_json` turns a :class:`~farm.stored_plan.StoredPlan` into
plain JSON values (the registry keeps the document as it is);
:func:`plan_from_json` rebuilds it, records rebuilt from their values by
kind. A record keeps every field, those its digest leaves out included (a
person's source key and establishments), so a record read back is equal to
the one stored and has the same digest.

Each dataclass is written field by field; reading it back converts each
value by the field's declared type (:data:`_CONVERTERS`). A document this
code cannot read (an unknown field, a value of the wrong type, a record
whose key is not its operation's) raises :class:`StoredPlanError` naming
where it is (``operations[3].record.username``), never a half-built plan.
The registry's own fields (when stored, by whom applied) are not in the
document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

from farm.digest import canonical
from farm.drift import Drift
from farm.model import (
    Cohort,
    CohortMembership,
    Enrolment,
    Entity,
    Group,
    GroupMembership,
    IndexEntry,
    Kind,
    Person,
    Profile,
    Record,
    RoleAssignment,
    SourceWarning,
)
from farm.operation import Action, Category, Operation
from farm.options import (
    CohortRetirementPolicy,
    Mode,
    PlanOptions,
    RemovalPolicy,
    retirement_of_removal,
)
from farm.safety import SafetyStop
from farm.site_rules import Refusal
from farm.stored_plan import RecordId, StoredPlan

__all__ = ["FORMAT", "StoredPlanError", "plan_from_json", "plan_to_json"]

#: The document's version: a farm refuses a plan written in a format it does not know.
FORMAT = 1

_T = TypeVar("_T")

RECORD_TYPES: Mapping[Kind, type[Record]] = {
    Kind.PERSON: Person,
    Kind.COHORT: Cohort,
    Kind.COHORT_MEMBER: CohortMembership,
    Kind.ENROLMENT: Enrolment,
    Kind.GROUP: Group,
    Kind.GROUP_MEMBER: GroupMembership,
    Kind.ROLE_ASSIGNMENT: RoleAssignment,
}


class StoredPlanError(ValueError):
    """A stored plan's document cannot be read; the message says where and why."""


def _fail(where: str, message: str) -> StoredPlanError:
    return StoredPlanError(f"{where}: {message}")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, f"expected a string, got {value!r}")
    return value


def _optional_string(value: Any, where: str) -> str | None:
    return None if value is None else _string(value, where)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"expected true or false, got {value!r}")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"expected an integer, got {value!r}")
    return value


def _optional_int(value: Any, where: str) -> int | None:
    return None if value is None else _int(value, where)


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"expected a number, got {value!r}")
    return float(value)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, f"expected a list, got {value!r}")
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object, got {value!r}")
    return value


def _strings(value: Any, where: str) -> frozenset[str]:
    return frozenset(_string(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where)))


def _enum(cls: Callable[[str], _T]) -> Callable[[Any, str], _T]:
    def convert(value: Any, where: str) -> _T:
        try:
            return cls(_string(value, where))
        except ValueError:
            raise _fail(where, f"unknown value {value!r}") from None

    return convert


def _enums(cls: Callable[[str], _T]) -> Callable[[Any, str], frozenset[_T]]:
    one = _enum(cls)

    def convert(value: Any, where: str) -> frozenset[_T]:
        return frozenset(one(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where)))

    return convert


def _string_map(value: Any, where: str) -> dict[str, str]:
    return {k: _string(v, f"{where}.{k}") for k, v in _object(value, where).items()}


def _any(value: Any, where: str) -> Any:
    return value


_kind = _enum(Kind)
_action = _enum(Action)
_category = _enum(Category)

#: How a field's JSON value becomes the field's value, by its declared type.
_CONVERTERS: Mapping[str, Callable[[Any, str], Any]] = {
    "str": _string,
    "str | None": _optional_string,
    "bool": _bool,
    "int": _int,
    "int | None": _optional_int,
    "float": _float,
    "Any": _any,
    "Kind": _kind,
    "Mode": _enum(Mode),
    "RemovalPolicy": _enum(RemovalPolicy),
    "CohortRetirementPolicy": _enum(CohortRetirementPolicy),
    "frozenset[str]": _strings,
    "frozenset[Profile]": _enums(Profile),
    "frozenset[Entity]": _enums(Entity),
    "Mapping[str, str]": _string_map,
}


def _encode(value: object) -> dict[str, Any]:
    """A dataclass's fields as JSON values (sets sorted, enums by value)."""
    return {f.name: canonical(getattr(value, f.name)) for f in fields(value)}  # type: ignore[arg-type]


#: Per dataclass: each field's name, converter and whether it may be left out; built once.
_SHAPES: dict[type, tuple[tuple[str, Callable[[Any, str], Any], bool], ...]] = {}


def _shape(cls: type) -> tuple[tuple[str, Callable[[Any, str], Any], bool], ...]:
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = tuple(
            (
                spec.name,
                _CONVERTERS[str(spec.type)],
                spec.default is not MISSING or spec.default_factory is not MISSING,
            )
            for spec in fields(cls)
        )
        _SHAPES[cls] = shape
    return shape


def _decode(cls: type[_T], data: Any, where: str) -> _T:
    """Rebuild ``cls`` from what :func:`_encode` wrote; missing fields take their default."""
    values = _object(data, where)
    shape = _shape(cls)
    kwargs: dict[str, Any] = {}
    for name, convert, optional in shape:
        if name in values:
            kwargs[name] = convert(values[name], f"{where}.{name}")
        elif not optional:
            raise _fail(f"{where}.{name}", "missing")
    if len(kwargs) != len(values):
        unknown = sorted(set(values) - {name for name, _, _ in shape})
        raise _fail(where, f"unknown field(s) {', '.join(unknown)}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise _fail(where, str(error)) from None


def _check_converters() -> None:
    """Every field the codec writes has a converter: a new field type fails at import."""
    for cls in (*RECORD_TYPES.values(), PlanOptions, SafetyStop, SourceWarning, Refusal):
        for spec in fields(cls):
            if str(spec.type) not in _CONVERTERS:
                raise TypeError(f"plan_codec cannot read {cls.__name__}.{spec.name}: {spec.type}")
        _shape(cls)


_check_converters()


def _options(data: Any) -> Any:
    """A stored plan's options, ``cohort_removal`` (stored before ``cohort_retirement``) renamed."""
    if not isinstance(data, dict) or "cohort_removal" not in data:
        return data
    renamed = {name: value for name, value in data.items() if name != "cohort_removal"}
    try:
        renamed["cohort_retirement"] = retirement_of_removal(data["cohort_removal"]).value
    except ValueError as error:
        raise _fail("options.cohort_removal", str(error)) from None
    return renamed


def record_to_json(record: Record) -> dict[str, Any]:
    return _encode(record)


def record_from_json(kind: Kind, data: Any, where: str = "record") -> Record:
    return _decode(RECORD_TYPES[kind], data, where)


def operation_to_json(op: Operation) -> dict[str, Any]:
    previous = op.previous
    return {
        "kind": op.kind.value,
        "action": op.action.value,
        "key": op.key,
        "category": op.category.value,
        "record": None if op.record is None else record_to_json(op.record),
        "previous": None
        if previous is None
        else {
            "moodle_id": previous.moodle_id,
            "digest": previous.digest,
            "values": canonical(previous.values),
            "tenants": sorted(previous.tenants),
            "suspended": previous.suspended,
        },
        "changes": {
            name: [canonical(old), canonical(new)] for name, (old, new) in op.changes.items()
        },
        "tenants": sorted(op.tenants),
    }


def operation_from_json(data: Any, where: str = "operation") -> Operation:
    item = _object(data, where)
    kind = _kind(item.get("kind"), f"{where}.kind")
    key = _string(item.get("key"), f"{where}.key")
    record = None
    if item.get("record") is not None:
        record = record_from_json(kind, item["record"], f"{where}.record")
        if record.key != key:
            raise _fail(f"{where}.record", f"its key is {record.key!r}, not {key!r}")
    previous = None
    if item.get("previous") is not None:
        at = f"{where}.previous"
        entry = _object(item["previous"], at)
        previous = IndexEntry(
            kind,
            key,
            _optional_int(entry.get("moodle_id"), f"{at}.moodle_id"),
            _string(entry.get("digest"), f"{at}.digest"),
            dict(_object(entry.get("values", {}), f"{at}.values")),
            _strings(entry.get("tenants", []), f"{at}.tenants"),
            _bool(entry.get("suspended", False), f"{at}.suspended"),
        )
    changes: dict[str, tuple[Any, Any]] = {}
    for name, pair in _object(item.get("changes", {}), f"{where}.changes").items():
        both = _list(pair, f"{where}.changes.{name}")
        if len(both) != 2:
            raise _fail(f"{where}.changes.{name}", "expected [old, new]")
        changes[name] = (both[0], both[1])
    return Operation(
        kind=kind,
        action=_action(item.get("action"), f"{where}.action"),
        key=key,
        category=_category(item.get("category"), f"{where}.category"),
        record=record,
        previous=previous,
        changes=changes,
        tenants=_strings(item.get("tenants", []), f"{where}.tenants"),
    )


def plan_to_json(plan: StoredPlan) -> dict[str, Any]:
    """The document the registry keeps for ``plan`` (its own fields aside)."""
    return {
        "format": FORMAT,
        "run_id": plan.run_id,
        "site": plan.site,
        "tenants": list(plan.tenants),
        "options": _encode(plan.options),
        "operations": [operation_to_json(op) for op in plan.operations],
        "blocked": None if plan.blocked is None else _encode(plan.blocked),
        "withheld": [operation_to_json(op) for op in plan.withheld],
        "notes": list(plan.notes),
        "warnings": [_encode(w) for w in plan.warnings],
        "refusals": [_encode(r) for r in plan.refusals],
        "complete": sorted(plan.complete),
        "people_read": dict(sorted(plan.people_read.items())),
        "people_matched": plan.people_matched,
        "known": [
            {"kind": kind.value, "key": key, "ids": list(ids)}
            for (kind, key), ids in sorted(plan.known.items())
        ],
        "replanned_from": plan.replanned_from,
        "drift": [d.to_json() for d in plan.drift],
    }


def plan_from_json(data: Any) -> StoredPlan:
    """The plan :func:`plan_to_json` wrote; :class:`StoredPlanError` names what is wrong."""
    doc = _object(data, "plan")
    if doc.get("format") != FORMAT:
        raise _fail("plan.format", f"this farm reads format {FORMAT}, not {doc.get('format')!r}")

    def operations(name: str) -> tuple[Operation, ...]:
        items = _list(doc.get(name, []), name)
        return tuple(operation_from_json(item, f"{name}[{i}]") for i, item in enumerate(items))

    known: dict[RecordId, tuple[int, ...]] = {}
    for i, item in enumerate(_list(doc.get("known", []), "known")):
        at = f"known[{i}]"
        entry = _object(item, at)
        rid = (_kind(entry.get("kind"), f"{at}.kind"), _string(entry.get("key"), f"{at}.key"))
        ids = _list(entry.get("ids", []), f"{at}.ids")
        known[rid] = tuple(_int(v, f"{at}.ids[{n}]") for n, v in enumerate(ids))
    read = _object(doc.get("people_read", {}), "people_read")
    blocked = doc.get("blocked")
    return StoredPlan(
        run_id=_int(doc.get("run_id"), "run_id"),
        site=_string(doc.get("site"), "site"),
        tenants=tuple(sorted(_strings(doc.get("tenants", []), "tenants"))),
        options=_decode(PlanOptions, _options(doc.get("options", {})), "options"),
        operations=operations("operations"),
        blocked=None if blocked is None else _decode(SafetyStop, blocked, "blocked"),
        withheld=operations("withheld"),
        notes=tuple(
            _string(n, f"notes[{i}]") for i, n in enumerate(_list(doc.get("notes", []), "notes"))
        ),
        warnings=tuple(
            _decode(SourceWarning, w, f"warnings[{i}]")
            for i, w in enumerate(_list(doc.get("warnings", []), "warnings"))
        ),
        refusals=tuple(
            _decode(Refusal, r, f"refusals[{i}]")
            for i, r in enumerate(_list(doc.get("refusals", []), "refusals"))
        ),
        complete=_strings(doc.get("complete", []), "complete"),
        people_read={k: _int(v, f"people_read.{k}") for k, v in read.items()},
        people_matched=_optional_int(doc.get("people_matched"), "people_matched"),
        known=known,
        replanned_from=_optional_int(doc.get("replanned_from"), "replanned_from"),
        drift=tuple(
            _drift(d, f"drift[{i}]") for i, d in enumerate(_list(doc.get("drift", []), "drift"))
        ),
    )


def _drift(data: Any, where: str) -> Drift:
    item = _object(data, where)
    return Drift(
        kind=_kind(item.get("kind"), f"{where}.kind"),
        key=_string(item.get("key"), f"{where}.key"),
        where=_string(item.get("where"), f"{where}.where"),
        message=_string(item.get("message"), f"{where}.message"),
        field=_optional_string(item.get("field"), f"{where}.field"),
        expected=item.get("expected"),
        found=item.get("found"),
        label=_string(item.get("label", ""), f"{where}.label"),
    )
