"""Directory entries as plain data, and the parsing of SDET attribute values.

An :class:`Entry` is what one LDAP search result becomes before any rule is
applied: its DN and its attributes, names lower-cased, values as text. The
helpers here parse the ``<etab DN>$<code>`` values and compare DNs after
normalisation, because directories differ in case and spacing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry: ``attributes`` maps lower-cased names to their values."""

    dn: str
    attributes: Mapping[str, Sequence[str]]

    def values(self, name: str) -> Sequence[str]:
        return self.attributes.get(name.lower(), ())

    def first(self, name: str) -> str | None:
        for value in self.values(name):
            if value:
                return value
        return None

    @property
    def object_classes(self) -> frozenset[str]:
        return frozenset(value.lower() for value in self.values("objectClass"))


# A DN with no spaces, escapes or multi-valued RDNs: "name=value" parts
# separated by commas. Its normal form is simply its lower-case spelling.
_PLAIN = r'[^\s=,\\"+#;<>]+=[^\s,\\"+#;<>]+'
_PLAIN_DN = re.compile(f"{_PLAIN}(?:,{_PLAIN})*")


def canonical_dn(dn: str) -> str:
    """The DN in one canonical spelling: names and values lower-cased, no stray spaces.

    Raises ``ValueError`` when the text is not a DN. :func:`normalise_dn`
    is the same with a cache, for DNs that come back again and again.
    """
    text = dn.strip()
    if not text:
        raise ValueError("empty DN")
    if _PLAIN_DN.fullmatch(text):
        return text.lower()
    if not any(c in text for c in '\\"+#;<>'):
        # No escapes or multi-valued RDNs but spaces: split by hand,
        # several times faster than the general parser.
        pairs = [part.partition("=") for part in text.split(",")]
        if all(name.strip() and sep and value.strip() for name, sep, value in pairs):
            return ",".join(
                f"{name.strip().lower()}={value.strip().lower()}" for name, _, value in pairs
            )
    try:
        parts = parse_dn(text, escape=False, strip=True)
    except (LDAPInvalidDnError, IndexError) as exc:
        raise ValueError(f"not a DN: {exc}") from None
    out: list[str] = []
    for name, value, separator in parts:
        out.append(f"{name.strip().lower()}={value.strip().lower()}")
        out.append("+" if separator == "+" else ",")
    return "".join(out[:-1])


normalise_dn = lru_cache(maxsize=16_384)(canonical_dn)


def rdn_pair(dn: str) -> tuple[str, str]:
    """The attribute name and value of the first RDN (``uid``, ``F99000a1``)."""
    first = parse_dn(dn, escape=False, strip=True)[0]
    return str(first[0]).strip(), str(first[1]).strip()


def rdn_value(dn: str) -> str:
    """The value of the first RDN (the SIRET in ``ENTStructureSIREN=19999901000017,…``)."""
    first = parse_dn(dn, escape=False, strip=True)[0]
    return str(first[1]).strip()


@dataclass(frozen=True, slots=True)
class EtabValue:
    """A parsed ``<etab DN>$<code>[$<more>…]`` value; ``etab`` is normalised."""

    etab: str
    code: str
    rest: tuple[str, ...] = ()


def parse_etab_value(value: str, *, fields: int = 2) -> EtabValue:
    """Split an SDET ``$`` value whose first field is an establishment DN.

    ``fields`` is the minimum number of ``$`` fields. For two-field
    attributes the code is everything after the first ``$`` (codes never
    start a DN, but may contain ``$`` in some exports). Raises ``ValueError``
    naming what is wrong.
    """
    parts = value.split("$")
    if len(parts) < fields:
        raise ValueError(f"expected '<etab DN>$…' with {fields} '$' fields, got {value!r}")
    etab = normalise_dn(parts[0])
    if fields == 2:
        code = "$".join(parts[1:]).strip()
        rest: tuple[str, ...] = ()
    else:
        code = parts[1].strip()
        rest = tuple(parts[2:])
    if not code:
        raise ValueError(f"empty code after the establishment DN in {value!r}")
    return EtabValue(etab=etab, code=code, rest=rest)


def parse_timestamp(text: str) -> datetime | None:
    """An LDAP GeneralizedTime (``20261121185843Z``) as an aware UTC datetime."""
    text = text.strip()
    if not text.endswith("Z") or len(text) < 15 or not text[:14].isdigit():
        return None
    try:
        return datetime(
            int(text[0:4]), int(text[4:6]), int(text[6:8]),
            int(text[8:10]), int(text[10:12]), int(text[12:14]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


def newest_timestamp(texts: Iterable[str]) -> datetime | None:
    """The latest of several GeneralizedTimes, ignoring those that do not parse.

    Same as the max of :func:`parse_timestamp` over ``texts``, but parses
    few of them: ASCII digits sort like the instants they spell.
    """
    ascii_texts: list[str] = []
    others: list[datetime] = []
    for text in texts:
        if text.isascii():
            ascii_texts.append(text.strip())
        else:
            moment = parse_timestamp(text)
            if moment is not None:
                others.append(moment)
    ascii_texts.sort(key=lambda t: t[:14], reverse=True)
    newest = None
    for text in ascii_texts:
        newest = parse_timestamp(text)
        if newest is not None:
            break
    moments = [m for m in (newest, *others) if m is not None]
    return max(moments) if moments else None


def format_timestamp(moment: datetime) -> str:
    """A datetime as GeneralizedTime in UTC, for ``(modifyTimestamp>=…)`` filters."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC instant")
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")
