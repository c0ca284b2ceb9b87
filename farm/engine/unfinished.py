"""Runs the registry could not finish: a note in the farm folder until the registry answers.

When the registry fails at the end of a run and still fails once the
coordinator's retries are spent, the run stays ``running`` in the registry
and the reports it refused are missing. The coordinator then leaves a note,
``var/unfinished-runs/<registry>-run-<N>.json`` in the farm folder: the
registry (its URL, password masked), the run, the status it ended with, the
registry's reason and the reports the registry refused.

The next run of this farm folder on the same registry settles every note
before it starts: it records the reports, gives the run its status
(``failed``, or ``interrupted`` when the operator had stopped it) with the
reason ``left running by a registry failure: ...``, deletes the note, and
says so in its log and its result: ``run N was left running by a registry
failure: marked failed``. A run another process already finished is left as
it is. Without a note (the folder could not be written either), the run is
marked ``interrupted`` once its process is gone, like after a crash.

A note holds no secret: reports never do. It is written to a temporary file
and renamed, so a note is whole or absent.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from farm.registry import (
    RefusedRecord,
    Registry,
    ReportWarning,
    RunId,
    RunStatus,
    TenantReport,
    TenantStatus,
    UnknownRun,
)

log = structlog.get_logger("farm.unfinished")

#: Where notes live, under the farm folder.
NOTES = Path("var") / "unfinished-runs"

_VERSION = 1


@dataclass(frozen=True)
class UnfinishedRun:
    """A run the registry could not finish, as its note says it."""

    registry: str
    run_id: RunId
    status: RunStatus
    reason: str
    reports: tuple[TenantReport, ...] = ()
    host: str = ""
    pid: int = 0

    @property
    def settled_reason(self) -> str:
        return f"left running by a registry failure: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "registry": self.registry,
            "run": int(self.run_id),
            "status": self.status.value,
            "reason": self.reason,
            "reports": [_report_json(r) for r in self.reports],
            "host": self.host,
            "pid": self.pid,
            "written_at": datetime.now(UTC).isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnfinishedRun:
        return cls(
            registry=str(data["registry"]),
            run_id=RunId(int(data["run"])),
            status=RunStatus(data["status"]),
            reason=str(data["reason"]),
            reports=tuple(_report_of(r) for r in data.get("reports", ())),
            host=str(data.get("host", "")),
            pid=int(data.get("pid", 0)),
        )


def note_path(farm_root: Path, registry_url: str, run_id: int) -> Path:
    """The note of run ``run_id`` of the registry at ``registry_url`` (masked)."""
    return farm_root / NOTES / f"{_registry_key(registry_url)}-run-{int(run_id)}.json"


def write_note(farm_root: Path, note: UnfinishedRun) -> Path | None:
    """Leave ``note`` in the farm folder; None (and a warning) if the folder refuses it."""
    path = note_path(farm_root, note.registry, note.run_id)
    partial = path.with_suffix(".json.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(note.to_json(), indent=2, ensure_ascii=False), "utf-8")
        os.replace(partial, path)
    except OSError as error:
        log.warning("unfinished run not noted", run=note.run_id, path=str(path), error=str(error))
        return None
    return path


def pending_notes(farm_root: Path, registry_url: str) -> list[tuple[Path, UnfinishedRun]]:
    """The notes of this registry in the farm folder, oldest run first."""
    folder = farm_root / NOTES
    if not folder.is_dir():
        return []
    found: list[tuple[Path, UnfinishedRun]] = []
    for path in sorted(folder.glob(f"{_registry_key(registry_url)}-run-*.json")):
        try:
            note = UnfinishedRun.from_json(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("unreadable unfinished-run note", path=str(path), error=str(error))
            continue
        if _same_registry(note.registry, registry_url):
            found.append((path, note))
    return sorted(found, key=lambda item: item[1].run_id)


def settle_unfinished(farm_root: Path, registry: Registry) -> list[str]:
    """Finish the runs the notes of this registry name; return what was done, in words.

    Blocking (call it from a worker thread). Raises the registry's error if
    it still fails: the notes stay for the next run.
    """
    done: list[str] = []
    for path, note in pending_notes(farm_root, registry.url):
        try:
            run = registry.get_run(note.run_id)
        except UnknownRun:
            _forget(path)
            continue
        if run.status is RunStatus.RUNNING:
            for report in note.reports:
                registry.record_tenant_report(note.run_id, report)
            registry.finish_run(note.run_id, note.status, reason=note.settled_reason)
            message = (
                f"run {note.run_id} was left running by a registry failure: "
                f"marked {note.status.value}"
            )
            log.warning(message, run=note.run_id, reason=note.reason)
            done.append(message)
        _forget(path)
    return done


def _forget(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        log.warning("unfinished-run note not removed", path=str(path), error=str(error))


def _registry_key(registry_url: str) -> str:
    return hashlib.sha256(_without_password(registry_url).encode()).hexdigest()[:12]


def _without_password(registry_url: str) -> str:
    # The same registry, whether its password came in the URL (masked) or from elsewhere.
    return registry_url.replace(":***@", "@")


def _same_registry(a: str, b: str) -> bool:
    return _without_password(a) == _without_password(b)


def _report_json(report: TenantReport) -> dict[str, Any]:
    return {
        "tenant": report.tenant,
        "site": report.site,
        "status": TenantStatus(report.status).value,
        "reason": report.reason,
        "counts": {e: dict(a) for e, a in report.counts.items()},
        "errors": [{"key": e.key, "reason": e.reason, "entity": e.entity} for e in report.errors],
        "warnings": [{"message": w.message, "key": w.key} for w in report.warnings],
        "durations": dict(report.durations),
        "simulated": report.simulated,
        "operations": list(report.operations),
    }


def _report_of(data: Mapping[str, Any]) -> TenantReport:
    return TenantReport(
        tenant=str(data["tenant"]),
        site=str(data["site"]),
        status=TenantStatus(data["status"]),
        reason=data.get("reason"),
        counts={str(e): {str(k): int(n) for k, n in a.items()} for e, a in data["counts"].items()},
        errors=tuple(
            RefusedRecord(key=e["key"], reason=e["reason"], entity=e.get("entity"))
            for e in data.get("errors", ())
        ),
        warnings=tuple(
            ReportWarning(message=w["message"], key=w.get("key")) for w in data.get("warnings", ())
        ),
        durations={str(k): float(v) for k, v in data.get("durations", {}).items()},
        simulated=bool(data.get("simulated", False)),
        operations=tuple(str(o) for o in data.get("operations", ())),
    )
