"""Blocking ldap3 calls for one directory; the source runs them in worker threads.

Each call opens its own connection (ldap3 connections are not shared across
threads), binds, runs one paged search to the end and closes. Failures
become :class:`~farm.sources.SourceError` naming the directory and its URL,
never the bind password.
"""

from __future__ import annotations

import math
import ssl
import struct
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ldap3 import NONE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException

from farm.secrets import Secret
from farm.sources import SourceError
from farm.sources.sdet.entries import Entry
from farm.sources.sdet.paging import PagedSearch
from farm.sources.sdet.receiver import EntryReceiver
from farm.sources.sdet.settings import DirectorySettings

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
T = TypeVar("T")


class DirectoryClient:
    """Blocking access to one SDET directory. Every method may be run in a thread."""

    def __init__(self, name: str, settings: DirectorySettings, password: Secret | None) -> None:
        self.name = name
        self.settings = settings
        self._password = password
        parts = urlsplit(settings.url)
        use_ssl = parts.scheme.lower() == "ldaps"
        try:
            tls = None
            if use_ssl or settings.start_tls:
                tls = Tls(
                    validate=ssl.CERT_REQUIRED if settings.verify_certificates else ssl.CERT_NONE,
                    ca_certs_file=settings.ca_file,
                )
            self._server = Server(
                parts.hostname or "",
                port=parts.port or (636 if use_ssl else 389),
                use_ssl=use_ssl,
                get_info=NONE,
                tls=tls,
                connect_timeout=max(1, math.ceil(settings.timeout)),
            )
        except (LDAPException, ValueError) as exc:
            detail = f"{exc} ({settings.ca_file})" if settings.ca_file else exc
            raise self._fail("bad TLS or server settings", detail) from None

    def _fail(self, what: str, detail: object) -> SourceError:
        text = str(detail)
        if self._password is not None and self._password.reveal():
            text = text.replace(self._password.reveal(), "***")
        return SourceError(f"directory {self.name} ({self.settings.url}): {what}: {text}")

    def _connect(self) -> tuple[Connection, EntryReceiver]:
        settings = self.settings
        try:
            connection = Connection(
                self._server,
                user=settings.bind_dn,
                password=self._password.reveal() if self._password is not None else None,
                client_strategy=SYNC,
                read_only=True,
                receive_timeout=max(1, math.ceil(settings.timeout)),
                raise_exceptions=False,
                auto_referrals=False,
                check_names=False,
                auto_range=False,
                return_empty_attributes=False,
            )
            connection.open()
            receiver = EntryReceiver(connection)
        except (LDAPException, OSError, struct.error) as exc:
            raise self._fail("cannot connect", exc) from None
        try:
            if settings.start_tls:
                connection.start_tls()
            if not connection.bind():
                result = connection.result or {}
                raise self._fail("bind refused", result.get("description", "unknown reason"))
        except (LDAPException, OSError, struct.error) as exc:
            connection.unbind()
            raise self._fail("cannot connect", exc) from None
        return connection, receiver

    def search(self, base: str, filter_: str, attributes: Sequence[str]) -> list[Entry]:
        """All entries under ``base`` matching ``filter_``, page after page."""
        return self.search_as(base, filter_, attributes, _same)

    def search_as(
        self,
        base: str,
        filter_: str,
        attributes: Sequence[str],
        convert: Callable[[Entry], T],
    ) -> list[T]:
        """Like :meth:`search`, converting each entry as it arrives (raw entries are not kept).

        ``convert`` runs in this thread, while the server prepares the rest of
        the page.
        """
        connection, receiver = self._connect()
        entries: list[T] = []
        append = entries.append

        def take(entry: Entry) -> None:
            append(convert(entry))

        receiver.sink = take
        cookie: bytes | None = None
        try:
            try:
                search = PagedSearch(
                    connection,
                    base,
                    filter_,
                    attributes,
                    page_size=self.settings.page_size,
                    time_limit=int(self.settings.timeout),
                )
            except (LDAPException, ValueError) as exc:
                raise self._fail("bad search filter", exc) from None
            while True:
                try:
                    with connection.connection_lock:
                        connection.post_send_search(search.send(cookie))
                except (LDAPException, OSError, struct.error) as exc:
                    raise self._fail("search failed", exc) from None
                # SYNC, not SAFE_SYNC: each thread has its own connection, and
                # SAFE_SYNC deep-copies every response.
                result: dict[str, Any] = connection.result or {}
                code = result.get("result", 0)
                if code != 0:
                    raise self._fail(
                        f"search under {base} failed", f"{result.get('description')} ({code})"
                    )
                cookie = _cookie(result)
                if not cookie:
                    return entries
        finally:
            connection.unbind()


def _same(entry: Entry) -> Entry:
    return entry


def _cookie(result: dict[str, Any]) -> bytes | None:
    control = (result.get("controls") or {}).get(PAGED_RESULTS_OID)
    if not control:
        return None
    cookie: bytes | None = control.get("value", {}).get("cookie")
    return cookie or None
