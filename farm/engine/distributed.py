"""Scale-out on procrastinate: the queue lives in the registry's PostgreSQL database.

:func:`procrastinate_app` binds a procrastinate :class:`~procrastinate.App`
to the registry's URL (a SQLAlchemy ``postgresql+psycopg://`` URL turned into
a libpq conninfo) and registers the farm's tasks on it:

- ``farm.sync_site`` runs one :class:`JobSpec` in a worker, through
  :func:`farm.engine.executor.run_leased_job`, exactly as the local executor
  would. It is deferred with ``lock="site:NAME"``, so procrastinate never
  runs two jobs of one site at once, and with a ``queueing_lock`` naming its
  tenants, so the same tenants are never waiting in the queue twice. The
  registry's leases stay: they also keep out a ``farm sync`` running locally.
- ``farm.schedule_tick`` is a periodic task, deferred once a minute for the
  whole cluster, that starts the farm's scheduled tasks (see
  :mod:`farm.engine.distributed_schedule`).

procrastinate's tables share the registry's database (the registry keeps its
own version table, ``farm_registry_version``); :func:`install_schema` creates
them once. SQLite registries cannot host a queue: every entry point raises
:class:`DistributedUnavailable` saying so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.to_thread
import procrastinate
import structlog
from procrastinate import exceptions as procrastinate_errors
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from farm.engine.distributed_errors import DistributedUnavailable as DistributedUnavailable
from farm.engine.jobspec import JobSpec
from farm.registry import mask_url

if TYPE_CHECKING:
    from farm.engine.distributed_worker import WorkerRuntime

SYNC_TASK: Final = "farm.sync_site"
TICK_TASK: Final = "farm.schedule_tick"
#: The key under which a worker hands its :class:`WorkerRuntime` to the tasks.
RUNTIME_KEY: Final = "farm_runtime"
QUEUE: Final = "farm"

_LOCK_TEXT_MAX = 200

log = structlog.get_logger("farm.distributed")


def conninfo_of(url: str) -> str:
    """The libpq conninfo of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://…``).

    Raises :class:`DistributedUnavailable` for SQLite or any other database.
    The result holds the password, if any: never log it.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DistributedUnavailable(
            f"{mask_url(url)} is not a database URL (expected postgresql+psycopg://…)"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise DistributedUnavailable(
            "the distributed executor needs the registry on PostgreSQL, "
            f"and {mask_url(parsed)} is {parsed.get_backend_name()}: "
            "use a postgresql+psycopg://… registry or the local executor"
        )
    params: dict[str, str] = {}
    for name, value in (
        ("host", parsed.host),
        ("port", parsed.port),
        ("user", parsed.username),
        ("password", parsed.password),
        ("dbname", parsed.database),
    ):
        if value is not None and value != "":
            params[name] = str(value)
    for name, given in parsed.query.items():
        # libpq options given in the URL (sslmode, host=/run/postgresql...) pass through.
        params[name] = given if isinstance(given, str) else given[-1]
    params.setdefault("application_name", "farm")
    return make_conninfo("", **params)


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
    from farm.engine.distributed_schedule import register_schedule_tasks

    register_schedule_tasks(app)
    return app


def site_lock(spec: JobSpec) -> str:
    """procrastinate's ``lock`` of a job: one job of a site runs at a time."""
    return f"site:{spec.site}"


def tenants_lock(spec: JobSpec) -> str:
    """procrastinate's ``queueing_lock`` of a job: its tenant set and work, queued once at most.

    The same tenants with the same options (a double submit) are queued
    once; the same tenants with other work (the ``users`` and ``cohorts``
    tasks firing in one minute) queue one behind the other, and the site
    lock runs them in turn. Readable (``tenants:0340041K,0340042L|3f2a…``)
    when short, a digest of the sorted ids otherwise.
    """
    ids = ",".join(sorted(set(spec.tenants)))
    work = json.dumps(dict(spec.options), sort_keys=True, default=str)
    task = hashlib.sha256(work.encode()).hexdigest()[:12]
    text = f"tenants:{ids}|{task}"
    if len(text) <= _LOCK_TEXT_MAX:
        return text
    digest = hashlib.sha256(ids.encode()).hexdigest()[:24]
    return f"tenants:{spec.site}:{len(spec.tenants)}:{digest}|{task}"


class AlreadyQueued(Exception):
    """The job's tenants are already waiting in the queue (its queueing lock is taken)."""


async def defer_job(
    app: procrastinate.App,
    spec: JobSpec,
    *,
    wait_leases: bool = False,
    wait_timeout: float | None = None,
) -> int:
    """Queue ``spec`` for a worker and return the procrastinate job id.

    Raises :class:`AlreadyQueued` when the same tenants are already queued.
    ``wait_leases`` makes the worker wait for leases held elsewhere (``--wait``),
    for at most ``wait_timeout`` seconds when given (a scheduled task waits
    until its next firing, not for ever).
    """
    deferrer = app.configure_task(
        SYNC_TASK, lock=site_lock(spec), queueing_lock=tenants_lock(spec), queue=QUEUE
    )
    try:
        return await deferrer.defer_async(
            spec=spec.to_json(), wait_leases=wait_leases, wait_timeout=wait_timeout
        )
    except procrastinate_errors.AlreadyEnqueued:
        raise AlreadyQueued(
            f"tenants {', '.join(spec.tenants)} of site {spec.site} are already queued "
            f"by another run (queueing lock {tenants_lock(spec)!r})"
        ) from None


_SCHEMA_PRESENT = "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"


async def schema_installed(app: procrastinate.App) -> bool:
    """Whether procrastinate's tables exist in the app's database (the app must be open)."""
    row = await app.connector.execute_query_one_async(_SCHEMA_PRESENT)
    return bool(row["present"])


async def install_schema(app: procrastinate.App) -> bool:
    """Create procrastinate's tables unless they exist; True when they were created now."""
    if await schema_installed(app):
        return False
    await app.schema_manager.apply_schema_async()
    return True


async def check_ready(app: procrastinate.App, url: str) -> None:
    """Raise :class:`DistributedUnavailable` unless the queue's tables exist.

    ``url`` only names the database in the message (masked).
    """
    try:
        present = await schema_installed(app)
    except procrastinate_errors.ConnectorException as error:
        raise DistributedUnavailable(
            f"the job queue at {mask_url(url)} cannot be reached: {error.__cause__ or error}"
        ) from None
    if not present:
        raise DistributedUnavailable(
            f"the job queue's tables are missing in {mask_url(url)}: "
            "run 'farm worker --install-schema' once"
        )


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
