"""Notes of runs the registry could not finish: whole or absent, one registry's own."""

from __future__ import annotations

from pathlib import Path

from farm.engine.unfinished import NOTES, UnfinishedRun, note_path, pending_notes, write_note
from farm.registry import RefusedRecord, ReportWarning, RunId, RunStatus, TenantReport, TenantStatus

REGISTRY = "postgresql+psycopg://farm:***@db.example.org:5432/farm"


def report(tenant: str) -> TenantReport:
    return TenantReport(
        tenant=tenant,
        site="lycee-a",
        status=TenantStatus.FAILED,
        reason="registry: cannot reach the registry",
        counts={"person": {"create": 20}},
        errors=(RefusedRecord(key="sdet:x", reason="refused", entity="person"),),
        warnings=(ReportWarning(message="look", key="sdet:y"),),
        durations={"read": 1.5},
        operations=("create sdet:z",),
    )


def test_a_note_keeps_the_run_and_its_reports(tmp_path: Path) -> None:
    note = UnfinishedRun(
        registry=REGISTRY,
        run_id=RunId(7),
        status=RunStatus.FAILED,
        reason="cannot reach the registry",
        reports=(report("0330001K"), report("0330002L")),
        host="cron-1",
        pid=4242,
    )

    path = write_note(tmp_path, note)

    assert path == note_path(tmp_path, REGISTRY, 7)
    assert path.parent == tmp_path / NOTES
    assert not list(path.parent.glob("*.partial"))
    assert pending_notes(tmp_path, REGISTRY) == [(path, note)]


def test_notes_of_another_registry_and_broken_notes_are_left_alone(tmp_path: Path) -> None:
    other = UnfinishedRun("sqlite:////srv/farm/other.sqlite", RunId(3), RunStatus.FAILED, "x")
    write_note(tmp_path, other)
    ours = UnfinishedRun(REGISTRY, RunId(9), RunStatus.INTERRUPTED, "y")
    write_note(tmp_path, ours)
    broken = note_path(tmp_path, REGISTRY, 8)
    broken.write_text("{not json", "utf-8")

    assert [note for _, note in pending_notes(tmp_path, REGISTRY)] == [ours]
    assert [note for _, note in pending_notes(tmp_path, other.registry)] == [other]


def test_a_folder_that_refuses_the_note_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("a file where the folder should be")
    note = UnfinishedRun(REGISTRY, RunId(1), RunStatus.FAILED, "z")

    assert write_note(tmp_path, note) is None
    assert pending_notes(tmp_path, REGISTRY) == []


def test_a_registry_is_the_same_whether_its_password_was_in_the_url(tmp_path: Path) -> None:
    note = UnfinishedRun(REGISTRY, RunId(4), RunStatus.FAILED, "gone")
    write_note(tmp_path, note)

    without = REGISTRY.replace(":***@", "@")  # PGPASSWORD or ~/.pgpass this time
    assert [found for _, found in pending_notes(tmp_path, without)] == [note]
