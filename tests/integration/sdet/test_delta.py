"""Delta reads: only entries changed since the bookmark, with a safety margin, in UTC."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from farm.model import Profile
from farm.simulators.directory import generate
from farm.sources import ReadRequest
from farm.sources.sdet import SdetSource
from tests.fixtures.slapd import SlapdFactory
from tests.integration.sdet.conftest import rename_given_name, settings_for

pytestmark = pytest.mark.slapd


async def test_delta_reads_only_changed_entries(
    slapd_factory: SlapdFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = generate(2, 200, seed=11)
    ldif = directory.write_ldif(tmp_path_factory.mktemp("delta") / "delta.ldif")
    server = await anyio.to_thread.run_sync(
        lambda: slapd_factory(suffix=directory.suffix, ldif_files=[ldif], name="delta")
    )
    uai = directory.establishments[0].uai
    source = SdetSource("ent-delta", settings_for(server, directory.suffix, delta_margin=0))

    full = await source.read(ReadRequest(tenants=(uai,)))
    assert full.bookmark is not None
    assert full.bookmark.utcoffset() == timedelta(0)
    assert full.snapshots[uai].complete

    unchanged = await source.read(
        ReadRequest(tenants=(uai,), since=full.bookmark + timedelta(seconds=1))
    )
    assert unchanged.snapshots[uai].people == ()
    assert not unchanged.snapshots[uai].complete
    assert unchanged.bookmark == full.bookmark + timedelta(seconds=1)

    await anyio.sleep(1.1)  # modifyTimestamp counts whole seconds
    student = next(p for p in directory.people_of(uai).values() if "student" in p.kinds)
    await anyio.to_thread.run_sync(
        rename_given_name, server.url, server.admin_dn, server.admin_password, student.dn, "Renée"
    )
    delta = await source.read(
        ReadRequest(tenants=(uai,), since=full.bookmark + timedelta(seconds=1))
    )

    snapshot = delta.snapshots[uai]
    assert [(p.source_key, p.firstname) for p in snapshot.people] == [
        (f"sdet:{student.uid}", "Renée")
    ]
    assert not snapshot.complete
    assert delta.bookmark is not None
    assert delta.bookmark > full.bookmark


async def test_safety_margin_reaches_back_before_the_bookmark(
    slapd_factory: SlapdFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = generate(1, 60, seed=12)
    ldif = directory.write_ldif(tmp_path_factory.mktemp("margin") / "margin.ldif")
    server = await anyio.to_thread.run_sync(
        lambda: slapd_factory(suffix=directory.suffix, ldif_files=[ldif], name="margin")
    )
    uai = directory.establishments[0].uai
    source = SdetSource("ent-margin", settings_for(server, directory.suffix, delta_margin=600))

    full = await source.read(ReadRequest(tenants=(uai,)))
    assert full.bookmark is not None
    # Everything was loaded moments ago: a bookmark five minutes later still
    # sees it all through the ten-minute margin.
    later = await source.read(
        ReadRequest(tenants=(uai,), since=full.bookmark + timedelta(minutes=5))
    )

    seen = {p.source_key for p in later.snapshots[uai].people}
    # Parents attached to no school of the tenant are reached through their
    # children only on full reads; everyone else is in the delta.
    others = {p.source_key for p in full.snapshots[uai].people if Profile.PARENT not in p.profiles}
    assert others <= seen
    assert len(seen) > 40
