"""Leases around a job: one site and its tenants, held together or not at all.

A job holds the lease ``site:NAME`` (nobody else writes to the site) and one
``tenant:ID`` per tenant it syncs (nobody else syncs them), taken in a fixed
order, site first, then tenants sorted, so that two jobs asking for
overlapping sets can never wait on each other in a cycle. Taking them is all
or nothing: on the first refusal the ones already taken are given back.

While held, a background task renews every lease at a fraction of its TTL;
if a renewal finds a lease gone (the process stalled past its expiry and
someone took over), :attr:`HeldLeases.lost` is set and the job must stop
writing. On exit, normal or cancelled, every lease is released. A process
killed outright (``kill -9``, the OOM killer) leaves its leases behind: the
next job of the same machine takes them over at once, since the holder names
a process that is gone (:class:`farm.registry.leases.HolderProcess`); jobs of
other machines wait for them to expire after their TTL.

A release the registry refuses (it is down, read-only, full) is owed: this
process keeps the lease's key and holder, stops renewing it, and gives it back
as soon as the registry answers again: :func:`release_owed` is called before
this process takes any lease and by the coordinator at the end of a run, so a
process that lives on after its run (the scheduler, a worker) does not keep
leases of a job that ended. Meanwhile the lease runs out with its TTL, or the
process ends and its holder is gone.
"""

from __future__ import annotations

import random
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio
import anyio.to_thread
import structlog

from farm.clock import ago_text
from farm.registry import Holder, Lease, LeaseHeld, Registry, RegistryError, lease_holder

log = structlog.get_logger("farm.leases")


def site_key(site: str) -> str:
    """The lease key of a Moodle site."""
    return f"site:{site}"


def tenant_key(tenant: str) -> str:
    """The lease key of a tenant."""
    return f"tenant:{tenant}"


def lease_order(site: str, tenants: Iterable[str]) -> tuple[str, ...]:
    """The keys a job on ``site`` for ``tenants`` takes, in the one order every job uses."""
    return (site_key(site), *(tenant_key(t) for t in sorted(set(tenants))))


class LeaseRefused(Exception):
    """Someone else holds a lease this job needs; the message says who and since when."""

    def __init__(self, held: LeaseHeld) -> None:
        self.held = held
        super().__init__(describe_holder(held))


def holder_words(holder: str) -> str:
    """``a run on web1 (process 4242)``: a lease holder's name, as an operator reads it."""
    return f"a run {Holder.of(holder).place()}"


def describe_holder(held: LeaseHeld, now: datetime | None = None) -> str:
    """``site:X is held by a run on web1 (process 4242) since 10:02:03 UTC (12 s ago); ...``.

    The holder is said in words (:class:`farm.registry.Holder`), never as its
    machine-made name: an operator reads it in a report or a log at night.
    """
    now = now or datetime.now(UTC)
    since = held.since.astimezone(UTC)
    return (
        f"{held.key} is held by {holder_words(held.holder)} since "
        f"{since:%Y-%m-%d %H:%M:%S} UTC ({ago_text((now - held.since).total_seconds())} ago); "
        f"the lease expires at {held.expires_at.astimezone(UTC):%H:%M:%S} UTC unless renewed"
    )


@dataclass(frozen=True)
class LeasePolicy:
    """How long leases last, how often they are renewed, and whether to wait for them.

    ``wait`` polls a busy lease with jittered exponential backoff from
    ``poll_first`` to ``poll_max`` seconds, for at most ``wait_timeout``
    seconds (None: for ever); without it a busy lease is refused at once.
    """

    ttl: timedelta = timedelta(seconds=90)
    renew_fraction: float = 1 / 3
    wait: bool = False
    wait_timeout: float | None = None
    poll_first: float = 0.2
    poll_max: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.renew_fraction < 1:
            raise ValueError("renew_fraction must be between 0 and 1")

    @property
    def renew_every(self) -> float:
        return self.ttl.total_seconds() * self.renew_fraction


@dataclass
class HeldLeases:
    """The leases a job holds; ``lost`` is set if one of them was taken over."""

    holder: str
    keys: tuple[str, ...]
    lost: anyio.Event = field(default_factory=anyio.Event)
    lost_key: str | None = None


@asynccontextmanager
async def hold_leases(
    registry: Registry,
    keys: Iterable[str],
    policy: LeasePolicy,
    *,
    holder: str | None = None,
    on_wait: Callable[[LeaseHeld], None] | None = None,
) -> AsyncIterator[HeldLeases]:
    """Take every lease of ``keys`` (in the given order), renew them, release them on exit.

    Raises :class:`LeaseRefused` when one is busy and ``policy.wait`` is
    off, or when waiting timed out. ``on_wait`` is told each time the job
    finds a lease busy and waits for it.
    """
    ordered = tuple(dict.fromkeys(keys))
    name = holder or lease_holder()
    if owed_leases(registry):
        # Leases this process still owes from an earlier job go back first.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(release_owed, registry)
    await _acquire_all(registry, ordered, name, policy, on_wait)
    held = HeldLeases(holder=name, keys=ordered)
    # The body's own exception is kept aside and raised after the renewal task
    # stops, so that callers see it as it is, not wrapped in an exception group.
    error: BaseException | None = None
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_renew, registry, held, policy)
            try:
                yield held
            except BaseException as exc:
                error = exc
            group.cancel_scope.cancel()
        if error is not None:
            raise error
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_release_all, registry, ordered, name)


async def _acquire_all(
    registry: Registry,
    keys: tuple[str, ...],
    holder: str,
    policy: LeasePolicy,
    on_wait: Callable[[LeaseHeld], None] | None,
) -> None:
    delay = policy.poll_first
    deadline = None if policy.wait_timeout is None else anyio.current_time() + policy.wait_timeout
    while True:
        with anyio.CancelScope(shield=True):
            refused = await anyio.to_thread.run_sync(_try_all, registry, keys, holder, policy.ttl)
        if refused is None:
            return
        if not policy.wait or (deadline is not None and anyio.current_time() >= deadline):
            raise LeaseRefused(refused)
        if on_wait is not None:
            on_wait(refused)
        log.info("lease busy, waiting", key=refused.key, holder=refused.holder)
        pause = delay * random.uniform(0.8, 1.2)
        if deadline is not None:
            pause = max(0.0, min(pause, deadline - anyio.current_time()))
        await anyio.sleep(pause)
        delay = min(delay * 2, policy.poll_max)


def _try_all(
    registry: Registry, keys: tuple[str, ...], holder: str, ttl: timedelta
) -> LeaseHeld | None:
    taken: list[str] = []
    try:
        for key in keys:
            result = registry.acquire_lease(key, holder, ttl)
            if isinstance(result, LeaseHeld):
                _release_all(registry, tuple(taken), holder)
                return result
            taken.append(key)
    except BaseException:
        # The registry failed half-way: what was taken goes back (or is owed).
        _release_all(registry, tuple(taken), holder)
        raise
    return None


def _release_all(registry: Registry, keys: tuple[str, ...], holder: str) -> None:
    ordered = tuple(reversed(keys))
    for done, key in enumerate(ordered):
        try:
            registry.release_lease(key, holder)
        except RegistryError as error:
            # The registry failing: this lease and the rest are owed, given back
            # when it answers again (trying each now could wait a timeout each).
            for rest in ordered[done:]:
                _owe(registry, rest, holder)
            log.warning("leases not released", keys=list(ordered[done:]), error=str(error))
            return
        except Exception:  # not the registry failing: a bug, but the others still go back
            log.warning("could not release lease", key=key, exc_info=True)


# Leases whose release the registry refused, by registry URL: (key, holder) pairs.
_owed: dict[str, set[tuple[str, str]]] = {}
_owed_guard = threading.Lock()


def _owe(registry: Registry, key: str, holder: str) -> None:
    with _owed_guard:
        _owed.setdefault(registry.url, set()).add((key, holder))


def owed_leases(registry: Registry) -> list[tuple[str, str]]:
    """The (key, holder) of the leases this process could not give back to ``registry``."""
    with _owed_guard:
        return sorted(_owed.get(registry.url, ()))


def release_owed(registry: Registry) -> int:
    """Give back the leases this process owes ``registry``; return how many are still owed.

    Blocking (call it from a worker thread); never raises for the registry,
    and stops at its first refusal: the registry still fails. A lease that
    expired and was taken by another holder meanwhile is left alone (a
    release only deletes the row that still names this holder).
    """
    for key, holder in owed_leases(registry):
        try:
            released = registry.release_lease(key, holder)
        except RegistryError as error:
            log.info("owed lease still not released", key=key, error=str(error))
            break
        with _owed_guard:
            _owed.get(registry.url, set()).discard((key, holder))
        if released:
            log.info("owed lease released", key=key, holder=holder)
    return len(owed_leases(registry))


async def _renew(registry: Registry, held: HeldLeases, policy: LeasePolicy) -> None:
    while True:
        await anyio.sleep(policy.renew_every)
        for key in held.keys:
            try:
                renewed: Lease | None = await anyio.to_thread.run_sync(
                    registry.renew_lease, key, held.holder, policy.ttl
                )
            except RegistryError as error:
                # A registry hiccup: try again next round, the TTL leaves two more chances.
                log.warning("lease renewal failed", key=key, error=str(error))
                continue
            except Exception:
                log.warning("lease renewal failed", key=key, exc_info=True)
                continue
            if renewed is None:
                log.error("lease lost", key=key)
                held.lost_key = key
                held.lost.set()
                return
