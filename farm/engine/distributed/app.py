"""The farm's procrastinate app: its tasks, bound to the registry's PostgreSQL database.

:func:`procrastinate_app` registers ``farm.sync_site`` (one
:class:`~farm.engine.jobspec.JobSpec` run in a worker exactly as the local
executor would run it) and the scheduler's periodic tick
(:mod:`farm.engine.distributed.schedule`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import anyio
import procrastinate
from procrastinate import exceptions as procrastinate_errors

from farm.engine.distributed.queue import QUEUE, RUNTIME_KEY, SYNC_TASK, conninfo_of
from farm.engine.distributed.schedule import register_schedule_tasks
from farm.engine.distributed.worker import WorkerRuntime
from farm.engine.jobspec import JobSpec


def procrastinate_app(url: str, *, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate App on the registry at ``url``, with the farm's tasks; not opened.

    Open it with ``async with app.open_async():`` before deferring or working.
    """
    from procrastinate import PsycopgConnector

    connector = PsycopgConnector(
        conninfo=conninfo_of(url), min_size=1, max_size=max(2, pool_size), name="farm"
    )
    app = procrastinate.App(connector=connector)
    app.task(name=SYNC_TASK, queue=QUEUE, pass_context=True)(sync_site)
    register_schedule_tasks(app)
    return app


async def sync_site(
    context: procrastinate.JobContext,
    spec: Mapping[str, Any],
    wait_leases: bool = False,
    wait_timeout: float | None = None,
) -> dict[str, str]:
    """The ``farm.sync_site`` task: run one job in this worker, then say how its tenants ended.

    An abort request (the run's operator pressed Ctrl-C) does not cancel the
    job outright: the job finishes the batch in flight, records what Moodle
    confirmed, gives its leases back, and only then is the job aborted.
    """
    runtime: WorkerRuntime = context.additional_context[RUNTIME_KEY]
    stop = anyio.Event()
    inner = asyncio.ensure_future(
        runtime.sync(JobSpec.from_json(spec), stop, wait_leases, wait_timeout)
    )
    aborted = False
    while True:
        try:
            phases = await asyncio.shield(inner)
        except asyncio.CancelledError:
            if inner.done():
                raise
            aborted = True
            stop.set()
            continue
        if aborted:
            raise procrastinate_errors.JobAborted("stopped by the operator after its batch")
        return phases
