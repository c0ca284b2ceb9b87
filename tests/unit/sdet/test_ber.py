"""Search result entries decoded from their BER bytes give what ldap3's decoder gives."""

from __future__ import annotations

import pytest
from ldap3.utils.asn1 import decode_message_fast

from farm.sources.sdet.ber import search_entry
from farm.sources.sdet.entries import Entry
from farm.sources.sdet.receiver import _entry_from_ldap3

DN = "uid=E1,ou=people,dc=x"


def tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def entry_message(message_id: int, dn: bytes, attributes: list[tuple[bytes, list[bytes]]]) -> bytes:
    listed = b"".join(
        tlv(0x30, tlv(0x04, name) + tlv(0x31, b"".join(tlv(0x04, v) for v in values)))
        for name, values in attributes
    )
    entry = tlv(0x64, tlv(0x04, dn) + tlv(0x30, listed))
    return tlv(0x30, tlv(0x02, message_id.to_bytes(2, "big")) + entry)


ATTRIBUTES = [
    (b"objectClass", [b"ENTPerson", b"ENTEleve"]),
    (b"givenName", ["Zoé".encode() * 100]),  # long-form lengths
    (b"sn", [b"DUPONT\xff"]),  # not UTF-8: replaced, as ldap3's lean path did
    (b"ENTEleveClasses", [b"ENTStructureSIREN=1,ou=structures,dc=x$3EME1", b""]),
    (b"mail", []),
]


def test_entries_decode_like_ldap3_does() -> None:
    message = entry_message(300, DN.encode(), ATTRIBUTES)

    entry = search_entry(message, 300)

    decoded = decode_message_fast(message)  # type: ignore[no-untyped-call]
    assert entry == _entry_from_ldap3(decoded["payload"])
    assert entry == Entry(
        DN,
        {
            "objectclass": ["ENTPerson", "ENTEleve"],
            "givenname": ["Zoé" * 100],
            "sn": ["DUPONT\ufffd"],
            "enteleveclasses": ["ENTStructureSIREN=1,ou=structures,dc=x$3EME1", ""],
            "mail": [],
        },
    )


def test_a_large_entry_decodes_whole() -> None:
    values = [f"uid=P{n:06d},ou=people,dc=x".encode() for n in range(5000)]
    message = entry_message(7, DN.encode(), [(b"ENTAuxPersRelEleveEleve", values)])

    entry = search_entry(message, 7)

    assert entry is not None
    assert len(entry.values("ENTAuxPersRelEleveEleve")) == 5000


@pytest.mark.parametrize(
    "message",
    [
        entry_message(301, DN.encode(), ATTRIBUTES),  # another request's entry
        entry_message(300, DN.encode(), ATTRIBUTES)[:-3],  # truncated
        tlv(0x30, tlv(0x02, b"\x01\x2c") + tlv(0x65, b"\x0a\x01\x00\x04\x00\x04\x00")),  # done
    ],
    ids=["other message id", "truncated", "search done"],
)
def test_anything_else_is_left_to_ldap3(message: bytes) -> None:
    assert search_entry(message, 300) is None
