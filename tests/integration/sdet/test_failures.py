"""A directory that fails fails its tenants with a clear reason and no snapshot."""

from __future__ import annotations

import pytest

from farm.simulators.slapd import Slapd, free_port
from farm.sources import ReadRequest, SourceError
from farm.sources.sdet import DirectorySettings, SdetSource
from tests.integration.sdet.conftest import settings_for

pytestmark = pytest.mark.slapd

SUFFIX = "dc=esco-centre,dc=fr"


async def test_directory_down_names_the_directory_and_the_reason() -> None:
    url = f"ldap://127.0.0.1:{free_port()}"
    settings = DirectorySettings(
        url=url,
        people_base=f"ou=people,{SUFFIX}",
        structures_base=f"ou=structures,{SUFFIX}",
        timeout=2,
    )
    source = SdetSource("ent-bretagne", settings)

    with pytest.raises(SourceError) as caught:
        await source.read(ReadRequest(tenants=("0999901Z",)))

    message = str(caught.value)
    assert message.startswith(f"directory ent-bretagne ({url}): cannot connect")


async def test_wrong_password_is_refused_without_showing_it(
    slapd_sample: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FARM_TEST_WRONG_PASSWORD", "hunter2-not-it")
    settings = settings_for(
        slapd_sample,
        SUFFIX,
        bind_dn=slapd_sample.admin_dn,
        bind_password="env:FARM_TEST_WRONG_PASSWORD",
    )

    with pytest.raises(SourceError) as caught:
        await SdetSource("ent-sample", settings).read(ReadRequest(tenants=("0999901Z",)))

    assert "bind refused: invalidCredentials" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(settings)


async def test_missing_secret_is_a_source_error(slapd_sample: Slapd) -> None:
    settings = settings_for(
        slapd_sample,
        SUFFIX,
        bind_dn=slapd_sample.admin_dn,
        bind_password="env:FARM_TEST_UNSET_PASSWORD_VARIABLE",
    )

    with pytest.raises(SourceError, match="FARM_TEST_UNSET_PASSWORD_VARIABLE is not set"):
        await SdetSource("ent-sample", settings).read(ReadRequest(tenants=("0999901Z",)))


async def test_unknown_uai_fails_rather_than_returning_an_empty_tenant(
    slapd_sample: Slapd,
) -> None:
    source = SdetSource("ent-sample", settings_for(slapd_sample, SUFFIX))

    with pytest.raises(SourceError, match="no establishment with UAI 0290009C"):
        await source.read(ReadRequest(tenants=("0999901Z", "0290009C")))


async def test_wrong_base_dn_is_a_source_error(slapd_sample: Slapd) -> None:
    source = SdetSource("ent-sample", settings_for(slapd_sample, "dc=elsewhere,dc=fr"))

    with pytest.raises(SourceError, match=r"search under ou=structures,dc=elsewhere,dc=fr failed"):
        await source.read(ReadRequest(tenants=("0999901Z",)))
