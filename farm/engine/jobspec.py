"""The arguments of one sync job: plain, serialisable values only.

A job syncs the selected tenants of one Moodle site. Its arguments travel
through a procrastinate queue as JSON when the farm runs distributed, so
nothing here holds a connection, a secret or a live object: the worker
rebuilds clients and sources from the farm configuration by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Sync ``tenants`` of ``site`` within run ``run_id``.

    ``options`` holds the operator's plan options by name (see
    :func:`farm.engine.job.plan_options_from`), e.g. ``{"simulate": True,
    "entities": ["users", "cohorts"], "person": "F1700ivg"}``. ``trigger`` is
    ``batch``, ``targeted`` or ``schedule``.
    """

    run_id: int
    site: str
    tenants: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    trigger: str = "batch"

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "site": self.site,
            "tenants": list(self.tenants),
            "options": dict(self.options),
            "trigger": self.trigger,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        return cls(
            run_id=int(data["run_id"]),
            site=str(data["site"]),
            tenants=tuple(str(t) for t in data["tenants"]),
            options=dict(data.get("options") or {}),
            trigger=str(data.get("trigger", "batch")),
        )
