"""The dashboard's actions on runs: re-sync, simulate then apply, sync a tag or the farm, stop.

:class:`RunActions` is the part of :class:`~farm.tui.app.FarmDashboard` that
turns a key into a run: it picks the tenants (the marked ones shown, or the
one under the cursor), looks up who holds their leases, asks before a run of
several or one that leaves tenants out, starts it through the
:class:`~farm.tui.commands.Commander` in a background worker and says how
it ended. A key that stops work (``c``, and ``q`` with runs in flight) always
asks first and says what will stop.

A tenant another run holds (its site's lease or its own) is left out of a
new run and named with its holder in words (:mod:`farm.tui.holders`): a
run that would only be refused is not started. The key bindings and the
screen are the dashboard's own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import anyio
import anyio.to_thread
from textual import work
from textual.app import App

from farm.config import TenantConfig
from farm.config.selection import SelectionError
from farm.options import RunOptions
from farm.registry import LeaseHeld, RegistryError, RunId, RunSummary
from farm.tui.commands import Commander
from farm.tui.dialogs import ConfirmScreen, PlanScreen, TagScreen
from farm.tui.feed import RegistryFeed
from farm.tui.holders import holder_words
from farm.tui.table import TenantTable
from farm.tui.view import FarmView


class RunActions(App[None]):
    """The ``action_*`` methods that start and stop runs; see the module docstring.

    The dashboard sets the attributes below: what it follows, what it draws,
    which tenants the operator marked, and its clock.
    """

    feed: RegistryFeed
    commander: Commander | None
    view: FarmView
    table: TenantTable
    marked: set[str]
    clock: Callable[[], datetime]

    def targets(self) -> list[str]:
        """The marked tenants that are shown, or the one under the cursor."""
        table = self.table
        shown = [t for t in table.order if t in self.marked]
        if shown:
            return shown
        current = table.current()
        return [current] if current else []

    def _commander(self) -> Commander | None:
        if self.commander is None:
            self.notify(
                "watch-only: the farm configuration is not loaded, actions are off",
                severity="warning",
            )
        return self.commander

    # -- starting runs ---------------------------------------------------------------------

    def action_resync(self) -> None:
        commander = self._commander()
        ids = self.targets()
        if commander is None or not ids:
            return
        chosen = commander.tenants(ids)
        marked = len(chosen) > 1
        self.start_checked(
            chosen,
            (lambda n: f"Re-sync {n} marked tenants?") if marked else None,
            names=marked,
        )

    def action_simulate(self) -> None:
        commander = self._commander()
        ids = self.targets()
        if commander is None or not ids:
            return
        self.simulate(commander.tenants(ids))

    def resync_tenant(self, tenant: str) -> None:
        """Re-sync one tenant (the drill-down's ``r``)."""
        commander = self._commander()
        if commander is not None:
            self.start_checked(commander.tenants([tenant]), None)

    def simulate_tenant(self, tenant: str) -> None:
        """Simulate one tenant, then offer to apply (the drill-down's ``s``)."""
        commander = self._commander()
        if commander is not None:
            self.simulate(commander.tenants([tenant]))

    def action_sync_all(self) -> None:
        commander = self._commander()
        if commander is None:
            return
        chosen = commander.tenants()
        sites = len({t.site for t in chosen})
        self.start_checked(
            chosen,
            lambda n: f"Sync the whole farm: {n} tenants on {sites} Moodle sites?",
            names=False,
        )

    def action_sync_tag(self) -> None:
        commander = self._commander()
        if commander is None:
            return
        counts = Counter(tag for t in commander.farm.tenants.values() for tag in t.tags)

        def chosen_tag(tag: str | None) -> None:
            if tag is None:
                return
            try:
                chosen = commander.tenants(tag=tag)
            except SelectionError as error:
                self.notify(str(error), severity="error")
                return
            self.start_checked(chosen, lambda n: f"Sync the {n} tenants tagged {tag}?", tag=tag)

        self.push_screen(TagScreen(sorted(counts.items())), chosen_tag)

    def run_task(self, tenant: str, task: str) -> None:
        """Run one scheduled ``task`` of one tenant now, after asking (the schedule view's key)."""
        commander = self._commander()
        if commander is None:
            return
        from farm.engine.schedule import task_options

        chosen = commander.tenants([tenant])
        self.start_checked(
            chosen,
            lambda n: f"Run the task {task} of {tenant} now?",
            names=False,
            options=task_options(task),
            selection={"task": task},
        )

    @work(group="checks")
    async def start_checked(
        self,
        chosen: Sequence[TenantConfig],
        question: Callable[[int], str] | None,
        *,
        names: bool = True,
        tag: str | None = None,
        options: RunOptions | None = None,
        selection: Mapping[str, object] | None = None,
    ) -> None:
        """Leave out the tenants another run holds, ask ``question`` if any, then start.

        Without a question (one tenant under the cursor) it starts at once,
        unless a tenant had to be left out: then it says who holds it.
        """
        held = await self.holders(chosen)
        free = [t for t in chosen if t.id not in held]
        if not free:
            self.notify(_held_text(held, chosen), severity="warning", timeout=12)
            return
        if question is None and not held:
            self.launch(free, options=options, selection=selection)
            return
        detail = _names(free) if names else ""
        if held:
            out = len(chosen) - len(free)
            gone = "it is" if out == 1 else "they are"
            detail += f"\n\n{out} left out: {gone} in use by another run\n"
            detail += _held_text(held, chosen)
        asked = question(len(free)) if question else f"Sync the {len(free)} tenants free now?"
        if await self.push_screen_wait(ConfirmScreen(asked, detail.strip())):
            self.launch(free, tag=tag, options=options, selection=selection)

    async def holders(self, chosen: Sequence[TenantConfig]) -> dict[str, tuple[str, str]]:
        """Tenant -> (the lease key that blocks it, who holds it in words), for those held."""
        commander = self.commander
        if commander is None:
            return {}

        def read() -> tuple[dict[str, LeaseHeld], list[RunSummary]]:
            return commander.held(chosen), commander.runs_going()

        try:
            held, runs = await anyio.to_thread.run_sync(read)
        except RegistryError as error:
            self.notify(f"registry: {error}", severity="error", timeout=8)
            return {}
        now = self.clock()
        return {
            tenant: (lease.key, holder_words(lease, now, self.feed.zone, runs))
            for tenant, lease in held.items()
        }

    def launch(
        self,
        chosen: Sequence[TenantConfig],
        *,
        tag: str | None = None,
        options: RunOptions | None = None,
        selection: Mapping[str, object] | None = None,
    ) -> None:
        """Start a sync of ``chosen`` in the background."""
        if not chosen or self.commander is None:
            return
        self.marked.difference_update(t.id for t in chosen)
        self.view.dirty.update(t.id for t in chosen)
        chosen_selection = dict(selection or {})
        if tag:
            chosen_selection["tags"] = [tag]
        self._sync(list(chosen), options, chosen_selection)

    @work(group="runs")
    async def _sync(
        self, chosen: list[TenantConfig], options: RunOptions | None, selection: dict[str, object]
    ) -> None:
        assert self.commander is not None
        self.notify(f"syncing {len(chosen)} tenant(s)", timeout=2)
        try:
            result = await self.commander.sync(chosen, options=options, selection=selection)
        except (ValueError, RegistryError) as error:
            self.notify(f"not started: {error}", severity="error", timeout=8)
            return
        reason = f": {result.reason}" if result.reason else ""
        self.notify(
            f"run {result.run_id} {result.status.value}{reason}",
            severity="information" if result.succeeded else "warning",
        )

    @work(group="runs")
    async def simulate(self, chosen: Sequence[TenantConfig]) -> None:
        """Simulate, show the plan, and apply it if the operator says so."""
        assert self.commander is not None
        held = await self.holders(chosen)
        free = [t for t in chosen if t.id not in held]
        if held:
            self.notify(_held_text(held, chosen), severity="warning", timeout=12)
        if not free:
            return
        self.notify(f"simulating {len(free)} tenant(s)", timeout=2)
        try:
            result = await self.commander.sync(free, simulate=True)
            report = await anyio.to_thread.run_sync(self.feed.registry.get_report, result.run_id)
        except (ValueError, RegistryError) as error:
            self.notify(f"not simulated: {error}", severity="error", timeout=8)
            return
        if await self.push_screen_wait(PlanScreen(report)):
            self.apply_stored(result.run_id, free)

    @work(group="runs")
    async def apply_stored(self, run_id: int, chosen: Sequence[TenantConfig]) -> None:
        """Apply exactly the plan simulated run ``run_id`` stored (``farm apply RUN``).

        What was reviewed is what is applied: a record that drifted since
        fails its tenant, naming it, and nothing of that site is written.
        """
        assert self.commander is not None
        self.marked.difference_update(t.id for t in chosen)
        self.notify(f"applying the plan of run {run_id}", timeout=2)
        try:
            result = await self.commander.apply(run_id)
        except (ValueError, RegistryError) as error:  # ApplyRefused is a ValueError
            self.notify(f"not applied: {error}", severity="error", timeout=10)
            return
        reason = f": {result.reason}" if result.reason else ""
        self.notify(
            f"run {result.run_id} (the plan of run {run_id}) {result.status.value}{reason}",
            severity="information" if result.succeeded else "warning",
        )

    # -- stopping runs ---------------------------------------------------------------------

    def action_cancel(self) -> None:
        ids = self.targets()
        active = [i for i in ids if (row := self.view.rows.get(i)) and row.state.active]
        if not active:
            self.notify("nothing running for these tenants", severity="warning")
            return
        self.stop_asked(active)

    @work(group="checks")
    async def stop_asked(self, ids: Sequence[str]) -> None:
        """Say what stopping ``ids`` stops, ask, and stop only that (``c``)."""
        runs = self.view.running_runs(ids)
        ours = self.commander.stopping(ids) if self.commander else []
        elsewhere = sorted(runs - {s.run_id for s in ours})
        others = await self._started_elsewhere(elsewhere)
        if not ours:
            self.notify("\n".join(others), severity="warning", timeout=10)
            return
        rows = self.view.rows
        asked = set(ids)
        lines = []
        stopping = 0
        for item in ours:
            going = [t for t in item.tenants if rows[t].state.active]
            stopping += len(going)
            mine = [t for t in going if t in asked]
            along = [t for t in going if t not in asked]
            line = f"Run {item.run_id}: {_ids(mine)}"
            if along:
                line += f", with {_ids(along)} (same Moodle site: one job)"
            rest = sum(1 for t, r in rows.items() if r.run_id == item.run_id and r.state.active)
            rest -= len(going)
            if item.whole or rest <= 0:
                line += "; the whole run stops"
            else:
                line += f"; its {rest} other tenant(s) go on"
            lines.append(line)
        lines += others
        lines.append(
            "They stop after their current batch: what Moodle confirmed is recorded, "
            "the rest ends interrupted."
        )
        question = f"Stop {stopping} tenant(s)?"
        if not await self.push_screen_wait(ConfirmScreen(question, "\n".join(lines), danger=True)):
            return
        assert self.commander is not None
        for item in self.commander.stop_tenants(ids):
            self.notify(f"run {item.run_id}: stopping after the current batches")

    async def _started_elsewhere(self, runs: Sequence[int]) -> list[str]:
        """One line per run started elsewhere: where, and how to stop it there."""
        if not runs:
            return []

        def read() -> list[RunSummary]:
            return [self.feed.registry.get_run(RunId(r)) for r in runs]

        try:
            found = await anyio.to_thread.run_sync(read)
        except RegistryError:
            return [f"Run {r} was started elsewhere: stop it there." for r in runs]
        return [
            f"Run {r.id} was started elsewhere (on {r.host}, process {r.pid}): stop it there "
            f"(Ctrl-C, or SIGTERM to process {r.pid}); the dashboard cannot."
            for r in found
        ]

    def quit_question(self) -> tuple[str, str] | None:
        """What ``q`` asks while runs started here are going, or None when nothing would stop."""
        commander = self.commander
        if commander is None or not commander.busy:
            return None
        rows = self.view.rows
        lines = []
        for run_id, tenants in sorted(commander.running().items()):
            left = sum(1 for t in tenants if (r := rows.get(t)) is not None and r.state.active)
            lines.append(
                f"Run {run_id} ({len(tenants)} tenants): {left} not done yet stop after "
                "their current batch and end interrupted."
            )
        if not lines:
            lines.append("A run started here is starting: it stops before it writes anything.")
        elsewhere = sorted(
            {
                r.run_id
                for r in rows.values()
                if r.state.active and r.run_id and r.run_id not in commander.running()
            }
        )
        if elsewhere:
            lines.append(
                "Runs started elsewhere go on: " + ", ".join(f"run {r}" for r in elsewhere) + "."
            )
        return "Quit and stop the runs started here?", "\n".join(lines)


def _ids(ids: Sequence[str], first: int = 6) -> str:
    shown = ", ".join(ids[:first])
    return shown + (f" and {len(ids) - first} more" if len(ids) > first else "")


def _held_text(
    held: Mapping[str, tuple[str, str]], chosen: Sequence[TenantConfig], first: int = 5
) -> str:
    """Who holds the chosen tenants that are held: one line per lease, in words."""
    by_key: dict[tuple[str, str], list[str]] = {}
    for tenant in chosen:
        if tenant.id in held:
            by_key.setdefault(held[tenant.id], []).append(tenant.id)
    lines = []
    for (key, words), tenants in list(by_key.items())[:first]:
        kind, _, name = key.partition(":")
        if kind == "site":
            lines.append(f"Moodle site {name} ({_ids(tenants, 3)}) is in use by {words}")
        else:
            lines.append(f"{name} is being synced by {words}")
    if len(by_key) > first:
        lines.append(f"and {len(by_key) - first} more in use")
    return "\n".join(lines)


def _names(chosen: Sequence[TenantConfig]) -> str:
    return _ids([t.id for t in chosen], 12)
