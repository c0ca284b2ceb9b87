"""Sources pointed at the test servers."""

from __future__ import annotations

from typing import Any

import pytest
from ldap3 import MODIFY_REPLACE, Connection, Server

from farm.simulators.directory import GeneratedDirectory
from farm.simulators.slapd import Slapd
from farm.sources.sdet import DirectorySettings, SdetSource


def settings_for(server: Slapd, suffix: str, **extra: Any) -> DirectorySettings:
    values: dict[str, Any] = {
        "url": server.url,
        "people_base": f"ou=people,{suffix}",
        "structures_base": f"ou=structures,{suffix}",
        "page_size": 200,
        **extra,
    }
    return DirectorySettings.model_validate(values)


@pytest.fixture
def sample_source(slapd_sample: Slapd, monkeypatch: pytest.MonkeyPatch) -> SdetSource:
    """The sample directory read as its administrator, password from the environment."""
    monkeypatch.setenv("FARM_TEST_SDET_PASSWORD", slapd_sample.admin_password)
    settings = settings_for(
        slapd_sample,
        "dc=esco-centre,dc=fr",
        bind_dn=slapd_sample.admin_dn,
        bind_password="env:FARM_TEST_SDET_PASSWORD",
    )
    return SdetSource("ent-sample", settings)


@pytest.fixture
def generated_source(slapd_generated: Slapd, generated_directory: GeneratedDirectory) -> SdetSource:
    """The generated directory read anonymously (the server caps plain searches at 500)."""
    return SdetSource("ent-generated", settings_for(slapd_generated, generated_directory.suffix))


def rename_given_name(url: str, admin: str, password: str, dn: str, given_name: str) -> None:
    """Change one entry's givenName as the directory's administrator (blocking: use a thread)."""
    with Connection(Server(url), admin, password, auto_bind=True) as connection:
        connection.modify(dn, {"givenName": [(MODIFY_REPLACE, [given_name])]})  # type: ignore[no-untyped-call]
        assert connection.result["result"] == 0, connection.result
