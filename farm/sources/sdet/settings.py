"""Settings of one ENT LDAP directory, as written in ``farm.toml`` (``[directories.NAME]``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from farm.secrets import SecretReference


class DirectorySettings(BaseModel):
    """One SDET directory; many tenants (UAIs) can be read from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="ldap://host:port or ldaps://host:port")
    start_tls: bool = Field(False, description="upgrade ldap:// with StartTLS")
    verify_certificates: bool = Field(True, description="check the server's certificate")
    ca_file: str | None = Field(None, description="PEM bundle of trusted CAs")
    bind_dn: str | None = Field(None, description="DN to bind as; anonymous when absent")
    bind_password: SecretReference | None = Field(None, description="env:NAME or file:PATH")
    people_base: str = Field(description="base DN of people, e.g. ou=people,dc=example,dc=fr")
    structures_base: str = Field(description="base DN of structures")
    timeout: float = Field(30.0, gt=0, description="seconds per LDAP operation")
    page_size: int = Field(500, ge=1, le=10_000, description="entries per paged-search page")
    connections: int = Field(4, ge=1, le=64, description="parallel connections")
    mapping: dict[str, Any] = Field(
        default_factory=dict, description="per-field mapping overrides (see the source docs)"
    )
