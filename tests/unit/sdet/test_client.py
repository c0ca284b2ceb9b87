"""TLS is checked by default; the bind password never shows."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from farm.secrets import Secret
from farm.sources import SourceError
from farm.sources.sdet import DirectorySettings
from farm.sources.sdet.client import DirectoryClient

BASES = {"people_base": "ou=people,dc=x", "structures_base": "ou=structures,dc=x"}


def test_ldaps_checks_certificates_by_default(tmp_path: Path) -> None:
    ca_file = tmp_path / "ent.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    settings = DirectorySettings(url="ldaps://ent.example.fr", ca_file=str(ca_file), **BASES)

    server = DirectoryClient("ent", settings, None)._server

    assert server.ssl
    assert server.port == 636
    assert server.tls.validate == ssl.CERT_REQUIRED
    assert server.tls.ca_certs_file == str(ca_file)


def test_a_missing_ca_file_is_a_source_error_naming_it() -> None:
    settings = DirectorySettings(url="ldaps://ent.example.fr", ca_file="/nowhere/ent.pem", **BASES)

    with pytest.raises(
        SourceError, match=r"directory ent \(ldaps://ent.example.fr\): .*/nowhere/ent.pem"
    ):
        DirectoryClient("ent", settings, None)


def test_start_tls_checks_certificates_unless_told_not_to() -> None:
    checked = DirectorySettings(url="ldap://ent.example.fr:389", start_tls=True, **BASES)
    unchecked = checked.model_copy(update={"verify_certificates": False})

    assert DirectoryClient("ent", checked, None)._server.tls.validate == ssl.CERT_REQUIRED
    assert DirectoryClient("ent", unchecked, None)._server.tls.validate == ssl.CERT_NONE


def test_errors_mask_the_password_even_if_a_library_echoes_it() -> None:
    settings = DirectorySettings(url="ldap://ent.example.fr", bind_dn="cn=x", **BASES)
    client = DirectoryClient("ent", settings, Secret("hunter2"))

    error = client._fail("bind refused", "invalid credentials for hunter2")

    assert (
        str(error)
        == "directory ent (ldap://ent.example.fr): bind refused: invalid credentials for ***"
    )
