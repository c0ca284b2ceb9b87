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

from collections.abc import Callable
from typing import Any

from ldap3 import Connection
from ldap3.core.exceptions import LDAPSocketReceiveError
from ldap3.strategy.base import RESPONSE_COMPLETE, SESSION_TERMINATED_BY_SERVER
from ldap3.utils.asn1 import decode_message_fast

from farm.sources.sdet.ber import search_entry
from farm.sources.sdet.entries import Entry

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
        strategy = connection.strategy
        self._receive = strategy.receiving
        self._decode = strategy.decode_response_fast
        strategy._get_response = self._get_response

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
