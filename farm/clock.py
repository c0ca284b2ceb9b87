"""One clock for every view: times in the farm's time zone, labelled; JSON in ISO 8601 with offset.

The registry stores UTC. Every view (``farm status``, ``farm runs``,
``farm report``, ``farm watch``, ``farm schedule list``, the dashboard)
shows a time through :func:`local_text` in the zone of farm.toml's
``[farm] timezone`` (the zone schedules are read in), and says which zone
in a header or a footer. JSON carries :func:`iso`: the same instant with
its offset, so a script never guesses.

:func:`zone_of` reads the zone from farm.toml's ``[farm]`` table alone, like
:func:`farm.config.registry_url_of`, for the commands that only read the
registry: a typo in a site file must not change the clock.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from farm.config.schema import FarmSection

DEFAULT_ZONE = str(FarmSection.model_fields["timezone"].default)


def zone(name: str | None) -> ZoneInfo:
    """The zone named ``name`` (the default one when None or unknown)."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def zone_of(farm_dir: Path | None) -> ZoneInfo:
    """The farm's zone from farm.toml's ``[farm] timezone``; the default if unreadable."""
    if farm_dir is None:
        return zone(None)
    try:
        data = tomllib.loads((farm_dir / "farm.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return zone(None)
    section = data.get("farm", {})
    name = section.get("timezone") if isinstance(section, dict) else None
    return zone(name if isinstance(name, str) else None)


def local_text(moment: datetime | None, where: ZoneInfo, *, seconds: bool = False) -> str:
    """``2026-11-22 03:00`` in ``where`` (``-`` for None); the view labels the zone once."""
    if moment is None:
        return "-"
    return f"{moment.astimezone(where):%Y-%m-%d %H:%M{':%S' if seconds else ''}}"


def clock_text(moment: datetime, where: ZoneInfo) -> str:
    """``03:00:12`` in ``where``: a log line's time."""
    return f"{moment.astimezone(where):%H:%M:%S}"


def stamp_text(moment: datetime, where: ZoneInfo) -> str:
    """``03:00:12 CET`` in ``where``: a line's time with its zone, for streams read later."""
    return f"{moment.astimezone(where):%H:%M:%S %Z}"


def iso(moment: datetime | None, where: ZoneInfo) -> str | None:
    """ISO 8601 with the zone's offset, ``2026-11-22T03:00:00+01:00``; None stays None."""
    return None if moment is None else moment.astimezone(where).isoformat()


def label(where: ZoneInfo) -> str:
    """The zone's name, for headers: ``Europe/Paris``."""
    return str(where.key)


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
