"""Who holds a lease, in the operator's words: host, process, run, since when.

A lease's holder is a machine-made name (``host:pid:nonce:started:machine``,
:func:`farm.registry.lease_holder`); the dashboard says it as a person
would: ``run 7 on web1 (process 4242) since 08:50:02 (3 min ago)``. The run
is the one the registry says that process is running, when there is exactly
one. Pure: the caller reads the leases and runs from the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from farm.clock import ago_text, clock_text, label, local_text
from farm.registry import Holder, LeaseHeld, RunSummary


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
    place = who.place(this="of this dashboard")
    since = held.since
    same_day = since.astimezone(where).date() == now.astimezone(where).date()
    when = clock_text(since, where) if same_day else local_text(since, where, seconds=True)
    when += f" {label(where)}"
    return f"{run}{place} since {when} ({ago_text((now - since).total_seconds())} ago)"
