"""The Moodle web-service client: one :class:`MoodleClient` per site."""

from __future__ import annotations

from farm.moodle.cohorts import CohortCalls
from farm.moodle.courses import CourseCalls
from farm.moodle.records import SiteInfo
from farm.moodle.users import UserCalls
from farm.site_rules import STOCK_ROLE_IDS

# Role ids of a stock Moodle; no web-service function of the farm's list reads them.
DEFAULT_ROLE_IDS: dict[str, int] = dict(STOCK_ROLE_IDS)


class MoodleClient(UserCalls, CohortCalls, CourseCalls):
    """Typed, batched, bounded calls to one Moodle site.

    ``MoodleClient(name, url, token, limits, transport=None)``; ``url`` is the
    site's wwwroot, ``token`` a :class:`~farm.secrets.Secret`. Use it as an
    async context manager, or call :meth:`aclose`.
    """

    async def __aenter__(self) -> MoodleClient:
        return self

    async def site_info(self) -> SiteInfo:
        """``core_webservice_get_site_info``: release, version, and the token's functions."""
        return SiteInfo.from_answer(await self.call("core_webservice_get_site_info"))
