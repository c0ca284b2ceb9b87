"""The dashboard's actions on runs: re-sync, simulate then apply, sync a tag or the farm, cancel.

:class:`RunActions` is the part of :class:`~farm.tui.app.FarmDashboard` that
turns a key into a run: it picks the tenants (the marked ones shown, or the
one under the cursor), asks before a run of several, starts it through the
:class:`~farm.tui.commands.Commander` in a background worker and says how
it ended. The key bindings and the screen are the dashboard's own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import anyio
import anyio.to_thread
from textual import work
from textual.app import App

from farm.config import TenantConfig
from farm.config.selection import SelectionError
from farm.registry import RegistryError
from farm.tui.commands import Commander
from farm.tui.dialogs import ConfirmScreen, PlanScreen, TagScreen
from farm.tui.feed import RegistryFeed
from farm.tui.table import TenantTable
from farm.tui.view import FarmView


class RunActions(App[None]):
    """The ``action_*`` methods that start and stop runs; see the module docstring.

    The dashboard sets the attributes below: what it follows, what it draws
    and which tenants the operator marked.
    """

    feed: RegistryFeed
    commander: Commander | None
    view: FarmView
    table: TenantTable
    marked: set[str]

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

    def action_resync(self) -> None:
        commander = self._commander()
        ids = self.targets()
        if commander is None or not ids:
            return
        chosen = commander.tenants(ids)
        if len(chosen) > 1:
            self._confirm(f"Re-sync {len(chosen)} marked tenants?", chosen, _names(chosen))
        else:
            self.launch(chosen)

    def action_simulate(self) -> None:
        commander = self._commander()
        ids = self.targets()
        if commander is None or not ids:
            return
        self.simulate(commander.tenants(ids))

    def action_sync_all(self) -> None:
        commander = self._commander()
        if commander is None:
            return
        chosen = commander.tenants()
        sites = len({t.site for t in chosen})
        self._confirm(
            f"Sync the whole farm: {len(chosen)} tenants on {sites} Moodle sites?", chosen, ""
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
            self._confirm(
                f"Sync the {len(chosen)} tenants tagged {tag}?", chosen, _names(chosen), tag=tag
            )

        self.push_screen(TagScreen(sorted(counts.items())), chosen_tag)

    def action_cancel(self) -> None:
        ids = self.targets()
        runs = self.view.running_runs(ids)
        if not runs:
            self.notify("nothing running for these tenants", severity="warning")
            return
        for run_id in sorted(runs):
            if self.commander is not None and self.commander.cancel(run_id):
                self.notify(f"run {run_id}: stopping after the current batches")
            else:
                self.notify(
                    f"run {run_id} was started elsewhere: stop it there (Ctrl-C or SIGTERM)",
                    severity="warning",
                )

    def _confirm(
        self, question: str, chosen: Sequence[TenantConfig], detail: str, *, tag: str | None = None
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.launch(chosen, tag=tag)

        self.push_screen(ConfirmScreen(question, detail), answered)

    def launch(self, chosen: Sequence[TenantConfig], *, tag: str | None = None) -> None:
        """Start a sync of ``chosen`` in the background."""
        if not chosen or self.commander is None:
            return
        self.marked.difference_update(t.id for t in chosen)
        self.view.dirty.update(t.id for t in chosen)
        self._sync(list(chosen), tag)

    @work(group="runs")
    async def _sync(self, chosen: list[TenantConfig], tag: str | None) -> None:
        assert self.commander is not None
        selection = {"tags": [tag]} if tag else {}
        self.notify(f"syncing {len(chosen)} tenant(s)", timeout=2)
        try:
            result = await self.commander.sync(chosen, selection=selection)
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
        self.notify(f"simulating {len(chosen)} tenant(s)", timeout=2)
        try:
            result = await self.commander.sync(chosen, simulate=True)
            report = await anyio.to_thread.run_sync(self.feed.registry.get_report, result.run_id)
        except (ValueError, RegistryError) as error:
            self.notify(f"not simulated: {error}", severity="error", timeout=8)
            return
        if await self.push_screen_wait(PlanScreen(report)):
            self.launch(chosen)


def _names(chosen: Sequence[TenantConfig]) -> str:
    shown = ", ".join(t.id for t in chosen[:12])
    return shown + (f" and {len(chosen) - 12} more" if len(chosen) > 12 else "")
