"""Sources: adapters that turn the outside world into records.

Every source implements :class:`Source`. The engine only knows this
protocol; it never imports ldap3 or zeep itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

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
    """

    tenants: tuple[str, ...]
    since: datetime | None = None
    person: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)


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
