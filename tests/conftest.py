"""Suite-wide fixtures.

The guard below fails a test the moment a *blocking* socket call runs on a
thread that is running an event loop: ldap3 and zeep's synchronous transport
block, and one such call on the loop freezes every job of the farm. Sockets
that asyncio itself uses are non-blocking (timeout 0.0) and pass untouched.

Fixtures for real servers live in ``tests/fixtures/`` as plugins, one module
per server, so that each can be read on its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.slapd",
    "tests.fixtures.moodle",
    "tests.fixtures.netypareo",
    "tests.fixtures.webhook",
]


@pytest.fixture(autouse=True, scope="session")
def no_inherited_terminal_size() -> Iterator[None]:
    """The commands the tests run see no ``COLUMNS`` or ``LINES`` but the ones a test gives.

    A piped ``farm`` command draws its tables as wide as ``COLUMNS`` says
    (:mod:`farm.cli.screen`); pytest-xdist's workers, and many shells, export
    ``COLUMNS=80``, which would make the same test pass or fail by how it was
    started. A test that means a width sets it on the command's environment.
    """
    saved = {name: os.environ.pop(name) for name in ("COLUMNS", "LINES") if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class BlockingCallOnEventLoop(AssertionError):
    """A blocking socket operation ran on the event loop's thread."""


_GUARDED = ("connect", "connect_ex", "recv", "recv_into", "recvfrom", "send", "sendall", "accept")


def _guard(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if sock.gettimeout() != 0.0 and asyncio._get_running_loop() is not None:
            raise BlockingCallOnEventLoop(
                f"blocking socket.{name}() on the event loop; run it with anyio.to_thread"
            )
        return original(sock, *args, **kwargs)

    guarded.__name__ = name
    return guarded


@pytest.fixture(autouse=True, scope="session")
def no_blocking_socket_on_event_loop() -> Iterator[None]:
    originals = {name: getattr(socket.socket, name) for name in _GUARDED}
    for name, original in originals.items():
        setattr(socket.socket, name, _guard(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(socket.socket, name, original)


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """Undo the logging set-up a command made in this process.

    Commands configure logging process-wide (``farm.logs.configure_logs``);
    a test that runs one in-process must not change what the next test's
    logs look like, nor leave a handler writing to a closed capture stream.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "zeep")}
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, previous in chatty.items():
        logging.getLogger(name).setLevel(previous)
