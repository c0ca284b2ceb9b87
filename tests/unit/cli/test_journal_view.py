"""How ``farm journal`` reads times and draws a line's changes (farm/cli/journal.py, pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
import pytest

from farm.cli.journal import parse_moment
from farm.cli.journal_view import changes_text, field_changes, value_text
from farm.registry import JournalEntry, RunId

PARIS = ZoneInfo("Europe/Paris")


def line(action: str, old: dict[str, object] | None, new: dict[str, object] | None) -> JournalEntry:
    at = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    return JournalEntry(RunId(1), "lyc", 1, "person", action, "sdet:F17", 7, old, new, at)


def test_a_date_is_midnight_in_the_farm_s_zone_and_until_takes_the_whole_day() -> None:
    assert parse_moment("2026-11-22", PARIS, "--since") == datetime(2026, 11, 22, tzinfo=PARIS)
    assert parse_moment("2026-11-22", PARIS, "--until", end_of_day=True) == datetime(
        2026, 11, 23, tzinfo=PARIS
    )
    # The night summer time ends: midnight is still +02:00, the next one +01:00.
    since = parse_moment("2026-10-25", PARIS, "--since")
    assert since is not None
    assert since.astimezone(UTC) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert parse_moment(None, PARIS, "--since") is None


def test_a_time_is_in_the_farm_s_zone_unless_it_has_an_offset() -> None:
    assert parse_moment("2026-11-22T03:00", PARIS, "--since") == datetime(
        2026, 11, 22, 3, 0, tzinfo=PARIS
    )
    moment = parse_moment("2026-11-22T03:00+00:00", PARIS, "--since")
    assert moment == datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def test_anything_else_is_refused_naming_the_option_and_the_zone() -> None:
    with pytest.raises(click.BadParameter, match="Europe/Paris") as refused:
        parse_moment("yesterday", PARIS, "--until")
    assert refused.value.param_hint == "--until"
    assert "'yesterday'" in refused.value.message


def test_an_update_shows_old_then_new_of_each_changed_field() -> None:
    update = line(
        "update", {"lastname": "DUPONT", "email": ""}, {"lastname": "DURAND", "email": "d@x"}
    )
    assert changes_text(update) == 'lastname: DUPONT → DURAND; email: "" → d@x'


def test_a_creation_shows_what_was_written_and_a_removal_what_was_removed() -> None:
    created = line("create", None, {"username": "jd", "profiles": ["student"], "suspended": False})
    assert changes_text(created) == 'username: jd; profiles: ["student"]; suspended: false'
    removed = line("delete", {"username": "jd"}, None)
    assert field_changes(removed)[0][0] == "username"
    assert changes_text(removed) == "username: jd"


def test_an_adoption_leaves_out_what_was_found_already_right() -> None:
    adopted = line(
        "adopt", {"username": "jd", "lastname": "X"}, {"username": "jd", "lastname": "D"}
    )
    assert changes_text(adopted) == "lastname: X → D"
    assert changes_text(line("adopt", {"username": "jd"}, {"username": "jd"})) == "-"


def test_values_are_one_line_of_text() -> None:
    assert value_text({"uai": "0330001K"}) == '{"uai": "0330001K"}'
    assert value_text(None) == "null"
    assert value_text("Élodie") == "Élodie"


def test_a_masked_secret_still_shows_that_it_changed() -> None:
    update = line("update", {"password": "***"}, {"password": "***"})
    assert changes_text(update) == "password: *** → ***"
