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

from farm.options import RunOptions


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Sync ``tenants`` of ``site`` within run ``run_id``.

    ``options`` are the run's, as the operator gave them
    (:class:`farm.options.RunOptions`); each site's defaults apply in the job.
    ``trigger`` is ``batch``, ``targeted`` or ``schedule``. :meth:`to_json`
    and :meth:`from_json` carry it through the procrastinate queue.
    """

    run_id: int
    site: str
    tenants: tuple[str, ...]
    options: RunOptions = field(default_factory=RunOptions)
    trigger: str = "batch"

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "site": self.site,
            "tenants": list(self.tenants),
            "options": self.options.to_json(),
            "trigger": self.trigger,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        """The spec :meth:`to_json` wrote; :class:`ValueError` names a bad option."""
        return cls(
            run_id=int(data["run_id"]),
            site=str(data["site"]),
            tenants=tuple(str(t) for t in data["tenants"]),
            options=RunOptions.from_mapping(data.get("options") or {}),
            trigger=str(data.get("trigger", "batch")),
        )
