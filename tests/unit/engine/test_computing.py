"""Jobs that read and plan at the same moment compute one after another, in a worker thread."""

from __future__ import annotations

import threading
import time

import anyio

from farm.engine.computing import COMPUTING, compute


async def test_work_handed_to_compute_runs_in_a_worker_thread_a_few_at_a_time() -> None:
    lock = threading.Lock()
    running, most, threads = 0, 0, set()
    loop_thread = threading.get_ident()

    def work() -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.get_ident())
        # Long enough for the others to start, were nothing holding them back.
        time.sleep(0.02)
        with lock:
            running -= 1
        return 1

    results: list[int] = []

    async def one() -> None:
        results.append(await compute(work))

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(one)

    assert results == [1] * 8
    assert most == COMPUTING
    assert loop_thread not in threads


async def test_the_event_loop_keeps_running_while_work_computes() -> None:
    ticks = 0
    done = threading.Event()

    def work() -> None:
        assert done.wait(30)

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            if ticks == 5:
                done.set()
            await anyio.sleep(0.001)

    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        await compute(work)
    assert ticks >= 5
