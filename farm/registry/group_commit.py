"""Writes handed in by many threads, made together by whichever of them comes first.

A busy sync confirms batches on many sites at once, and each batch must be
durable before its site goes on. Committed one by one, the commits were the
registry's largest cost: SQLite writes every page a transaction touched to
its write-ahead log, and consecutive batches touch mostly the same pages
(the ends of the index's and the journal's b-trees). With
:class:`GroupCommit`, the first thread that finds no write under way (the
leader) takes every item waiting, up to ``most``, and writes them in one
call, while the others wait for that call to end; the items handed in
meanwhile are the next leader's. Nothing waits for a timer: a thread alone
writes at once, as it did before.

Items with the same key (a site) never share a group, and are written in
the order they came. When a group fails, every item of it is written again
on its own, so that one bad item fails its own caller only; an error of the
``shared`` kinds (the database being unavailable) is every caller's without
another try.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

_T = TypeVar("_T")


@dataclass(eq=False)
class _Ticket(Generic[_T]):
    item: _T
    key: Hashable
    done: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[_T]):
    """Hand items to ``write`` from any thread; see the module docstring.

    ``write`` gets a group of items in the order they came and must write
    all of them or none (one transaction); ``key`` says which items may not
    share a group.
    """

    def __init__(
        self,
        write: Callable[[Sequence[_T]], None],
        *,
        key: Callable[[_T], Hashable],
        most: int = 64,
        shared: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._write = write
        self._key = key
        self._most = most
        self._shared = shared
        self._changed = threading.Condition()
        self._waiting: list[_Ticket[_T]] = []
        self._writing = False
        #: How many groups were written (an item retried alone is one), and their items.
        self.groups = 0
        self.items = 0

    def submit(self, item: _T) -> None:
        """Write ``item`` with whatever else is waiting; return once it is written.

        Raises what writing it raised.
        """
        ticket = _Ticket(item, self._key(item))
        with self._changed:
            self._waiting.append(ticket)
            while not ticket.done:
                if self._writing:
                    self._changed.wait()
                    continue
                group = self._take()
                self._writing = True
                self._changed.release()
                try:
                    self._write_group(group)
                except BaseException as error:
                    # Interrupted (KeyboardInterrupt, say): no caller may take it for written.
                    _settle([t for t in group if not t.done], error)
                    raise
                finally:
                    self._changed.acquire()
                    self._writing = False
                    self._changed.notify_all()
        if ticket.error is not None:
            raise ticket.error

    def _take(self) -> list[_Ticket[_T]]:
        # Oldest first, one per key, the rest left waiting in their order.
        group: list[_Ticket[_T]] = []
        keys: set[Hashable] = set()
        left: list[_Ticket[_T]] = []
        for ticket in self._waiting:
            if len(group) < self._most and ticket.key not in keys:
                keys.add(ticket.key)
                group.append(ticket)
            else:
                left.append(ticket)
        self._waiting = left
        return group

    def _write_group(self, group: Sequence[_Ticket[_T]]) -> None:
        self.groups += 1
        self.items += len(group)
        try:
            self._write([ticket.item for ticket in group])
        except self._shared as error:
            _settle(group, error)
        except Exception as error:
            if len(group) == 1:
                _settle(group, error)
            else:
                # Each on its own: a group of one settles its item whatever happens.
                for ticket in group:
                    self._write_group([ticket])
        else:
            _settle(group, None)


def _settle(tickets: Sequence[_Ticket[_T]], error: BaseException | None) -> None:
    for ticket in tickets:
        ticket.error = error
        ticket.done = True
