"""Search result entries decoded straight from their BER bytes.

ldap3 decodes every message with a general BER decoder that builds a tuple
per element and looks its class and type up in tables; for a large read that
is the biggest single cost. A search result entry has one fixed shape
(RFC 4511, section 4.5.2), so it is read here with a dedicated loop. Anything
else, or an entry that does not look exactly as expected, is left to ldap3
(the caller falls back to it when this returns None).
"""

from __future__ import annotations

from farm.sources.sdet.entries import Entry

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_OCTET_STRING = 0x04
_SEARCH_RESULT_ENTRY = 0x64  # [APPLICATION 4], constructed
_MAX_NAMES = 1024

# Attribute names as sent (bytes) -> lower-cased text; the same few names
# come back in every entry. Bounded, so a strange server cannot grow it.
_names: dict[bytes, str] = {}


def _length(data: bytes, at: int) -> tuple[int, int]:
    """The BER length whose first octet is at ``at``, and where the contents start."""
    first = data[at]
    if first < 0x80:
        return first, at + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        raise ValueError("indefinite or oversized BER length")
    return int.from_bytes(data[at + 1 : at + 1 + size], "big"), at + 1 + size


def _name(raw: bytes) -> str:
    name = _names.get(raw)
    if name is None:
        name = raw.decode("utf-8").lower()
        if len(_names) < _MAX_NAMES:
            _names[raw] = name
    return name


def search_entry(data: bytes, message_id: int) -> Entry | None:
    """The entry carried by ``data`` if it is a search result entry of ``message_id``.

    Returns None for any other message and for anything malformed, so that
    ldap3's own decoder deals with it (and reports it) as usual.
    """
    try:
        return _search_entry(data, message_id)
    except (IndexError, ValueError):
        return None


def _search_entry(data: bytes, message_id: int) -> Entry | None:
    if data[0] != _SEQUENCE:
        return None
    size, at = _length(data, 1)
    message_end = at + size
    if data[at] != _INTEGER:
        return None
    size, at = _length(data, at + 1)
    if int.from_bytes(data[at : at + size], "big", signed=True) != message_id:
        return None
    at += size
    if data[at] != _SEARCH_RESULT_ENTRY:
        return None
    size, at = _length(data, at + 1)
    entry_end = at + size
    if data[at] != _OCTET_STRING:
        return None
    size, at = _length(data, at + 1)
    dn = data[at : at + size].decode("utf-8", "replace")
    at += size
    if data[at] != _SEQUENCE:
        return None
    size, at = _length(data, at + 1)
    if at + size != entry_end or entry_end > message_end:
        return None
    attributes: dict[str, list[str]] = {}
    names = _names
    # Short-form lengths are read inline: these loops run once per attribute
    # and value of the whole read, and a call per length costs a third more.
    while at < entry_end:
        if data[at] != _SEQUENCE:
            return None
        size = data[at + 1]
        at = at + 2 if size < 0x80 else _length(data, at + 1)[1]
        if data[at] != _OCTET_STRING:
            return None
        size = data[at + 1]
        if size < 0x80:
            at += 2
        else:
            size, at = _length(data, at + 1)
        raw = data[at : at + size]
        name = names.get(raw) or _name(raw)
        at += size
        if data[at] != _SET:
            return None
        size = data[at + 1]
        if size < 0x80:
            at += 2
        else:
            size, at = _length(data, at + 1)
        values_end = at + size
        values: list[str] = []
        append = values.append
        while at < values_end:
            if data[at] != _OCTET_STRING:
                return None
            size = data[at + 1]
            if size < 0x80:
                at += 2
            else:
                size, at = _length(data, at + 1)
            append(data[at : at + size].decode("utf-8", "replace"))
            at += size
        if at != values_end:
            return None
        attributes[name] = values
    if at != entry_end:
        return None
    return Entry(dn=dn, attributes=attributes)
