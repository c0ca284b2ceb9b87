"""The ENT directory source: reads an SDET LDAP directory into tenant snapshots.

One :class:`SdetSource` serves every tenant (UAI) of one directory. A read
fetches the structure map (cached for ``structures_ttl`` seconds so that a
run touching many sites reads it once), then paged searches per family of
people (students, teachers, staff, parents), each with an OR over a share of
the requested UAIs, all in worker threads bounded by ``connections``.
Entries become facts as they arrive, in those threads; the snapshots are
built in a worker thread too, so a large read never stalls the event loop.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial

import anyio

from farm.model import TenantSnapshot
from farm.secrets import Secret, SecretError
from farm.sources import ReadRequest, ReadResult, SourceError
from farm.sources.sdet.client import DirectoryClient
from farm.sources.sdet.entries import Entry, canonical_dn, newest_timestamp
from farm.sources.sdet.filters import (
    STRUCTURES_FILTER,
    Family,
    entries_filter,
    families,
    family_filter,
    person_filter,
)
from farm.sources.sdet.groups import GroupFacts, GroupReader
from farm.sources.sdet.mapping import MappingRules
from farm.sources.sdet.people import PERSON_ATTRIBUTES, PersonFacts, PersonReader
from farm.sources.sdet.settings import DirectorySettings
from farm.sources.sdet.snapshots import build_snapshots
from farm.sources.sdet.structures import (
    STRUCTURE_ATTRIBUTES,
    Structure,
    StructureMap,
    build_structure_map,
)

# Filters stay well under servers' request size limits (OpenLDAP: 256 KiB by default).
PARENTS_PER_SEARCH = 200
# Schools OR-ed in one search of a family. The server tests an entry against
# the clauses one by one, so fewer per search means less work per entry.
UAIS_PER_SEARCH = 20


class SdetSource:
    """An SDET directory as a :class:`~farm.sources.Source`.

    ``ReadRequest.options`` may override the cohort scheme for one read:
    ``cohort_prefix`` (the farm prefix, default from the mapping, ``farm:``)
    and ``cohort_year`` (the yearly part, e.g. ``2026``).
    """

    def __init__(self, name: str, settings: DirectorySettings) -> None:
        self._name = name
        self.settings = settings
        self._limiter = anyio.CapacityLimiter(settings.connections)
        self._structures: StructureMap | None = None
        self._structures_read_at = 0.0
        self._structures_lock = anyio.Lock()
        self._families = families(settings.families)
        by_name = {family.name: family for family in self._families}
        self._students, self._parents = by_name["students"], by_name["parents"]
        # The object classes that say a profile: those of the families found by
        # class alone (a family with a filter may share a class with others).
        self._class_profiles = tuple(
            (name.lower(), family.profile)
            for family in self._families
            if not family.extra and family.profile is not None
            for name in family.object_classes
        )

    @property
    def name(self) -> str:
        return self._name

    def _client(self) -> DirectoryClient:
        password: Secret | None = None
        if self.settings.bind_password is not None:
            try:
                password = self.settings.bind_password.resolve()
            except SecretError as exc:
                raise SourceError(
                    f"directory {self._name} ({self.settings.url}): bind password: {exc}"
                ) from None
        return DirectoryClient(self._name, self.settings, password)

    async def _search(
        self, client: DirectoryClient, base: str, filter_: str, attributes: Sequence[str]
    ) -> list[Entry]:
        return await anyio.to_thread.run_sync(
            client.search, base, filter_, attributes, limiter=self._limiter
        )

    async def structures(self, client: DirectoryClient | None = None) -> StructureMap:
        """The structure map, read at most once per ``structures_ttl`` seconds."""
        async with self._structures_lock:
            age = time.monotonic() - self._structures_read_at
            if self._structures is None or age > self.settings.structures_ttl:
                if client is None:
                    # Resolving the bind password may read a file: not on the event loop.
                    client = await anyio.to_thread.run_sync(self._client)
                entries = await self._search(
                    client,
                    self.settings.structures_base,
                    STRUCTURES_FILTER,
                    STRUCTURE_ATTRIBUTES,
                )
                self._structures = await anyio.to_thread.run_sync(build_structure_map, entries)
                self._structures_read_at = time.monotonic()
            return self._structures

    def _rules(self, request: ReadRequest) -> MappingRules:
        rules = self.settings.mapping
        if request.cohort_year is None:
            return rules
        year = request.cohort_year or None
        return rules.model_copy(update={"cohorts": rules.cohorts.model_copy(update={"year": year})})

    async def read(self, request: ReadRequest) -> ReadResult:
        """Snapshots of ``request.tenants``; :class:`SourceError` when the directory fails."""
        started = datetime.now(UTC)
        rules = self._rules(request)
        client = await anyio.to_thread.run_sync(self._client)
        structures = await self.structures(client)
        wanted = [tenant.strip().upper() for tenant in request.tenants]
        missing = [tenant for tenant in wanted if tenant not in structures.by_uai]
        if missing:
            raise SourceError(
                f"directory {self._name} ({self.settings.url}): no establishment with UAI "
                f"{', '.join(missing)} under {self.settings.structures_base}"
            )
        targets = [structures.by_uai[tenant] for tenant in wanted]
        since = None
        if request.since is not None:
            since = request.since - timedelta(seconds=self.settings.delta_margin)
        courses = self.settings.courses
        tables = self.settings.cohort_groups
        member_of = [t.person_attribute for t in tables if t.person_attribute is not None]
        attributes = sorted(
            {*PERSON_ATTRIBUTES, *rules.attributes(), *courses.attributes(), *member_of}
        )
        people = PersonReader(
            structures,
            rules,
            member_of=member_of,
            family_profiles=self._class_profiles,
            today=request.run_date,
        )
        read = _Reader(self, client, attributes, people)
        readers = [GroupReader(at, table, structures) for at, table in enumerate(tables)]
        groups: list[GroupFacts] = []

        async def read_groups(reader: GroupReader) -> None:
            table = reader.rules
            assert table.base is not None
            entries = await anyio.to_thread.run_sync(
                client.search_as,
                table.base,
                table.filter,
                table.group_attributes(),
                reader,
                limiter=self._limiter,
            )
            groups.extend(g for g in entries if g is not None)

        if request.person is not None:
            async with _first_error(), anyio.create_task_group() as group:
                for reader in readers:
                    if reader.rules.base is not None:
                        group.start_soon(read_groups, reader)
                facts = await read(person_filter(request.person, rules.source_key_prefix))
        else:
            found: dict[tuple[str, int], list[PersonFacts]] = {}

            async def run(family: Family, part: int, chunk: Sequence[Structure]) -> None:
                convert = partial(people, family=family.profile)
                found[family.name, part] = await read(
                    family_filter(family, chunk, since=since), convert
                )

            # Each family is read in several searches over parts of the schools, so
            # that every connection has work until the end and the server tests
            # fewer clauses per entry; a person found twice is kept once below.
            chunks = _chunks(
                targets, max(self.settings.connections, -(-len(targets) // UAIS_PER_SEARCH))
            )
            async with _first_error(), anyio.create_task_group() as group:
                for reader in readers:
                    if reader.rules.base is not None:
                        group.start_soon(read_groups, reader)
                for family in self._families:
                    for part, chunk in enumerate(chunks):
                        group.start_soon(run, family, part, chunk)
            facts = [f for batch in found.values() for f in batch]
            if since is None:
                # A delta read needs no unchanged parent; the next full read links them.
                students = [
                    f
                    for (name, _), batch in found.items()
                    if name == self._students.name
                    for f in batch
                ]
                parents = self._parents
                facts += await _other_parents(
                    read, students, facts, parents, partial(people, family=parents.profile)
                )

        def build() -> tuple[dict[str, TenantSnapshot], datetime | None]:
            # A teacher who is also a parent comes back from two searches: keep one.
            unique: dict[str, PersonFacts] = {}
            for f in facts:
                unique.setdefault(f.key, f)
            # Searches finish in any order: sorted by entry, the warnings come out in the
            # same order from one read to the next, whatever the connections.
            ordered = sorted(unique.values(), key=_by_key)
            snapshots = build_snapshots(
                ordered,
                structures,
                wanted,
                rules,
                cohort_prefix=request.cohort_prefix,
                complete=request.person is None and request.since is None,
                orphan_notes=request.person is not None,
                courses=courses,
                # Searches finish in any order: the groups too are put in one.
                groups=sorted(groups, key=_group_order),
                group_readers=readers,
            )
            return snapshots, newest_timestamp(f.stamp for f in unique.values() if f.stamp)

        snapshots, newest = await anyio.to_thread.run_sync(build)
        by_request = dict(zip(wanted, request.tenants, strict=True))
        # The bookmark never moves backwards: the newest change seen, else where we were.
        marks = [m for m in (newest, request.since) if m is not None]
        bookmark = max(marks) if marks else started
        return ReadResult(
            snapshots={by_request[uai]: snap for uai, snap in snapshots.items()},
            bookmark=bookmark,
        )

    async def aclose(self) -> None:
        """Nothing stays open between reads: connections close after each search."""
        self._structures = None


def _chunks(items: Sequence[Structure], count: int) -> list[list[Structure]]:
    """``items`` dealt into at most ``count`` non-empty lists."""
    count = max(1, min(count, len(items)))
    return [list(items[at::count]) for at in range(count)]


def _by_key(facts: PersonFacts) -> str:
    return facts.key


def _group_order(group: GroupFacts) -> tuple[int, str]:
    return group.table, group.key


class _Reader:
    """One read's searches: people under ``people_base``, turned into facts as they arrive."""

    def __init__(
        self,
        source: SdetSource,
        client: DirectoryClient,
        attributes: Sequence[str],
        convert: Callable[[Entry], PersonFacts],
    ) -> None:
        self.source = source
        self.client = client
        self.attributes = attributes
        self.convert = convert

    async def __call__(
        self, filter_: str, convert: Callable[[Entry], PersonFacts] | None = None
    ) -> list[PersonFacts]:
        return await anyio.to_thread.run_sync(
            self.client.search_as,
            self.source.settings.people_base,
            filter_,
            self.attributes,
            convert or self.convert,
            limiter=self.source._limiter,
        )


async def _other_parents(
    read: _Reader,
    students: Sequence[PersonFacts],
    have: Sequence[PersonFacts],
    parents: Family,
    convert: Callable[[Entry], PersonFacts],
) -> list[PersonFacts]:
    """Parents named by the students' ``ENTEleveParents`` but attached elsewhere.

    A parent whose ``ENTPersonStructRattach`` is another school (or missing)
    still belongs to the schools of their children.
    """
    known = {f.key for f in have}
    wanted: dict[str, str] = {}
    for student in students:
        for value in student.parents:
            with contextlib.suppress(ValueError):
                key = canonical_dn(value)
                if key not in known:
                    wanted.setdefault(key, value)
    dns = sorted(wanted.values())
    batches: list[list[PersonFacts]] = []

    async def fetch(chunk: Sequence[str]) -> None:
        batches.append(await read(entries_filter(parents, chunk), convert))

    async with _first_error(), anyio.create_task_group() as group:
        for at in range(0, len(dns), PARENTS_PER_SEARCH):
            group.start_soon(fetch, dns[at : at + PARENTS_PER_SEARCH])
    return [f for batch in batches for f in batch if f.key in wanted]


@asynccontextmanager
async def _first_error() -> AsyncIterator[None]:
    """Let a task group's :class:`SourceError` out alone, as the protocol promises."""
    try:
        yield
    except BaseExceptionGroup as group:
        matched, _ = group.split(SourceError)
        if matched is None:
            raise
        first: BaseException = matched
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
