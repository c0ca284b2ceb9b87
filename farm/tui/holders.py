"""Who holds a lease, in the operator's words: host, process, run, since when.

A lease's holder is a machine-made name (``host:pid:nonce:started:machine``,
:func:`farm.registry.lease_holder`); the dashboard says it as a person
would: ``run 7 on web1 (process 4242) since 08:50:02 (3 min ago)``. The run
is the one the registry says that process is running, when there is exactly
one. Pure: the caller reads the leases and runs from the registry.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from farm.clock import clock_text, label, local_text
from farm.registry import LeaseHeld, RunSummary
from farm.registry.leases import HolderProcess


@dataclass(frozen=True, slots=True)
class Holder:
    """The process a holder name points at: its host and PID, when the name says them."""

    host: str
    pid: int | None

    @classmethod
    def of(cls, holder: str) -> Holder:
        process = HolderProcess.of(holder)
        if process is not None:
            return cls(process.host, process.pid)
        # ``host:pid:nonce`` where /proc could not say more; anything else is shown as is.
        parts = holder.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return cls(parts[0], int(parts[1]))
        return cls(holder, None)

    @property
    def here(self) -> bool:
        """Whether the holder is this very process (this dashboard's own run)."""
        return self.pid == os.getpid() and self.host == socket.gethostname()


def ago_text(seconds: float) -> str:
    """``12 s``, ``3 min``, ``2 h 05``, ``3 days``: how long, for a sentence."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d}"
    return f"{whole // 86400} days"


def holder_words(
    held: LeaseHeld, now: datetime, where: ZoneInfo, runs: Sequence[RunSummary] = ()
) -> str:
    """``run 7 on web1 (process 4242) since 08:50:02 (3 min ago)``; see the module docstring.

    ``runs`` are the runs still going: the one of the holder's process, if
    it has exactly one, is named.
    """
    who = Holder.of(held.holder)
    mine = [r.id for r in runs if who.pid is not None and (r.host, r.pid) == (who.host, who.pid)]
    run = f"run {mine[0]} " if len(mine) == 1 else "a run "
    if who.here:
        place = "of this dashboard"
    elif who.pid is None:
        place = f"of {who.host}"
    else:
        place = f"on {who.host} (process {who.pid})"
    since = held.since
    same_day = since.astimezone(where).date() == now.astimezone(where).date()
    when = clock_text(since, where) if same_day else local_text(since, where, seconds=True)
    when += f" {label(where)}"
    return f"{run}{place} since {when} ({ago_text((now - since).total_seconds())} ago)"
