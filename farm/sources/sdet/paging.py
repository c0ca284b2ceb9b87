"""One paged search, its request encoded once and sent again for every page.

ldap3's ``Connection.search`` parses, compiles and BER-encodes the filter
for every page, then decodes the request back into a dict for its own
records; with a filter OR-ing many schools that costs more than reading the
page. Here the search operation is built and encoded once by ldap3 itself,
and each page only wraps it in a new message with its message id and the
paged-results control (RFC 2696) carrying the server's cookie.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ldap3 import DEREF_ALWAYS, SUBTREE, Connection
from ldap3.core.exceptions import LDAPSocketSendError
from ldap3.operation.search import search_operation
from ldap3.protocol.convert import build_controls_list
from ldap3.protocol.rfc2696 import paged_search_control
from ldap3.protocol.rfc4511 import ProtocolOp
from ldap3.strategy.base import BaseStrategy
from pyasn1.codec.ber.encoder import encode

_SEQUENCE = 0x30
_INTEGER = 0x02


def _tlv(tag: int, content: bytes) -> bytes:
    """A BER element with a definite length."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _integer(value: int) -> bytes:
    """A non-negative INTEGER's contents: big-endian, with a leading zero bit."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


class PagedSearch:
    """A subtree search under ``base`` on ``connection``, ready to ask page after page.

    Raises ldap3's errors (or ``ValueError``) for a filter it cannot compile.
    """

    def __init__(
        self,
        connection: Connection,
        base: str,
        filter_: str,
        attributes: Sequence[str],
        *,
        page_size: int,
        time_limit: int,
    ) -> None:
        request = search_operation(
            base,
            filter_,
            SUBTREE,
            DEREF_ALWAYS,
            list(attributes),
            0,
            time_limit,
            False,
            connection.auto_escape,
            connection.auto_encode,
            None,
            validator=None,
            check_names=False,
        )
        operation = ProtocolOp().setComponentByName("searchRequest", request)
        self._connection = connection
        self._operation: bytes = encode(operation)
        # ldap3 keeps this summary of every outstanding request; its result
        # handling looks it up by message id.
        self._summary: dict[str, Any] = BaseStrategy.decode_request(  # type: ignore[no-untyped-call]
            "searchRequest", request, None
        )
        self._page_size = page_size

    def message(self, message_id: int, cookie: bytes | None) -> bytes:
        """The LDAP message asking for the page after ``cookie`` (the first page: None)."""
        control = paged_search_control(False, self._page_size, cookie)
        controls = encode(build_controls_list([control]))
        return _tlv(
            _SEQUENCE,
            b"".join((_tlv(_INTEGER, _integer(message_id)), self._operation, controls)),
        )

    def send(self, cookie: bytes | None) -> int:
        """Ask for the page after ``cookie``; the message id to wait for."""
        connection = self._connection
        message_id: int = connection.server.next_message_id()
        data = self.message(message_id, cookie)
        connection.request = self._summary
        connection.strategy._outstanding[message_id] = self._summary
        try:
            connection.socket.sendall(data)
        except (OSError, AttributeError) as exc:
            connection.last_error = f"socket sending error {exc}"
            raise LDAPSocketSendError(connection.last_error) from None
        return message_id
