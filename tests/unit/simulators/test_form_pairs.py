"""The simulator decodes a form body exactly as ``urllib.parse.parse_qsl`` does."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from farm.simulators.moodle.encoding import form_pairs

BODIES = [
    "wstoken=t&wsfunction=core_user_create_users&users%5B0%5D%5Busername%5D=jdupont",
    "users[0][firstname]=Jean+Pierre&users[0][lastname]=L%27H%C3%B4pital",
    "a=&b&=c&&d=1=2&e=%&f=%zz&g=+%2B+",
    "values[0]=%C3%A9l%C3%A8ve&values[1]=\u00e9l\u00e8ve&values[2]=%FF",
    "",
    "&&",
]


@pytest.mark.parametrize("body", BODIES)
def test_a_body_decodes_as_parse_qsl_decodes_it(body: str) -> None:
    assert form_pairs(body) == parse_qsl(body, keep_blank_values=True)
