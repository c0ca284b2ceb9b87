"""Keys that stop work ask first and say what stops; runs never start on held tenants (issue 19).

Runs are real (the coordinator on the Moodle simulator); each job waits at a
gate the test opens, so a run is caught in the middle without racing the
clock. Leases another process holds are taken through the registry, as that
process would.
"""

from __future__ import annotations

from datetime import timedelta

import anyio
from textual.notifications import Notification

from farm.engine.job import JobContext, run_job
from farm.engine.jobspec import JobSpec
from farm.engine.outcome import JobOutcome
from farm.tui.app import FarmDashboard
from farm.tui.dialogs import ConfirmScreen
from tests.tui.conftest import SIZE, DashFarm
from tests.tui.test_pilot import until

#: Another machine's process: a holder name without /proc's start time (host:pid:nonce).
OTHER = "web7:4242:0a1b2c3d4e5f"


class Gate:
    """Jobs that wait until the test opens the gate or their run's stop is set, then run."""

    def __init__(self) -> None:
        self.opened = anyio.Event()
        self.waiting: set[str] = set()  # sites whose job is at the gate

    async def job(self, spec: JobSpec, ctx: JobContext) -> JobOutcome:
        self.waiting.add(spec.site)
        async with anyio.create_task_group() as group:

            async def first(event: anyio.Event) -> None:
                await event.wait()
                group.cancel_scope.cancel()

            group.start_soon(first, self.opened)
            group.start_soon(first, ctx.stop)
        return await run_job(spec, ctx)


def caught(app: FarmDashboard, gate: Gate) -> bool:
    """Both sites' jobs at the gate, and the dashboard shows every tenant in the run."""
    waiting = gate.waiting == {"cite-clemenceau", "lycee-bellevue"}
    return waiting and all(r.state.active for r in app.view.rows.values())


def notices(app: FarmDashboard) -> list[str]:
    found: list[Notification] = list(app._notifications)
    return [n.message for n in found]


def confirm(app: FarmDashboard) -> ConfirmScreen:
    screen = app.screen
    assert isinstance(screen, ConfirmScreen), screen
    return screen


async def test_c_asks_names_what_stops_and_stops_only_the_cursor_tenant(
    dash_farm: DashFarm,
) -> None:
    gate = Gate()
    app = dash_farm.app(job=gate.job)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("a", "y")
        bellevue = app.view.rows["0310024H"]
        await until(pilot, lambda: caught(app, gate))
        assert app.table.current() == "0310024H"
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        asking = confirm(app)
        assert asking.question == "Stop 1 tenant(s)?"
        assert "Run 1: 0310024H; its 2 other tenant(s) go on" in asking.detail
        assert asking.danger
        await pilot.press("enter")  # a stray Enter does not stop work
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert bellevue.state.active
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        gate.opened.set()
        rows = app.view.rows.values()
        await until(pilot, lambda: not any(r.state.active for r in rows), seconds=40)
        assert bellevue.state == "interrupted"
        assert app.view.rows["0340041K"].state == "succeeded"
        assert app.view.rows["0341921D"].state == "succeeded"
        assert dash_farm.accounts("cite-clemenceau") == 10


async def test_c_on_a_tenant_of_a_cite_scolaire_says_its_site_mate_stops_too(
    dash_farm: DashFarm,
) -> None:
    gate = Gate()
    app = dash_farm.app(job=gate.job)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("a", "y")
        lycee = app.view.rows["0340041K"]
        await until(pilot, lambda: caught(app, gate))
        await pilot.press("down", "c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        asking = confirm(app)
        assert asking.question == "Stop 2 tenant(s)?"
        assert "0340041K, with 0341921D (same Moodle site: one job)" in asking.detail
        assert "its 1 other tenant(s) go on" in asking.detail
        await pilot.press("y")
        gate.opened.set()
        rows = app.view.rows.values()
        await until(pilot, lambda: not any(r.state.active for r in rows), seconds=40)
        assert lycee.state == "interrupted"
        assert app.view.rows["0341921D"].state == "interrupted"
        assert app.view.rows["0310024H"].state == "succeeded"


async def test_c_on_marked_tenants_covering_the_run_stops_the_whole_run(
    dash_farm: DashFarm,
) -> None:
    gate = Gate()
    app = dash_farm.app(job=gate.job)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("a", "y")
        await until(pilot, lambda: caught(app, gate))
        await pilot.press("space", "space", "space")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "the whole run stops" in confirm(app).detail
        await pilot.press("y")
        gate.opened.set()
        commander = app.commander
        assert commander is not None
        await until(pilot, lambda: not commander.busy, seconds=40)
        (run,) = dash_farm.registry.list_runs()
        assert run.status.value == "interrupted"
        assert run.reason == "stopped by the operator"


async def test_c_with_nothing_running_says_so_and_asks_nothing(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("c")
        assert not isinstance(app.screen, ConfirmScreen)
        assert "nothing running for these tenants" in notices(app)


async def test_q_with_a_run_in_flight_asks_and_says_what_stops(dash_farm: DashFarm) -> None:
    gate = Gate()
    app = dash_farm.app(job=gate.job)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("a", "y")
        await until(pilot, lambda: caught(app, gate))
        await pilot.press("q")
        asking = confirm(app)
        assert asking.question == "Quit and stop the runs started here?"
        assert "Run 1 (3 tenants): 3 not done yet stop" in asking.detail
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.is_running
        commander = app.commander
        assert commander is not None
        assert commander.busy
        await pilot.press("q", "y")
        gate.opened.set()
        await until(pilot, lambda: not app.is_running, seconds=40)
    (run,) = dash_farm.registry.list_runs()
    assert run.status.value == "interrupted"


async def test_q_with_nothing_running_quits_at_once(dash_farm: DashFarm) -> None:
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)


async def test_sync_all_warns_about_a_site_another_run_holds_and_leaves_it_out(
    dash_farm: DashFarm,
) -> None:
    registry = dash_farm.registry
    registry.acquire_lease("site:lycee-bellevue", OTHER, timedelta(minutes=5))
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        asking = confirm(app)
        assert asking.question == "Sync the whole farm: 2 tenants on 2 Moodle sites?"
        assert "1 left out: it is in use by another run" in asking.detail
        site = "Moodle site lycee-bellevue (0310024H) is in use by a run on web7 (process 4242)"
        assert site in asking.detail
        assert "since " in asking.detail
        assert " ago)" in asking.detail
        assert OTHER not in asking.detail
        await pilot.press("y")
        rows = [app.view.rows["0340041K"], app.view.rows["0341921D"]]
        await until(pilot, lambda: all(r.state == "succeeded" for r in rows))
        (run,) = registry.list_runs()
        assert run.selection["tenants"] == ["0340041K", "0341921D"]
        assert app.view.rows["0310024H"].state == "never"


async def test_re_sync_of_a_tenant_another_run_holds_says_who_and_starts_nothing(
    dash_farm: DashFarm,
) -> None:
    registry = dash_farm.registry
    registry.acquire_lease("tenant:0310024H", OTHER, timedelta(minutes=5))
    app = dash_farm.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("r")
        await until(pilot, lambda: any("being synced" in n for n in notices(app)))
        (said,) = [n for n in notices(app) if "being synced" in n]
        assert said.startswith("0310024H is being synced by a run on web7 (process 4242) since ")
        assert "0a1b2c3d4e5f" not in said
        await pilot.pause(0.3)
        assert registry.list_runs() == []  # no run recorded failed 0/0
