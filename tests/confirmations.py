"""Confirmed batches built the way the applier builds them, for registry tests.

Each operation is a real plan operation on a real record, and its index
writes come from :func:`farm.index.index_writes`, the rule the applier uses:
a registry test records exactly what a sync would.
"""

from __future__ import annotations

from collections.abc import Iterable

from farm.applied import Applied, Confirmation
from farm.index import IndexWrite, SiteIndex, index_writes
from farm.model import Cohort, IndexEntry, Kind, Person
from farm.operation import Action, Category, Operation


def person(key: str, firstname: str = "Ada", tenants: Iterable[str] = ("0750001A",)) -> Person:
    """A person record with the given key and first name."""
    login = key.replace(":", "-")
    return Person(
        key, login, key, firstname, "LOVELACE", f"{login}@example.org",
        establishments=frozenset(tenants),
    )  # fmt: skip


def created(
    index: SiteIndex, records: Iterable[Person | Cohort], first_id: int = 101
) -> Confirmation:
    """A batch creating ``records``, Moodle ids counted from ``first_id``."""
    applied: list[Applied] = []
    writes: list[IndexWrite] = []
    for moodle_id, record in enumerate(records, first_id):
        tenants = record.establishments if isinstance(record, Person) else frozenset()
        op = Operation(
            record.KIND, Action.CREATE, record.key, Category.CREATE, record, None, {}, tenants
        )
        applied.append(Applied(op, moodle_id))
        writes.extend(index_writes(index, op, moodle_id))
    return Confirmation(tuple(applied), tuple(writes))


def renamed(index: SiteIndex, key: str, firstname: str) -> Confirmation:
    """A batch updating the first name of the person the index holds under ``key``."""
    entry = index.get(Kind.PERSON, key)
    assert entry is not None, f"{key} is not in the index"
    record = person(key, firstname, entry.tenants)
    changes = {"firstname": (entry.values.get("firstname"), firstname)}
    op = Operation(
        Kind.PERSON, Action.UPDATE, key, Category.UPDATE, record, entry, changes, entry.tenants
    )
    return Confirmation((Applied(op),), index_writes(index, op, None))


def deleted(index: SiteIndex, keys: Iterable[str]) -> Confirmation:
    """A batch deleting the people the index holds under ``keys``."""
    applied: list[Applied] = []
    writes: list[IndexWrite] = []
    for key in keys:
        entry: IndexEntry | None = index.get(Kind.PERSON, key)
        assert entry is not None, f"{key} is not in the index"
        op = Operation(Kind.PERSON, Action.DELETE, key, Category.REMOVE, None, entry)
        applied.append(Applied(op))
        writes.extend(index_writes(index, op, None))
    return Confirmation(tuple(applied), tuple(writes))
