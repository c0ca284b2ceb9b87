"""A paged search sends, page after page, exactly the bytes ldap3 would send."""

from __future__ import annotations

import pytest
from ldap3 import DEREF_ALWAYS, SUBTREE, Connection, Server
from ldap3.operation.search import search_operation
from ldap3.protocol.convert import build_controls_list
from ldap3.protocol.rfc2696 import paged_search_control
from ldap3.protocol.rfc4511 import LDAPMessage, MessageID, ProtocolOp
from pyasn1.codec.ber.encoder import encode

from farm.sources.sdet.paging import PagedSearch

BASE = "ou=people,dc=x"
FILTER = (
    "(&(objectClass=ENTEleve)(|"
    + "".join(f"(ENTEleveClasses=*{n:014d}*)" for n in range(60))
    + "))"
)


def ldap3_message(connection: Connection, message_id: int, cookie: bytes | None) -> bytes:
    request = search_operation(
        BASE, FILTER, SUBTREE, DEREF_ALWAYS, ["uid", "sn"], 0, 30, False,
        connection.auto_escape, connection.auto_encode, None, validator=None, check_names=False,
    )  # fmt: skip
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    message["protocolOp"] = ProtocolOp().setComponentByName("searchRequest", request)
    message["controls"] = build_controls_list([paged_search_control(False, 500, cookie)])
    return encode(message)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("message_id", "cookie"),
    [(1, None), (127, b"abc"), (128, b"\x00\xff" * 100), (70_000, b"x")],
)
def test_each_page_request_is_what_ldap3_encodes(message_id: int, cookie: bytes | None) -> None:
    connection = Connection(Server("127.0.0.1"))
    search = PagedSearch(connection, BASE, FILTER, ["uid", "sn"], page_size=500, time_limit=30)

    assert search.message(message_id, cookie) == ldap3_message(connection, message_id, cookie)
