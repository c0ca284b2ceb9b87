"""Finding the line of a key, so that problems point where to edit."""

from __future__ import annotations

from farm.config.problems import KeyLines

TEXT = """\
[site]
url = "https://x"

[[establishments]]
uai = "0290009C"

[[establishments]]
uai = "0291595B"
[establishments.schedules]
users = "0 1 * * *"

[directories."ent-a"]
url = "ldap://h"
"""


def test_keys_in_arrays_of_tables_are_counted() -> None:
    lines = KeyLines(TEXT)

    assert lines.find(("establishments", 0, "uai")) == 5
    assert lines.find(("establishments", 1, "uai")) == 8
    assert lines.find(("establishments", 1, "schedules", "users")) == 10


def test_unwritten_key_falls_back_to_its_table() -> None:
    lines = KeyLines(TEXT)

    assert lines.find(("establishments", 1, "name")) == 7
    assert lines.find(("site", "token")) == 1
    assert lines.find(("nowhere",)) is None


def test_quoted_table_names() -> None:
    assert KeyLines(TEXT).find(("directories", "ent-a", "url")) == 13
