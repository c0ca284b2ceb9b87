"""What the NetYpareo source needs to know about one of its tenants."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NetYpareoTenant:
    """One NetYpareo site of an endpoint, read as one farm tenant.

    ``id`` is the operator-chosen tenant id (``cfa-occ-montpellier``), used as
    the records' establishment; ``site_code`` is the site's code in NetYpareo
    (``codeSite``); ``index`` is the site's number in the farm's profile
    conventions, the prefix of netypareo_usertype values when the endpoint's
    ``usertype_prefix`` is on (``0teacher`` for index 0).
    """

    id: str
    site_code: str
    index: int = 0

    def __post_init__(self) -> None:
        if not self.id or not self.site_code:
            raise ValueError("a NetYpareo tenant needs an id and a site code")
        if self.index < 0:
            raise ValueError(f"tenant {self.id}: the site index must be 0 or more")
