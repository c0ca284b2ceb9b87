"""The drill-down, the plan dialog, the log pane, watch-only and the screenshot (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Static

from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, SyncRequest
from farm.engine.wiring import client_provider
from farm.registry import RunId, RunStatus, RunTrigger, TenantReport, TenantStatus
from farm.tui.app import FarmDashboard
from farm.tui.detail import TenantScreen
from farm.tui.dialogs import HelpScreen, PlanScreen
from tests.tui.conftest import SIZE, DashFarm
from tests.tui.test_pilot import until

TENANT, SITE = "0310024H", "lycee-bellevue"


def record(
    dash_farm: DashFarm, status: TenantStatus, *, simulated: bool = False, reason: str = ""
) -> int:
    """One run of the tenant, written through the registry as any process would."""
    registry = dash_farm.registry
    run = registry.start_run(
        trigger=RunTrigger.TARGETED, selection={"tenants": [TENANT]}, simulated=simulated
    )
    report = TenantReport(
        tenant=TENANT,
        site=SITE,
        status=status,
        reason=reason or None,
        counts={"person": {"create": 2}} if status is TenantStatus.SUCCEEDED else {},
        simulated=simulated,
    )
    registry.record_tenant_report(run, report)
    registry.finish_run(
        run, RunStatus.SUCCEEDED if status is TenantStatus.SUCCEEDED else RunStatus.FAILED
    )
    return run


async def open_drill_down(app: FarmDashboard, pilot: object) -> TenantScreen:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await until(pilot, lambda: app.loaded)
    await pilot.press("enter")
    await until(
        pilot, lambda: isinstance(app.screen, TenantScreen) and app.screen.detail is not None
    )
    screen = app.screen
    assert isinstance(screen, TenantScreen)
    return screen


def report_text(screen: TenantScreen) -> str:
    console = Console(width=120, record=True)
    console.print(screen.query_one("#report", Static).content)
    return console.export_text()


async def test_it_opens_the_last_real_run_and_any_run_of_the_history(dash_farm: DashFarm) -> None:
    real = record(dash_farm, TenantStatus.SUCCEEDED)
    simulation = record(dash_farm, TenantStatus.SUCCEEDED, simulated=True)
    record(dash_farm, TenantStatus.SKIPPED, reason="site:lycee-bellevue is held by web7:1:x")
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_drill_down(app, pilot)
        assert screen.shown_run == real  # not the refusal, not the simulation after it
        assert f"Run {real}: succeeded" in report_text(screen)
        history = screen.query_one("#history", DataTable)
        assert history.row_count == 3
        assert app.focused is history
        await pilot.press("down", "enter")  # newest first: the refusal, then the simulation
        assert screen.shown_run == simulation
        assert "(simulation)" in report_text(screen)
        assert str(history.get_row_at(1)[0]).startswith("▶")


async def test_r_and_s_work_inside_the_drill_down(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_drill_down(app, pilot)
        assert "never synced" in report_text(screen)
        await pilot.press("r")
        await until(pilot, lambda: screen.shown_run is not None, seconds=30)
        assert dash_farm.accounts(SITE) == 5
        assert "Run 1: succeeded" in report_text(screen)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), seconds=30)
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert plan.report.run.simulated
        # Nothing changed since the sync: an empty plan offers no "apply".
        assert plan.total == 0
        assert not plan.applicable
        assert "Nothing to change" in str(plan.query_one("#plan-keys", Static).render())
        await pilot.press("y")
        assert app.screen is plan  # y does nothing on an empty plan
        await pilot.press("escape")
        back: object = app.screen
        assert back is screen


async def test_a_refused_plan_offers_no_apply(dash_farm: DashFarm) -> None:
    run = record(
        dash_farm, TenantStatus.FAILED, simulated=True, reason="safety stop: 80% would be suspended"
    )
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        answers: list[bool | None] = []
        plan = PlanScreen(dash_farm.registry.get_report(RunId(run)))
        app.push_screen(plan, answers.append)
        await pilot.pause()
        assert not plan.applicable
        assert "Refused for 0310024H" in str(plan.query_one("#plan-keys", Static).render())
        await pilot.press("y")
        assert app.screen is plan
        await pilot.press("escape")
        assert answers == [False]


async def test_the_log_pane_opens_with_the_recent_runs(dash_farm: DashFarm) -> None:
    async with EventBus(dash_farm.registry) as bus:
        coordinator = Coordinator(
            farm=dash_farm.farm,
            registry=dash_farm.registry,
            events=bus,
            sources=dash_farm.sources(dash_farm.farm),
            clients=client_provider(transport=dash_farm.sim.transport()),
        )
        await coordinator.run(SyncRequest(tenants=tuple(dash_farm.farm.tenants.values())))
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("l")
        lines = list(app.log_pane.lines)
        assert any("run 1 started: 3 tenants" in line for line in lines)
        assert any("run 1 finished: succeeded" in line for line in lines)


async def test_watch_only_shows_no_action_key(dash_farm: DashFarm) -> None:
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        footer = {getattr(k, "action", "") for k in app.screen.query("FooterKey")}
        assert "filter" in footer
        assert not footer & {"resync", "simulate", "cancel", "sync_tag", "sync_all"}
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert not titles & {"Re-sync", "Simulate", "Cancel run", "Sync a tag", "Sync all"}
        assert "watch only" in app.sub_title
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(s.render()) for s in app.screen.query(Static))
        assert "re-sync" not in text
        assert "Watch-only" in text
        await pilot.press("escape", "enter")
        await until(pilot, lambda: isinstance(app.screen, TenantScreen))
        await pilot.pause(0.3)
        inner = {getattr(k, "action", "") for k in app.screen.query("FooterKey")}
        assert "back" in inner
        assert not inner & {"resync", "simulate"}


async def test_the_palette_screenshot_saves_under_the_farm_folder_without_downloads(
    dash_farm: DashFarm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/Downloads here
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        (command,) = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        command.callback()
        folder = dash_farm.farm.root / "screenshots"
        await until(pilot, lambda: folder.is_dir() and any(folder.glob("*.svg")))
        (saved,) = folder.glob("*.svg")
        notes = [n.message for n in app._notifications]
        assert any(str(saved) in note for note in notes)
    assert not (home / "Downloads").exists()


async def test_y_on_a_plan_applies_the_stored_plan_itself(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), seconds=30)
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert plan.applicable
        simulated = plan.report.run.id
        await pilot.press("y")
        commander = app.commander
        assert commander is not None
        await until(pilot, lambda: len(dash_farm.registry.list_runs()) == 2, seconds=30)
        await until(pilot, lambda: not commander.busy, seconds=30)
        applied, _ = dash_farm.registry.list_runs()
        assert applied.selection["applies"] == simulated  # farm apply RUN, not a new sync
        assert applied.selection["from"] == "dashboard"
        assert applied.status is RunStatus.SUCCEEDED
        assert dash_farm.accounts(SITE) == 5
        with pytest.raises(ValueError, match="already applied"):
            await commander.apply(simulated)


async def test_the_drill_down_shows_the_tenant_s_journal_and_one_person_s(
    dash_farm: DashFarm,
) -> None:
    app = dash_farm.app()
    async with app.run_test(size=(140, 60)) as pilot:
        screen = await open_drill_down(app, pilot)
        assert screen.journal == []
        await pilot.press("r")
        await until(pilot, lambda: len(screen.journal) >= 5, seconds=30)
        people = [e for e in screen.journal if e.entity == "person" and e.action == "create"]
        assert len(people) == 5
        assert all(TENANT in e.tenants for e in screen.journal)
        screen.query_one("#person", Input).focus()
        await pilot.press(*"0310024h3", "enter")
        await until(pilot, lambda: len(screen.journal) < 5)
        assert {e.person for e in screen.journal} == {"sdet:0310024H3"}
        title = str(screen.query_one("#journal-title", Static).render())
        assert "Journal of 0310024h3" in title
