"""Building a job's live parts from the farm configuration: sources and Moodle clients.

A :class:`SourceProvider` gives the :class:`~farm.sources.Source` for a
source name (a ``[directories.NAME]`` or a ``[netypareo.NAME]`` of
farm.toml); :class:`Sources` builds each one once per run, so that every job
of the run shares its connection limits and caches, and closes them all at
the end. A :class:`ClientProvider` opens a :class:`~farm.moodle.MoodleClient`
for a site, resolving its token at the last moment. Tests and the demo pass
ready-made sources and an httpx transport (the simulator's) per site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread
import httpx

from farm.config import Farm, SiteConfig
from farm.moodle import MoodleClient
from farm.sources import Source

SourceProvider = Callable[[str], Source]
ClientProvider = Callable[[SiteConfig], AbstractAsyncContextManager[MoodleClient]]


def build_source(farm: Farm, name: str) -> Source:
    """A new Source for ``name``: a directory first, then a NetYpareo endpoint.

    Raises :class:`KeyError` naming the source when farm.toml defines neither.
    """
    if name in farm.directories:
        from farm.sources.sdet import SdetSource

        return SdetSource(name, farm.directories[name])
    if name in farm.netypareo:
        from farm.sources.netypareo import NetYpareoSource, NetYpareoTenant

        tenants = [
            NetYpareoTenant(t.id, t.netypareo_code or "", t.netypareo_index or 0)
            for t in farm.tenants.values()
            if t.kind == "netypareo" and t.source == name
        ]
        return NetYpareoSource(name, farm.netypareo[name], tenants)
    raise KeyError(f"farm.toml defines no directory or NetYpareo endpoint named {name!r}")


class Sources:
    """One Source per name for the length of a run; ``given`` ones win over the config's.

    Call it as a :data:`SourceProvider`; :meth:`aclose` closes the sources it built.
    """

    def __init__(self, farm: Farm, given: Mapping[str, Source] | None = None) -> None:
        self.farm = farm
        self._given = dict(given or {})
        self._built: dict[str, Source] = {}

    def __call__(self, name: str) -> Source:
        if name in self._given:
            return self._given[name]
        source = self._built.get(name)
        if source is None:
            source = self._built[name] = build_source(self.farm, name)
        return source

    async def aclose(self) -> None:
        built, self._built = self._built, {}
        for source in built.values():
            await source.aclose()


def client_provider(
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ClientProvider:
    """Open clients with the site's URL, token and limits.

    ``transports`` maps a site name to the httpx transport to use for it
    (the simulator's in-process one, a fault injector); ``transport`` is
    the default for the others; None means real network connections. The
    token is resolved when the client opens: a missing variable or file
    raises :class:`farm.secrets.SecretError` naming the reference.
    """
    chosen = dict(transports or {})

    @asynccontextmanager
    async def open_client(site: SiteConfig) -> AsyncIterator[MoodleClient]:
        # A file: reference reads a file; keep that off the event loop.
        token = await anyio.to_thread.run_sync(site.token.resolve)
        client = MoodleClient(
            site.name, site.url, token, site.limits, transport=chosen.get(site.name, transport)
        )
        async with client:
            yield client

    return open_client
