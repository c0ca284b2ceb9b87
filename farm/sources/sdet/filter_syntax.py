"""The shape of an LDAP search filter (RFC 4515), checked without ldap3.

A filter written in ``farm.toml`` is checked when the farm is loaded, so that
``farm tenants check`` names the key of a malformed one instead of the first
night's run failing on it. Reading the settings must not load ldap3 (see
``farm.sources.sdet``), hence this small parser: it checks the structure
(parentheses, operators, attribute descriptions, escapes), not the schema.
"""

from __future__ import annotations

import re

# An attribute description: a name or an OID, options after ';', then an
# optional extensible-match part (':dn', ':rule').
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$")
_EXTENSIBLE = re.compile(
    r"^(?:(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*)?"
    r"(?::[dD][nN])?(?::(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*))?$"
)
_ESCAPE = re.compile(r"\\(?![0-9A-Fa-f]{2})")


def check_filter(text: str) -> str:
    """``text`` itself when it is a well-formed filter; ``ValueError`` saying where it is not."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty LDAP filter")
    end = _Parser(stripped).filter(0)
    if end != len(stripped):
        raise ValueError(f"LDAP filter {text!r}: unexpected text after position {end}")
    return text


class _Parser:
    """Recursive descent over one filter; each method returns the position after what it read."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _fail(self, at: int, what: str) -> ValueError:
        return ValueError(f"LDAP filter {self.text!r}: {what} at position {at}")

    def filter(self, at: int) -> int:
        text = self.text
        if at >= len(text) or text[at] != "(":
            raise self._fail(at, "expected '('")
        at += 1
        if at >= len(text):
            raise self._fail(at, "unclosed '('")
        head = text[at]
        if head in "&|":
            at += 1
            while at < len(text) and text[at] == "(":
                at = self.filter(at)
        elif head == "!":
            at = self.filter(at + 1)
        else:
            at = self.item(at)
        if at >= len(text) or text[at] != ")":
            raise self._fail(at, "expected ')'")
        return at + 1

    def item(self, at: int) -> int:
        text = self.text
        close = at
        while close < len(text) and text[close] not in "()":
            close += 1
        if close >= len(text):
            raise self._fail(close, "expected ')'")
        if text[close] != ")":
            raise self._fail(close, "expected ')' (write '(' in a value as \\28)")
        body = text[at:close]
        equals = body.find("=")
        if equals <= 0:
            raise self._fail(at, f"{body!r} is no 'attribute=value' test")
        attribute, value = body[:equals], body[equals + 1 :]
        if attribute[-1] in "~<>":
            attribute = attribute[:-1]
        elif attribute.endswith(":"):
            # An extensible match, attr[:dn][:rule]:=value.
            rule = attribute[:-1]
            if not rule or not _EXTENSIBLE.fullmatch(rule):
                raise self._fail(at, f"malformed extensible match {attribute!r}")
            attribute = ""
        if attribute and not _ATTRIBUTE.fullmatch(attribute):
            raise self._fail(at, f"malformed attribute name {attribute!r}")
        bad = _ESCAPE.search(value)
        if bad is not None:
            raise self._fail(
                at + equals + 1 + bad.start(), "'\\' must start a two-digit hex escape"
            )
        return close
