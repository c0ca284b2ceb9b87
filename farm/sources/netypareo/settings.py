"""Settings of one NetYpareo endpoint, as written in ``farm.toml`` (``[netypareo.NAME]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from farm.secrets import SecretReference


class NetYpareoSettings(BaseModel):
    """One customer's NetYpareo web service; each of its sites is a tenant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wsdl: str = Field(description="URL of the customer's WSDL, or a path to a pinned copy")
    endpoint: str | None = Field(None, description="service address, when not the WSDL's")
    token: SecretReference | None = Field(None, description="env:NAME or file:PATH")
    timeout: float = Field(60.0, gt=0, description="seconds per SOAP call")
    retries: int = Field(5, ge=0, le=20, description="attempts after a 502/503 or transport error")
    operations: dict[str, str] = Field(
        default_factory=dict, description="operation names, when they differ from the defaults"
    )
