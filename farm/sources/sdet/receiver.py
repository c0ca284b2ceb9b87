"""Search results of one ldap3 connection, decoded and handed over as they arrive.

ldap3's SYNC strategy collects a whole page of results, decodes each message
with its general BER decoder, then turns every entry into two
case-insensitive dicts (raw and formatted), consulting its global
configuration for each value. For a large directory that costs several
times the rest of a read, and a page of such dicts keeps the garbage
collector busy. An :class:`EntryReceiver` replaces the strategy's response
loop on one connection: each entry is decoded by
:func:`~farm.sources.sdet.ber.search_entry` and passed to ``sink`` at once
(the caller converts it and drops it); every other message, and any entry
that decoder declines, takes ldap3's own decoding, so results, errors and
paging cookies are ldap3's as usual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from ldap3 import Connection
from ldap3.core.exceptions import LDAPExceptionError, LDAPSocketReceiveError
from ldap3.strategy.base import RESPONSE_COMPLETE, SESSION_TERMINATED_BY_SERVER
from ldap3.utils.asn1 import decode_message_fast

from farm.sources.sdet.ber import search_entry
from farm.sources.sdet.entries import Entry

_READ_SIZE = 65_536
_PARTIAL = frozenset({"searchResEntry", "searchResRef", "intermediateResponse"})


def _refuse(entry: Entry) -> None:
    raise LDAPSocketReceiveError(f"search result entry {entry.dn!r} outside a search")


class EntryReceiver:
    """Takes over the response loop of ``connection`` (a SYNC one, simple bind only).

    Set ``sink`` before each search; entries go there, not into
    ``connection.response``.
    """

    def __init__(self, connection: Connection) -> None:
        self.sink: Callable[[Entry], None] = _refuse
        self._connection = connection
        self._strategy = strategy = connection.strategy
        self._decode = strategy.decode_response_fast
        self._pending = b""
        strategy._get_response = self._get_response

    def _receive(self) -> list[bytes]:
        """The next whole messages from the socket; none once the server has closed it.

        ldap3 reads 4 KiB at a time and copies what is left after each
        message; this reads 64 KiB and cuts the messages out in one pass.
        """
        pending = self._pending
        chunks: list[bytes] = []
        while True:
            if chunks:
                pending = b"".join((pending, *chunks))
                chunks.clear()
            messages: list[bytes] = []
            at, end, needed = 0, len(pending), 0
            while end - at >= 2:
                size = pending[at + 1]
                start = at + 2
                if size >= 0x80:
                    start += size & 0x7F
                    if start > end:
                        break
                    size = int.from_bytes(pending[at + 2 : start], "big")
                stop = start + size
                if stop > end:
                    needed = stop - end
                    break
                messages.append(pending[at:stop])
                at = stop
            if messages:
                self._pending = pending[at:]
                return messages
            # A message larger than one read: gather its parts, join them once.
            while True:
                data = self._read()
                if not data:
                    self._pending = b""
                    return []
                chunks.append(data)
                needed -= len(data)
                if needed <= 0:
                    break

    def _read(self) -> bytes:
        connection = self._connection
        try:
            data: bytes = connection.socket.recv(_READ_SIZE)
        except (OSError, AttributeError) as exc:
            connection.last_error = f"error receiving data: {exc}"
            with contextlib.suppress(OSError, LDAPExceptionError):
                self._strategy.close()
            raise LDAPSocketReceiveError(connection.last_error) from None
        return data

    def _get_response(self, message_id: int, timeout: object) -> Any:
        # SyncStrategy._get_response, but entries go to the sink. The socket's own
        # timeout bounds each receive, as in ldap3.
        responses: list[Any] = []
        while True:
            messages = self._receive()
            if not messages:
                return SESSION_TERMINATED_BY_SERVER
            for message in messages:
                if not message:
                    continue
                entry = search_entry(message, message_id)
                if entry is not None:
                    self.sink(entry)
                    continue
                decoded = decode_message_fast(message)  # type: ignore[no-untyped-call]
                number = int(decoded["messageID"])
                if decoded["protocolOp"] == 4 and number == message_id:
                    self.sink(_entry_from_ldap3(decoded["payload"]))
                    continue
                response = self._decode(decoded)
                if number == message_id:
                    responses.append(response)
                    if response["type"] not in _PARTIAL:
                        responses.append(RESPONSE_COMPLETE)
                        return responses
                elif number == 0:
                    # An unsolicited notification (RFC 4511, 4.4): the server is leaving.
                    return SESSION_TERMINATED_BY_SERVER
                else:
                    raise LDAPSocketReceiveError(f"unexpected message id {number}")


def _entry_from_ldap3(payload: Any) -> Entry:
    """An entry from the tuples of ldap3's decoder (only when :func:`search_entry` declined)."""
    attributes = {
        attribute[3][0][3].decode("utf-8").lower(): [
            value[3].decode("utf-8", "replace") for value in attribute[3][1][3]
        ]
        for attribute in payload[1][3]
    }
    return Entry(dn=payload[0][3].decode("utf-8", "replace"), attributes=attributes)
