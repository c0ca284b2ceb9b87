"""The job queue in the registry's PostgreSQL database: locks, deferring, schema.

A sync job is deferred as ``farm.sync_site`` (registered by
:func:`farm.engine.distributed.app.procrastinate_app`) with
``lock="site:NAME"``, so procrastinate never runs two jobs of one site at
once, and with a ``queueing_lock`` naming its tenants and options, so the
same work is never waiting in the queue twice. The registry's leases stay:
they also keep out a ``farm sync`` running locally.

procrastinate's tables share the registry's database (the registry keeps its
own version table, ``farm_registry_version``); :func:`install_schema` creates
them once. SQLite registries cannot host a queue: every entry point raises
:class:`~farm.engine.distributed.errors.DistributedUnavailable` saying so.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

import procrastinate
import structlog
from procrastinate import exceptions as procrastinate_errors
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from farm.engine.distributed.errors import DistributedUnavailable
from farm.engine.jobspec import JobSpec
from farm.registry import mask_url

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
    work = json.dumps(spec.options.to_json(), sort_keys=True, default=str)
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
