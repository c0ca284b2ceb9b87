"""The suite's own guard against blocking calls on the event loop."""

from __future__ import annotations

import socket

import anyio
import pytest

from tests.conftest import BlockingCallOnEventLoop


async def test_blocking_socket_call_on_the_loop_fails_the_test() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.socket()
    client.settimeout(1.0)
    try:
        with pytest.raises(BlockingCallOnEventLoop):
            client.connect(("127.0.0.1", port))
    finally:
        client.close()
        listener.close()


async def test_the_same_call_in_a_worker_thread_passes() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def connect() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            pass

    try:
        await anyio.to_thread.run_sync(connect)
    finally:
        listener.close()
