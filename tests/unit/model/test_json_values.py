"""Index values kept as their JSON text: read like the mapping they encode, encoded once."""

from __future__ import annotations

import json

import pytest

from farm.index import SiteIndex
from farm.index_values import JsonValues
from farm.model import CohortMembership, IndexEntry, Kind, Person

VALUES = {"username": "ada", "profiles": ["student"], "profile_fields": {}, "suspended": False}


def test_stored_text_reads_as_the_mapping_it_encodes() -> None:
    stored, plain = JsonValues(json.dumps(VALUES)), dict(VALUES)

    assert stored == plain
    assert plain == stored
    assert stored.get("username") == "ada"
    assert stored.get("email", "") == ""
    assert stored["profiles"] == ["student"]
    assert "suspended" in stored
    assert (len(stored), list(stored), dict(stored.items())) == (4, list(VALUES), VALUES)
    assert repr(stored) == repr(VALUES)
    assert stored != {**VALUES, "username": "alan"}


def test_an_entry_with_stored_values_equals_the_same_entry_built_in_memory() -> None:
    stored = IndexEntry(Kind.PERSON, "sdet:1", 7, "d", JsonValues(json.dumps(VALUES)))
    built = IndexEntry(Kind.PERSON, "sdet:1", 7, "d", dict(VALUES))

    assert stored == built
    assert SiteIndex([stored]) == SiteIndex([built])
    assert stored != IndexEntry(Kind.PERSON, "sdet:1", 7, "d", {**VALUES, "suspended": True})


def test_stored_text_that_is_not_one_json_object_is_refused_when_read() -> None:
    with pytest.raises(ValueError, match=r"index values are not a JSON object: '\[1, 2\]'"):
        JsonValues("[1, 2]").get("username")
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        JsonValues('{"username": "ada"} {}').get("username")
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        JsonValues("").get("username")
    assert JsonValues(' {"username": "ada"}\n').get("username") == "ada"


def test_whether_there_are_values_is_told_without_decoding_the_text() -> None:
    # The journal asks of every confirmed entry; decoding would keep a second copy of each.
    assert not JsonValues("{}")
    assert JsonValues(json.dumps(VALUES))
    broken = JsonValues("[1, 2]")
    assert broken  # not decoded, so not refused yet
    with pytest.raises(ValueError, match="not a JSON object"):
        len(broken)


def test_a_confirmed_record_s_values_are_made_from_the_record_each_time() -> None:
    ada = Person("sdet:1", "ada", "1", "Adélaïde", "LOVELACE", "ada@example.org")
    kept = JsonValues.of_record(ada)

    assert kept == ada.values() == JsonValues(kept.text)
    assert json.loads(kept.text) == ada.values()
    assert (kept.get("firstname"), len(kept), bool(kept)) == ("Adélaïde", 9, True)
    assert JsonValues.of_record(CohortMembership("", "")) != {"cohort": "x", "person": ""}
