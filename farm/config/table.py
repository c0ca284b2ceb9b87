"""The base of every table of the farm's TOML files: ``[farm]``, ``[site]``, ``[notify.email]``...

A key the model does not know is refused (a typo must not be silently
ignored), and a loaded value is frozen: settings do not change under a run.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Table(BaseModel):
    """A TOML table: unknown keys refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
