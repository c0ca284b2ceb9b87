"""Settings of one ENT LDAP directory, as written in ``farm.toml`` (``[directories.NAME]``)."""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from farm.secrets import SecretReference
from farm.sources.sdet.course_rules import CourseRules
from farm.sources.sdet.family_rules import Families
from farm.sources.sdet.group_rules import CohortGroups
from farm.sources.sdet.mapping import MappingRules


class DirectorySettings(BaseModel):
    """One SDET directory; many tenants (UAIs) can be read from it.

    ``mapping`` is a table of typed rules (:class:`MappingRules`); leaving it
    out fits a plain SDET directory.
    """

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
    mapping: MappingRules = Field(
        default_factory=MappingRules, description="per-field mapping rules (see the source docs)"
    )
    families: Families = Field(
        default_factory=Families, description="object classes and filters of each family of people"
    )
    cohort_groups: CohortGroups = Field(
        default=(), description="groups kept as entries or named on people that become cohorts"
    )
    courses: CourseRules = Field(
        default_factory=CourseRules,
        description="enrolments, course groups and role assignments by declared rules",
    )
    delta_margin: float = Field(
        300.0, ge=0, description="seconds subtracted from the bookmark of a delta read"
    )
    structures_ttl: float = Field(
        300.0, ge=0, description="seconds the structure map read at the start of a run is reused"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        parts = urlsplit(self.url)
        scheme = parts.scheme.lower()
        if scheme not in ("ldap", "ldaps"):
            raise ValueError(f"url {self.url!r} must start with ldap:// or ldaps://")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"url {self.url!r} has a malformed port") from None
        if not parts.hostname or (port is not None and not 0 < port < 65536):
            raise ValueError(f"url {self.url!r} needs a host (and an optional port)")
        if scheme == "ldaps" and self.start_tls:
            raise ValueError("start_tls applies to ldap:// URLs; ldaps:// is already TLS")
        if self.bind_password is not None and self.bind_dn is None:
            raise ValueError("bind_password is set but bind_dn is not")
        return self
