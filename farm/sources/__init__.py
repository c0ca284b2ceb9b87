"""Sources: adapters that turn the outside world into records.

Every source implements :class:`Source`. The engine only knows this
protocol; it never imports ldap3 or zeep itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from farm.cohorts import DEFAULT_PREFIX
from farm.model import TenantSnapshot


class SourceError(Exception):
    """The source could not be read: the tenants it serves fail, Moodle is untouched.

    The message is shown to operators as the run's reason; it names the
    source and what went wrong, and never a secret.
    """


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """What one job asks of a source.

    ``tenants`` are the tenant ids (UAI or NetYpareo site) of one Moodle site
    that this source serves. ``since`` asks for a delta read (entries changed
    since then); ``person`` asks for one person only (uid, login or source
    key). Either makes the resulting snapshots incomplete.

    ``cohort_prefix`` is the farm's (``[farm] cohort_prefix``): a source
    builds its cohorts' idnumbers on it and never replaces it
    (:mod:`farm.cohorts`). ``cohort_year`` overrides the school year of the
    SDET cohorts for this read; ``run_date`` is the day ages and majority
    are computed on (today when None).

    ``task`` is the scheduled task the read serves (``RunOptions.task``):
    a source may read only what that task plans (NetYpareo's ``teachers``
    reads no learner) or do the task's own work (NetYpareo's ``caches``
    reloads its reference tables and returns empty, incomplete snapshots).
    A source that knows no such task reads everything.
    """

    tenants: tuple[str, ...]
    since: datetime | None = None
    person: str | None = None
    cohort_prefix: str = DEFAULT_PREFIX
    cohort_year: str | None = None
    run_date: date | None = None
    task: str | None = None


@dataclass(frozen=True, slots=True)
class ReadResult:
    """One snapshot per requested tenant, and the source's new bookmark.

    ``bookmark`` is the high-water mark to pass as ``since`` next time (for
    an LDAP directory, the newest ``modifyTimestamp`` seen, in UTC); the
    engine stores it only after the whole job succeeded.
    """

    snapshots: Mapping[str, TenantSnapshot]
    bookmark: datetime | None = None


class Source(Protocol):
    """A place truth comes from."""

    @property
    def name(self) -> str:
        """The source's name as the farm configuration spells it."""
        ...

    async def read(self, request: ReadRequest) -> ReadResult:
        """Read the requested tenants; raise :class:`SourceError` if the source fails."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...
