"""Entries larger than one socket read, many small pages, schools split over searches."""

from __future__ import annotations

import anyio
import pytest

from farm.simulators.directory import generate
from farm.sources import ReadRequest
from farm.sources.sdet import SdetSource
from tests.fixtures.slapd import SlapdFactory
from tests.integration.sdet.conftest import rename_given_name, settings_for

pytestmark = pytest.mark.slapd

LONG_NAME = "Zoé-Éloïse " * 20_000  # about 260 KB of UTF-8: several reads of the socket


async def test_a_huge_entry_among_many_small_pages_reads_whole(
    slapd_factory: SlapdFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = generate(3, 150, seed=5)
    ldif = directory.write_ldif(tmp_path_factory.mktemp("large") / "large.ldif")
    server = await anyio.to_thread.run_sync(
        lambda: slapd_factory(suffix=directory.suffix, ldif_files=[ldif], name="large")
    )
    uais = tuple(e.uai for e in directory.establishments)
    student = next(p for p in directory.people_of(uais[0]).values() if "student" in p.kinds)
    await anyio.to_thread.run_sync(
        rename_given_name, server.url, server.admin_dn, server.admin_password, student.dn, LONG_NAME
    )
    # Two connections for three schools: every family is read in two searches.
    settings = settings_for(server, directory.suffix, page_size=7, connections=2)

    result = await SdetSource("ent-large", settings).read(ReadRequest(tenants=uais))

    for uai in uais:
        people = {p.source_key: p for p in result.snapshots[uai].people}
        assert set(people) == {f"sdet:{uid}" for uid in directory.people_of(uai)}, uai
    people = {p.source_key: p for p in result.snapshots[uais[0]].people}
    assert people[f"sdet:{student.uid}"].firstname == LONG_NAME.strip()
