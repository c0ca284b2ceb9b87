"""The dashboard driven by Textual's Pilot: navigation, filtering, drill-down and actions.

Actions run the real coordinator on the Moodle simulator; the dashboard sees
their effect the way it sees any run, through the registry.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from farm.engine.bus import EventBus
from farm.engine.coordinator import Coordinator, SyncRequest
from farm.engine.wiring import client_provider
from farm.options import RunOptions
from farm.registry import Registry, RunStatus, RunTrigger, TenantReport, TenantStatus
from farm.tui.app import FarmDashboard
from farm.tui.detail import TenantScreen
from farm.tui.dialogs import ConfirmScreen, PlanScreen
from farm.tui.rows import RowState
from farm.tui.table import TenantTable
from tests.tui.conftest import SIZE, DashFarm


async def until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 20) -> None:
    """Let the app run until ``condition`` holds; fail after ``seconds``."""
    with anyio.fail_after(seconds):
        while not condition():
            await pilot.pause(0.05)


def table(app: FarmDashboard) -> TenantTable:
    return app.query_one(TenantTable)


async def test_the_table_lists_every_tenant_and_enter_opens_the_drill_down(
    dash_farm: DashFarm,
) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        assert table(app).order == ["0310024H", "0340041K", "0341921D"]
        assert table(app).current() == "0310024H"
        await pilot.press("down")
        assert table(app).current() == "0340041K"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TenantScreen))
        screen = app.screen
        assert isinstance(screen, TenantScreen)
        assert screen.tenant.id == "0340041K"
        await until(pilot, lambda: screen.detail is not None)
        report = str(screen.query_one("#report", Static).render())
        assert "never synced" in report
        await pilot.press("escape")
        assert not isinstance(app.screen, TenantScreen)
        assert table(app).current() == "0340041K"


async def test_slash_filters_by_text_tag_and_state_and_escape_clears(
    dash_farm: DashFarm,
) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("slash", *"bellevue")
        assert table(app).order == ["0310024H"]
        field = app.query_one("#filter", Input)
        field.value = "tag:academie:montpellier"
        await pilot.pause()
        assert table(app).order == ["0340041K", "0341921D"]
        field.value = "state:failed"
        await pilot.pause()
        assert table(app).order == []
        await pilot.press("escape")
        assert table(app).order == ["0310024H", "0340041K", "0341921D"]
        assert app.focused is table(app)


async def test_o_sorts_by_the_next_column_and_shift_o_reverses(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("o")  # by name
        assert app.sort == "name"
        assert table(app).order == ["0341921D", "0310024H", "0340041K"]
        await pilot.press("O")
        assert table(app).order == ["0340041K", "0310024H", "0341921D"]


async def test_r_resyncs_the_tenant_under_the_cursor_and_shows_the_result(
    dash_farm: DashFarm,
) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("r")
        row = app.view.rows["0310024H"]
        await until(pilot, lambda: row.state is RowState.SUCCEEDED)
        assert row.created == 5
        assert dash_farm.accounts("lycee-bellevue") == 5
        assert dash_farm.accounts("cite-clemenceau") == 0
        assert app.view.rows["0340041K"].state is RowState.NEVER
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, TenantScreen) and app.screen.detail is not None,
        )
        assert isinstance(app.screen, TenantScreen)
        detail = app.screen.detail
        assert detail is not None
        assert detail.last is not None
        assert detail.last.counts["person"] == {"create": 5}
        assert [p.people for p in detail.history] == [5]


async def test_mass_actions_ask_first_and_no_means_nothing_runs(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("down", "space", "space")
        assert app.marked == {"0340041K", "0341921D"}
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause(0.3)
        assert dash_farm.accounts("cite-clemenceau") == 0
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        rows = app.view.rows.values()
        await until(pilot, lambda: all(r.state is RowState.SUCCEEDED for r in rows))
        assert dash_farm.accounts("cite-clemenceau") == 10
        assert app.marked == set()


async def test_s_simulates_shows_the_plan_and_applies_it_only_when_asked(
    dash_farm: DashFarm,
) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert isinstance(app.screen, PlanScreen)
        plan = app.screen.report
        assert plan.run.simulated
        assert plan.tenants[0].counts["person"] == {"create": 5}
        assert dash_farm.accounts("lycee-bellevue") == 0
        await pilot.press("y")
        row = app.view.rows["0310024H"]
        await until(pilot, lambda: row.state is RowState.SUCCEEDED and not row.simulated)
        assert dash_farm.accounts("lycee-bellevue") == 5


async def test_watch_mode_shows_a_run_started_outside_the_dashboard(dash_farm: DashFarm) -> None:
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        # Another process's run: its own coordinator and bus, sharing only the registry.
        async with EventBus(dash_farm.registry) as bus:
            coordinator = Coordinator(
                farm=dash_farm.farm,
                registry=dash_farm.registry,
                events=bus,
                sources=dash_farm.sources(dash_farm.farm),
                clients=client_provider(transport=dash_farm.sim.transport()),
            )
            tenants = tuple(dash_farm.farm.tenants.values())
            await coordinator.run(SyncRequest(tenants=tenants))
        rows = app.view.rows.values()
        await until(pilot, lambda: all(r.state is RowState.SUCCEEDED for r in rows))
        assert app.view.rows["0340041K"].created == 6
        assert not app.log_pane.has_class("shown")
        await pilot.press("l")
        assert app.log_pane.has_class("shown")
        await until(pilot, lambda: any("finished" in line for line in app.log_pane.lines))
        assert any("run 1 started: 3 tenants" in line for line in app.log_pane.lines)
        await pilot.press("r")  # watch-only: actions are off
        await pilot.pause(0.3)
        assert len(dash_farm.registry.list_runs()) == 1


@pytest.mark.postgres
async def test_watch_mode_on_postgresql_follows_a_run_of_another_registry_connection(
    dash_farm_pg: DashFarm, postgres_url: str
) -> None:
    """A batch on another machine: its own Registry (own pool) on the shared PostgreSQL."""
    app = dash_farm_pg.app(commander=False)
    other = Registry.open(postgres_url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        try:
            async with EventBus(other) as bus:
                coordinator = Coordinator(
                    farm=dash_farm_pg.farm,
                    registry=other,
                    events=bus,
                    sources=dash_farm_pg.sources(dash_farm_pg.farm),
                    clients=client_provider(transport=dash_farm_pg.sim.transport()),
                )
                chosen = (dash_farm_pg.farm.tenants["0310024H"],)
                await coordinator.run(SyncRequest(tenants=chosen))
        finally:
            other.close()
        row = app.view.rows["0310024H"]
        await until(pilot, lambda: row.state is RowState.SUCCEEDED)
        assert row.created == 5
        assert app.view.rows["0340041K"].state is RowState.NEVER


async def test_every_action_is_in_the_command_palette(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        wanted = {"Re-sync", "Simulate", "Cancel run", "Sync a tag", "Sync all", "Filter", "Help"}
        assert wanted <= titles
        await pilot.press("ctrl+p", *"sync all", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        assert dash_farm.registry.list_runs() == []


async def test_t_syncs_the_tenants_of_a_tag_after_confirmation(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("t", *"academie:montpellier", "enter")
        assert isinstance(app.screen, ConfirmScreen)
        assert "2 tenants tagged academie:montpellier" in app.screen.question
        await pilot.press("y")
        rows = [app.view.rows["0340041K"], app.view.rows["0341921D"]]
        await until(pilot, lambda: all(r.state is RowState.SUCCEEDED for r in rows))
        assert dash_farm.accounts("cite-clemenceau") == 10
        assert dash_farm.accounts("lycee-bellevue") == 0
        (run,) = dash_farm.registry.list_runs()
        assert run.selection["tags"] == ["academie:montpellier"]


async def test_a_later_narrower_success_does_not_turn_a_failed_tenant_green(
    dash_farm: DashFarm,
) -> None:
    """Issue 13: before it, the delta's success event turned the row green and
    ``state:failed`` showed nothing (the bar counted interrupted as failed, too)."""
    registry = dash_farm.registry
    failed = registry.start_run(trigger=RunTrigger.BATCH, selection={"tenants": ["0310024H"]})
    registry.record_tenant_report(
        failed,
        TenantReport(
            tenant="0310024H",
            site="lycee-bellevue",
            status=TenantStatus.FAILED,
            reason="site unreachable: run `farm sites check lycee-bellevue`",
        ),
    )
    registry.finish_run(failed, RunStatus.FAILED)
    app = dash_farm.app(commander=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        row = app.view.rows["0310024H"]
        assert row.state is RowState.FAILED
        async with EventBus(registry) as bus:
            coordinator = Coordinator(
                farm=dash_farm.farm,
                registry=registry,
                events=bus,
                sources=dash_farm.sources(dash_farm.farm),
                clients=client_provider(transport=dash_farm.sim.transport()),
            )
            tenants = tuple(dash_farm.farm.tenants.values())
            result = await coordinator.run(
                SyncRequest(tenants=tenants, options=RunOptions(delta=True))
            )
        assert result.tenants["0310024H"].phase.value == "succeeded"
        others = [app.view.rows["0340041K"], app.view.rows["0341921D"]]
        await until(pilot, lambda: all(r.state is RowState.SUCCEEDED for r in others))
        await pilot.pause(0.5)
        assert row.state is RowState.FAILED  # the delta does not cover the failed full sync
        await pilot.press("slash", *"state:failed")
        await pilot.pause()
        assert table(app).row_count == 1
        assert app.view.summary().failed == 1
        await pilot.press("escape")
        # A full sync covers it: the registry says so and the row turns green.
        async with EventBus(registry) as bus:
            coordinator = Coordinator(
                farm=dash_farm.farm,
                registry=registry,
                events=bus,
                sources=dash_farm.sources(dash_farm.farm),
                clients=client_provider(transport=dash_farm.sim.transport()),
            )
            await coordinator.run(SyncRequest(tenants=tenants))
        await until(pilot, lambda: row.state is RowState.SUCCEEDED)
