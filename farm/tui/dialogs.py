"""Modal screens: confirmations, the tag prompt, a simulation's plan, and help."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from farm.registry import RunReport, TenantStatus

_DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 80%; max-width: 100; height: auto; max-height: 90%;
    border: thick $accent; background: $surface; padding: 1 2;
}}
{name} .title {{ text-style: bold; margin-bottom: 1; }}
{name} .keys {{ color: $text-muted; margin-top: 1; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask before an action: ``y`` goes ahead, ``n`` or Esc does not.

    Enter goes ahead too, unless ``danger`` (a key that stops work): then
    only ``y`` does, so that a stray Enter never stops a run.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("enter", "enter", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, detail: str = "", *, danger: bool = False) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, classes="title")
            if self.detail:
                yield Static(self.detail, markup=False)
            keys = (
                "y: go ahead    n / Esc: no"
                if self.danger
                else ("y / Enter: go ahead    n / Esc: cancel")
            )
            yield Static(keys, classes="keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_enter(self) -> None:
        if not self.danger:
            self.dismiss(True)


class TagScreen(ModalScreen[str | None]):
    """Ask which tag to sync; the farm's tags are listed to choose from."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="TagScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, tags: Sequence[tuple[str, int]]) -> None:
        super().__init__()
        self.tags = tags

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Sync every tenant with the tag:", classes="title")
            yield Input(placeholder="academie:montpellier", id="tag")
            listing = "  ".join(f"{tag} ({n})" for tag, n in self.tags[:30])
            yield Static(Text(listing, style="dim"))
            yield Static("Enter: choose    Esc: cancel", classes="keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def plan_table(report: RunReport) -> Table:
    """A simulated run's planned operations: one line per tenant, entity and action."""
    table = Table(expand=True, show_edge=False)
    for header in ("tenant", "entity", "action", "operations"):
        table.add_column(header, justify="right" if header == "operations" else "left")
    for tenant in report.tenants:
        if tenant.reason and not tenant.counts:
            table.add_row(tenant.tenant, "", tenant.status.value, Text(tenant.reason, style="red"))
        for entity, actions in sorted(tenant.counts.items()):
            for action, n in sorted(actions.items()):
                table.add_row(tenant.tenant, entity, action, str(n))
    return table


class PlanScreen(ModalScreen[bool]):
    """What a simulation would do; ``y`` applies it for real, Esc closes.

    ``y`` is offered only for a plan that has operations and that no tenant
    had refused (a safety stop, a site or source that failed, a lease
    another run holds): applying those would change nothing or fail again.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="PlanScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Apply"),
        Binding("n,escape", "answer(False)", "Close"),
    ]

    def __init__(self, report: RunReport) -> None:
        super().__init__()
        self.report = report
        self.total = sum(n for t in report.tenants for a in t.counts.values() for n in a.values())
        self.refused = [
            t
            for t in report.tenants
            if t.status not in (TenantStatus.SUCCEEDED, TenantStatus.PARTIAL)
        ]

    @property
    def applicable(self) -> bool:
        """Whether there is anything to apply: operations, and no tenant refused."""
        return self.total > 0 and not self.refused

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer" and parameters == (True,):
            return self.applicable
        return True

    def compose(self) -> ComposeResult:
        run = self.report.run
        with Vertical():
            yield Static(
                f"Simulation (run {run.id}): {self.total} operations planned, nothing written",
                classes="title",
            )
            with VerticalScroll():
                yield Static(plan_table(self.report))
            if self.applicable:
                keys = "y: apply this plan now    Esc: close"
            elif self.refused:
                names = ", ".join(t.tenant for t in self.refused[:5])
                keys = (
                    f"Refused for {names}: nothing to apply (see the reason above).    Esc: close"
                )
            else:
                keys = "Nothing to change: Moodle already matches the source.    Esc: close"
            yield Static(keys, classes="keys", id="plan-keys")

    def action_answer(self, answer: bool) -> None:
        if answer and not self.applicable:
            return
        self.dismiss(answer)


HELP = """\
[b]Keys[/b]
  ↑ ↓ j k         move a row        PgUp PgDn  a page    Ctrl-U Ctrl-D  half a page
  g G Home End    first / last row  Enter   open the tenant's report, history, schedule
  space           mark / unmark     U       unmark all         Esc     back
  r               re-sync the marked tenants, or the one under the cursor
  s               simulate first, show the plan, then apply exactly that plan with y
                  (as farm apply RUN: a record that drifted since fails, writing nothing)
  c               stop the marked tenants, or the one under the cursor (asks first): their
                  Moodle site's job stops after its batch, the rest of the run goes on
  t               sync every tenant with a tag (asks to confirm)
  a               sync the whole farm (asks to confirm)
  /               filter          o / O   sort by the next column / reverse the order
                  (the sorted column's header shows ▲ or ▼; a click on a header sorts too)
  l               show or hide the log pane
  h               the farm's last 30 nights: records written, run time, tenants not ok,
                  and the tenants × nights heat-map (worst first)
  T               the scheduled tasks, as Moodle shows them: cron fields, last run and
                  result, next run, override, CLI only; Enter runs one task of one tenant
  ctrl+p          command palette: every action by name
  q               quit; with runs started here going it asks, then stops them cleanly

[b]Filter[/b]
  words match the id, name, site and tags;  tag:academie:montpellier  keeps a tag;
  state:failed, state:partial, state:never ...; state:not-ok (failed, interrupted,
  partial: as farm status and farm runs --status); state:active (running, queued)
  Several words must all match. Esc in the filter clears it.
  A state with a * comes from a simulation: nothing was written.

[b]Watch mode[/b]
  The dashboard follows the registry: a batch started by cron, another terminal or
  another machine on the same registry shows live. Its own runs take the same leases
  as `farm sync`: a tenant another run holds is left out, naming the holder (host,
  process, run, since when).
"""


#: The help's lines about keys that start or stop runs: not shown in watch-only.
_RUN_KEYS = (
    "  r ",
    "  s ",
    "  c ",
    "  t ",
    "  a ",
    "                  Moodle site's job",
    "                  (as farm apply",
)


class HelpScreen(ModalScreen[None]):
    """The keys and the filter syntax; in watch-only, without the keys that start or stop runs."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="HelpScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, *, watch_only: bool = False) -> None:
        super().__init__()
        self.watch_only = watch_only

    def compose(self) -> ComposeResult:
        text = HELP
        if self.watch_only:
            kept = [line for line in HELP.splitlines() if not line.startswith(_RUN_KEYS)]
            text = "\n".join(kept) + (
                "\n[b]Watch-only[/b]: this dashboard follows runs and starts none; "
                "run it with the farm folder and without --watch-only to act.\n"
            )
        with Vertical():
            yield Static("Farm dashboard: help", classes="title")
            yield Static(text)
            yield Static("Esc: close", classes="keys")

    def action_close(self) -> None:
        self.dismiss(None)
