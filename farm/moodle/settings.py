"""Per-site limits of the Moodle client, as written in a site's ``[limits]`` table."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MoodleLimits(BaseModel):
    """How hard the farm may push one Moodle site.

    The defaults follow MOODLE-WS.md: batches above about 100 records gain
    nothing, and PHP silently drops form fields past ``max_input_vars``
    (5000 by default), so requests stay well under it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    calls_in_flight: int = Field(4, ge=1, le=64, description="web-service calls in flight")
    records_per_batch: int = Field(100, ge=1, le=1000, description="records per call")
    form_fields_per_request: int = Field(
        4000, ge=50, le=100_000, description="form fields per request, under max_input_vars"
    )
    timeout: float = Field(60.0, gt=0, description="seconds before one call times out")
    retries: int = Field(4, ge=0, le=20, description="attempts after a transient failure")
