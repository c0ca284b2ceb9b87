"""Items handed in by several threads are written together, and each caller learns its own fate."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence

import pytest

from farm.registry.group_commit import GroupCommit

# Long enough for a loaded machine, never reached when the code is right.
PATIENCE = 30
Outcomes = dict[str, Exception | None]


class Unavailable(Exception):
    pass


class Log:
    """A ``write`` that records each group it gets, and can be held or made to fail."""

    def __init__(self, *, bad: str = "", unavailable: bool = False) -> None:
        self.groups: list[list[str]] = []
        self.bad = bad
        self.unavailable = unavailable
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[str]) -> None:
        self.groups.append(list(items))
        self.entered.set()
        assert self.release.wait(PATIENCE)
        if self.unavailable:
            raise Unavailable("the database is down")
        if self.bad in items:
            raise ValueError(f"cannot write {self.bad}")


def commit(log: Log, most: int = 64) -> GroupCommit[str]:
    # An item's key is its first letter: the site, say.
    return GroupCommit(log, key=lambda item: item[0], most=most, shared=(Unavailable,))


def queued(
    group: GroupCommit[str], items: Sequence[str]
) -> tuple[list[threading.Thread], Outcomes]:
    """A thread per item, each started once the one before waits: their order is known."""
    outcomes: Outcomes = {}

    def one(item: str) -> None:
        try:
            group.submit(item)
        except Exception as error:
            outcomes[item] = error
        else:
            outcomes[item] = None

    threads: list[threading.Thread] = []
    for count, item in enumerate(items, 1):
        thread = threading.Thread(target=one, args=(item,))
        thread.start()
        threads.append(thread)
        wait_until(lambda count=count: waiting(group) == count)  # type: ignore[misc]
    return threads, outcomes


def joined(threads: list[threading.Thread], outcomes: Outcomes) -> Outcomes:
    for thread in threads:
        thread.join(PATIENCE)
        assert not thread.is_alive()
    return outcomes


def waiting(group: GroupCommit[str]) -> int:
    return len(group._waiting)


def wait_until(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(PATIENCE * 100):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("timed out")


def held(log: Log, group: GroupCommit[str], first: str) -> threading.Thread:
    """A write of ``first`` under way and held until ``log.release`` is set."""
    log.release.clear()
    log.entered.clear()

    def one() -> None:
        # What the held write's caller got is not what these tests look at.
        with contextlib.suppress(Exception):
            group.submit(first)

    thread = threading.Thread(target=one)
    thread.start()
    assert log.entered.wait(PATIENCE)
    return thread


def written_behind(log: Log, group: GroupCommit[str], first: str, items: Sequence[str]) -> Outcomes:
    """Hand in ``items`` while ``first`` is being written, then let it all be written."""
    held_write = held(log, group, first)
    threads, outcomes = queued(group, items)
    log.release.set()
    held_write.join(PATIENCE)
    return joined(threads, outcomes)


def test_an_item_alone_is_written_at_once() -> None:
    log = Log()
    group = commit(log)
    group.submit("a1")
    assert log.groups == [["a1"]]
    assert (group.groups, group.items) == (1, 1)


def test_items_handed_in_during_a_write_are_written_together_in_the_order_they_came() -> None:
    log = Log()
    group = commit(log)
    outcomes = written_behind(log, group, "a1", ("b1", "c1", "d1"))
    assert log.groups == [["a1"], ["b1", "c1", "d1"]]
    assert outcomes == {"b1": None, "c1": None, "d1": None}


def test_items_of_one_key_never_share_a_group_and_keep_their_order() -> None:
    log = Log()
    group = commit(log)
    outcomes = written_behind(log, group, "z1", ("a1", "a2", "b1", "a3"))
    assert log.groups == [["z1"], ["a1", "b1"], ["a2"], ["a3"]]
    assert outcomes == dict.fromkeys(("a1", "a2", "b1", "a3"))


def test_a_group_holds_at_most_its_limit() -> None:
    log = Log()
    group = commit(log, most=2)
    outcomes = written_behind(log, group, "z1", ("a1", "b1", "c1"))
    assert log.groups == [["z1"], ["a1", "b1"], ["c1"]]
    assert outcomes == dict.fromkeys(("a1", "b1", "c1"))


def test_a_bad_item_fails_its_own_caller_only() -> None:
    log = Log(bad="b1")
    group = commit(log)
    outcomes = written_behind(log, group, "z1", ("a1", "b1", "c1"))
    # The group failed, then each of its items was written alone.
    assert log.groups == [["z1"], ["a1", "b1", "c1"], ["a1"], ["b1"], ["c1"]]
    assert outcomes["a1"] is None
    assert outcomes["c1"] is None
    assert isinstance(outcomes["b1"], ValueError)
    assert str(outcomes["b1"]) == "cannot write b1"


def test_the_database_unavailable_fails_every_caller_of_the_group_without_another_try() -> None:
    log = Log(unavailable=True)
    group = commit(log)
    with pytest.raises(Unavailable):
        group.submit("a1")
    outcomes = written_behind(log, group, "z1", ("b1", "c1"))
    assert log.groups == [["a1"], ["z1"], ["b1", "c1"]]
    assert all(isinstance(error, Unavailable) for error in outcomes.values())
    assert len(outcomes) == 2


def test_an_interrupted_write_leaves_no_caller_believing_its_item_written() -> None:
    interrupted = threading.Event()

    def write(items: Sequence[str]) -> None:
        if not interrupted.is_set():
            interrupted.set()
            raise KeyboardInterrupt

    group: GroupCommit[str] = GroupCommit(write, key=lambda item: item)
    with pytest.raises(KeyboardInterrupt):
        group.submit("a1")
    # The next caller is written as usual: the interrupted write left nothing held.
    group.submit("b1")
    assert (group.groups, group.items) == (2, 2)
