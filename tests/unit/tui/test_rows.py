"""The dashboard's view-model: events folded into rows, filters, sorting and the summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from farm.engine.events import Event, EventKind, Phase
from farm.tui.filter import Filter
from farm.tui.rows import LastReport, RowState, TenantInfo, age_text, flat_counts, progress_text
from farm.tui.view import FarmView

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
TENANTS = (
    TenantInfo("0340041K", "Lycée Clemenceau", "cite-clemenceau", tags=("academie:montpellier",)),
    TenantInfo("0341921D", "Collège Clemenceau", "cite-clemenceau", tags=("academie:montpellier",)),
    TenantInfo("0310024H", "Lycée Bellevue", "lycee-bellevue", tags=("academie:toulouse",)),
)


def phase(run: int, tenant: str, value: Phase, **fields: object) -> Event:
    site = "lycee-bellevue" if tenant == "0310024H" else "cite-clemenceau"
    return Event(run, EventKind.PHASE, site=site, tenant=tenant, phase=value, at=T0, **fields)  # type: ignore[arg-type]


def progress(run: int, tenant: str, done: int, total: int) -> Event:
    return Event(run, EventKind.PROGRESS, tenant=tenant, done=done, total=total, at=T0)


def test_rows_start_from_the_last_reports_and_never_synced_tenants_say_so() -> None:
    view = FarmView(
        TENANTS,
        [LastReport("0340041K", 3, "partial", T0, {"person.create": 4, "errors": 2}, "refused")],
    )
    row = view.rows["0340041K"]
    assert (row.state, row.created, row.errors, row.run_id) == (RowState.PARTIAL, 4, 2, 3)
    assert view.rows["0310024H"].state is RowState.NEVER
    assert view.summary().never == 2


def test_a_run_moves_tenants_through_their_phases_and_counts_land_at_the_end() -> None:
    view = FarmView(TENANTS)
    view.apply(Event(7, EventKind.RUN_STARTED, counts={"tenants": 2}, at=T0))
    view.fold([phase(7, "0340041K", Phase.QUEUED), phase(7, "0341921D", Phase.QUEUED)])
    assert view.summary().queued == 2
    view.fold([phase(7, "0340041K", Phase.APPLYING), progress(7, "0340041K", 25, 100)])
    row = view.rows["0340041K"]
    assert row.state is RowState.RUNNING
    assert row.progress == 0.25
    assert "25%" in progress_text(row)
    assert view.summary().running == 1
    counts = {"person.create": 12, "person.update": 3, "person.suspend": 1, "cohort.create": 2}
    view.apply(phase(7, "0340041K", Phase.SUCCEEDED, counts=counts))
    assert (row.state, row.created, row.updated, row.suspended) == (RowState.SUCCEEDED, 12, 3, 1)
    assert row.last_run_at == T0
    assert view.summary().progress == 0.5
    view.apply(phase(7, "0341921D", Phase.FAILED, message="source ent: unreachable"))
    assert view.rows["0341921D"].message == "source ent: unreachable"
    assert any("unreachable" in line for line in view.take_log())
    view.apply(Event(7, EventKind.RUN_FINISHED, message="partial", at=T0))
    summary = view.summary()
    assert (summary.succeeded, summary.failed, summary.progress) == (1, 1, None)


def test_a_success_with_refused_records_is_partial() -> None:
    view = FarmView(TENANTS)
    view.apply(phase(2, "0310024H", Phase.SUCCEEDED, counts={"person.create": 5, "errors": 1}))
    row = view.rows["0310024H"]
    assert (row.state, row.errors) == (RowState.PARTIAL, 1)


def test_events_of_unknown_tenants_are_ignored_and_only_changed_rows_are_dirty() -> None:
    view = FarmView(TENANTS)
    view.take_dirty()
    view.apply(phase(1, "9999999Z", Phase.READING))
    view.apply(phase(1, "0310024H", Phase.READING))
    assert view.take_dirty() == {"0310024H"}
    assert view.take_dirty() == set()


def test_throughput_counts_operations_applied_between_samples() -> None:
    view = FarmView(TENANTS)
    view.fold([phase(1, "0310024H", Phase.APPLYING), progress(1, "0310024H", 0, 400)])
    view.fold([progress(1, "0310024H", 100, 400), progress(1, "0310024H", 300, 400)])
    assert view.sample(2.0) == 150.0
    assert view.sample(1.0) == 0.0
    assert list(view.throughput)[-2:] == [150.0, 0.0]


def test_filters_match_words_tags_and_states() -> None:
    view = FarmView(TENANTS)
    view.apply(phase(1, "0310024H", Phase.FAILED, message="boom"))
    assert view.visible(Filter.parse("clemenceau")) == ["0340041K", "0341921D"]
    assert view.visible(Filter.parse("tag:academie:toulouse")) == ["0310024H"]
    assert view.visible(Filter.parse("state:failed")) == ["0310024H"]
    assert view.visible(Filter.parse("state:never collège")) == ["0341921D"]
    assert view.visible(Filter.parse("")) == ["0310024H", "0340041K", "0341921D"]


def test_sorting_by_any_column_and_in_reverse() -> None:
    view = FarmView(
        TENANTS,
        [
            LastReport("0340041K", 1, "succeeded", T0, {"person.create": 9}),
            LastReport("0310024H", 2, "succeeded", T0 + timedelta(hours=1), {"person.create": 2}),
        ],
    )
    assert view.visible(sort="created") == ["0341921D", "0310024H", "0340041K"]
    assert view.visible(sort="created", reverse=True)[0] == "0340041K"
    assert view.visible(sort="age") == ["0310024H", "0340041K", "0341921D"]
    assert view.visible(sort="name")[0] == "0341921D"


def test_running_runs_of_tenants_and_helpers() -> None:
    view = FarmView(TENANTS)
    view.apply(phase(4, "0340041K", Phase.READING))
    assert view.running_runs(["0340041K", "0310024H"]) == {4}
    assert age_text(T0, T0 + timedelta(minutes=5)) == "5m"
    assert age_text(None, T0) == "—"
    assert flat_counts({"person": {"create": 2}}, errors=1) == {"person.create": 2, "errors": 1}


def test_sorting_by_state_puts_what_needs_an_operator_first() -> None:
    view = FarmView(
        TENANTS,
        [
            LastReport("0340041K", 1, "succeeded", T0, {}),
            LastReport("0341921D", 1, "partial", T0, {}),
            LastReport("0310024H", 1, "failed", T0, {}),
        ],
    )
    assert view.visible(sort="state") == ["0310024H", "0341921D", "0340041K"]
