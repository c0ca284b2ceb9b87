"""Contract: what core_user_create_users does with lang, timezone and country.

MOODLE-WS.md says nothing of them; Moodle's ``core_user_external::create_users``
does: ``lang`` defaults to the site's language and must be a language pack the
site has ("Invalid language code: x", the whole batch refused), ``timezone`` is
``PARAM_TIMEZONE`` (99 by default), ``country`` ``PARAM_ALPHA`` (none by default).
"""

from __future__ import annotations

from typing import Any

from tests.fixtures.moodle import MoodleTarget


def user(moodle: MoodleTarget, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "username": moodle.username(name),
        "firstname": "Jeanne",
        "lastname": "Martin",
        "email": moodle.email(name),
        "auth": "oauth2",
        **extra,
    }


async def found(moodle: MoodleTarget, name: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = await moodle.call(
        "core_user_get_users_by_field", {"field": "username", "values": [moodle.username(name)]}
    )
    return answer


async def test_lang_timezone_and_country_are_stored_and_read_back(moodle: MoodleTarget) -> None:
    given = user(moodle, "fr", lang="en", timezone="Europe/Paris", country="FR")
    await moodle.call("core_user_create_users", {"users": [given, user(moodle, "plain")]})

    (account,) = await found(moodle, "fr")
    assert (account["lang"], account["timezone"], account["country"]) == (
        "en",
        "Europe/Paris",
        "FR",
    )
    (plain,) = await found(moodle, "plain")
    assert plain["timezone"] == "99"
    assert "country" not in plain  # no country: no key


async def test_a_language_the_site_lacks_refuses_the_whole_batch(moodle: MoodleTarget) -> None:
    batch = [user(moodle, "ok"), user(moodle, "xx", lang="xx")]

    answer = await moodle.call("core_user_create_users", {"users": batch})

    assert answer["errorcode"] == "invalidparameter"
    assert await found(moodle, "ok") == []
    if moodle.site is not None:
        moodle.site.debug = True
        answer = await moodle.call("core_user_create_users", {"users": batch})
        assert answer["debuginfo"] == "Invalid language code: xx"
        moodle.site.debug = False
        moodle.site.languages.add("fr")  # a site that installed the French pack
        await moodle.call("core_user_create_users", {"users": [user(moodle, "f", lang="fr")]})
        assert (await found(moodle, "f"))[0]["lang"] == "fr"


async def test_a_time_zone_or_country_moodle_would_clean_is_refused(moodle: MoodleTarget) -> None:
    zone = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "tz", timezone="Paris time!")]}
    )
    country = await moodle.call(
        "core_user_create_users", {"users": [user(moodle, "c", country="F1")]}
    )

    assert zone["errorcode"] == country["errorcode"] == "invalidparameter"
    assert await found(moodle, "tz") == await found(moodle, "c") == []
