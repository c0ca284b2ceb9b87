"""What a site gives the accounts the farm creates: Moodle's language, time zone, country. Pure.

A site file's ``[site]`` may set ``lang``, ``timezone`` and ``country``
(:class:`UserDefaults`). They are sent with ``core_user_create_users`` and
nothing else: they are no part of a person's digest, so an account the farm
already made, or adopted, is never updated for them, and changing a site's
default later changes no existing account (people change their own language
and time zone in Moodle; the farm must not undo that at every run).

The checks follow what Moodle takes: a language is a language pack's name
(``fr``, ``en_us``, ``fr_ca``; Moodle refuses a pack the site has not
installed, which only the site knows), a time zone an IANA name or ``99``
(the site's own), a country an ISO 3166 alpha-2 code in capitals.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Final

_LANG: Final = re.compile(r"[a-z]{2,3}(_[a-z0-9]+)*")

_ALPHA_2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
    GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD
    SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
#: Assigned ISO 3166-1 alpha-2 codes (as the tz database's iso3166.tab lists them).
COUNTRIES: Final = frozenset(_ALPHA_2.split())


def check_lang(value: str) -> str:
    """``value`` if it has the shape of a Moodle language pack's name, else a ValueError."""
    if not _LANG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Moodle language code: write the language pack's name, "
            "e.g. 'fr', 'en', 'fr_ca'"
        )
    return value


def check_timezone(value: str) -> str:
    """``value`` if Moodle takes it as a time zone (an IANA name, or 99), else a ValueError."""
    if value == "99":
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a known time zone: write an IANA name, e.g. 'Europe/Paris', "
            "or 99 for the site's own"
        ) from None
    return value


def check_country(value: str) -> str:
    """``value`` if it is an ISO 3166 alpha-2 code, else a ValueError."""
    if value not in COUNTRIES:
        hint = f" (did you mean {value.upper()!r}?)" if value.upper() in COUNTRIES else ""
        raise ValueError(
            f"{value!r} is not an ISO 3166 alpha-2 country code, e.g. 'FR', 'BE'{hint}"
        )
    return value


@dataclass(frozen=True, slots=True)
class UserDefaults:
    """The language, time zone and country a new account gets; None leaves Moodle's default."""

    lang: str | None = None
    timezone: str | None = None
    country: str | None = None
