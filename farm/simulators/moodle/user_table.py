"""A site's ``user`` table: a dict of rows by id that keeps Moodle's lookups up to date.

Moodle finds a user by username, e-mail or idnumber through its database's
indexes; the simulator did it by scanning every row, so each call cost as
much as the site was big (creating a 50,000-person site spent 3x the CPU per
record of a 2,000-person one). :class:`UserTable` is the ``site.users`` dict
and also an index of each row's ``id``, ``username``, ``email`` (as written
and folded to lower case) and ``idnumber``, changed on every write: a row
added, replaced or removed through the dict, or one of those attributes set
on a row it holds (:meth:`UserTable.moved`, called by ``UserRow``). A call
then costs what its own records cost.

Tests keep reading and writing ``site.users`` as a plain dict and its rows
as plain objects; the index follows. It holds deleted rows too: a deleted
user keeps its (freed) username, and the lookups that skip deleted users
filter the few rows they find.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, overload

#: The row attributes the table indexes, as the web services look users up.
INDEXED: frozenset[str] = frozenset({"id", "username", "email", "idnumber"})
#: The index of e-mails folded to lower case: Moodle checks uniqueness without case.
EMAIL_FOLDED = "email_folded"


class IndexedRow(Protocol):
    """What the table reads on a row (``state.UserRow`` is one; named apart to avoid a cycle)."""

    id: int
    username: str
    email: str
    idnumber: str
    deleted: bool


UserRow = TypeVar("UserRow", bound=IndexedRow)


class UserTable(dict[int, UserRow]):
    """``site.users``: rows by id, with an index by each looked-up column."""

    def __init__(self, rows: Mapping[int, UserRow] | Iterable[tuple[int, UserRow]] = ()) -> None:
        super().__init__()
        # column -> value (as a string) -> the keys of the rows holding it.
        self._index: dict[str, dict[str, set[int]]] = {
            name: {} for name in (*INDEXED, EMAIL_FOLDED)
        }
        # key -> when it entered the table: answers list users in the dict's order.
        self._order: dict[int, int] = {}
        self._entered = 0
        self.update(rows)

    # Lookups.
    def keys_with(self, column: str, value: str) -> list[int]:
        """The keys of the rows whose ``column`` is ``value``, in the table's order.

        ``column`` is one of :data:`INDEXED` (compared as strings, exactly) or
        :data:`EMAIL_FOLDED` (``value`` folded to lower case by the caller).
        Deleted rows are included.
        """
        found = self._index[column].get(value)
        if not found:
            return []
        if len(found) == 1:
            return list(found)
        return sorted(found, key=self._order.__getitem__)

    def keys_with_any(self, column: str, values: Iterable[str]) -> list[int]:
        """The keys of the rows whose ``column`` is one of ``values``, each once, in order."""
        index = self._index[column]
        found: set[int] = set()
        for value in values:
            found.update(index.get(value, ()))
        return sorted(found, key=self._order.__getitem__)

    def holds(self, column: str, value: str) -> bool:
        """Whether any row, deleted or not, has ``value`` in ``column``."""
        return bool(self._index[column].get(value))

    def live_with(self, column: str, value: str, *, except_id: int | None = None) -> bool:
        """Whether a row that is not deleted (nor ``except_id``) has ``value`` in ``column``."""
        for key in self._index[column].get(value, ()):
            row = dict.__getitem__(self, key)
            if not row.deleted and row.id != except_id:
                return True
        return False

    # Writes through the dict.
    def __setitem__(self, key: int, row: UserRow) -> None:
        old = dict.get(self, key)
        if old is row:
            return
        if old is not None:
            self._forget(key, old)
        else:
            self._entered += 1
            self._order[key] = self._entered
        dict.__setitem__(self, key, row)
        self._remember(key, row)

    def __delitem__(self, key: int) -> None:
        row = dict.__getitem__(self, key)
        dict.__delitem__(self, key)
        self._forget(key, row)
        del self._order[key]

    @overload
    def pop(self, key: int, /) -> UserRow: ...
    @overload
    def pop(self, key: int, default: UserRow, /) -> UserRow: ...
    @overload
    def pop(self, key: int, default: Any, /) -> Any: ...
    def pop(self, key: int, *default: Any) -> Any:
        if key in self:
            row = dict.__getitem__(self, key)
            del self[key]
            return row
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self) -> tuple[int, UserRow]:
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def setdefault(self, key: int, default: UserRow) -> UserRow:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *others: Any, **named: UserRow) -> None:
        for other in others:
            pairs = other.items() if isinstance(other, Mapping) else other
            for key, row in pairs:
                self[key] = row
        for key, row in named.items():
            self[int(key)] = row

    def __ior__(self, other: Any) -> UserTable[UserRow]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # copy.deepcopy and pickle rebuild the table (and its index) from its rows.
        return (UserTable, (list(self.items()),))

    # The index.
    def moved(self, row: UserRow, column: str, old: object) -> None:
        """``row``'s ``column`` was ``old``: move the row in the index (``UserRow`` calls it)."""
        new = getattr(row, column)
        for key in self._keys_of(row):
            self._unlink(column, old, key)
            self._link(column, new, key)
            if column == "email":
                self._unlink(EMAIL_FOLDED, _folded(old), key)
                self._link(EMAIL_FOLDED, _folded(new), key)

    def _keys_of(self, row: UserRow) -> Iterator[int]:
        # A row normally sits under one key, its id; a test may file one object twice.
        homes: dict[int, UserTable[Any]] = row.__dict__.get("_homes", {})
        for key, table in homes.items():
            if table is self:
                yield key

    def _remember(self, key: int, row: UserRow) -> None:
        homes: dict[int, UserTable[Any]] | None = row.__dict__.get("_homes")
        if homes is None:
            homes = {}
            object.__setattr__(row, "_homes", homes)
        homes[key] = self
        values = row.__dict__
        for column in INDEXED:
            self._link(column, values.get(column), key)
        self._link(EMAIL_FOLDED, _folded(values.get("email")), key)

    def _forget(self, key: int, row: UserRow) -> None:
        homes: dict[int, UserTable[Any]] = row.__dict__.get("_homes", {})
        if homes.get(key) is self:
            del homes[key]
        values = row.__dict__
        for column in INDEXED:
            self._unlink(column, values.get(column), key)
        self._unlink(EMAIL_FOLDED, _folded(values.get("email")), key)

    def _link(self, column: str, value: object, key: int) -> None:
        bucket = self._index[column].setdefault(str(value), set())
        bucket.add(key)

    def _unlink(self, column: str, value: object, key: int) -> None:
        index = self._index[column]
        bucket = index.get(str(value))
        if bucket is not None:
            bucket.discard(key)
            if not bucket:
                del index[str(value)]


def _folded(email: object) -> str:
    return email.lower() if isinstance(email, str) else str(email)
