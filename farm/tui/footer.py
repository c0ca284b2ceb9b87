"""The dashboard's footer: every key that fits, and always ``?`` and ``q``.

Textual's footer cuts the keys that do not fit at its right end, which is
where help and quit are. This one keeps those two at the right edge and
lets the others take what room is left, cut at their end when the terminal
is narrow (80 columns): a newcomer always sees how to get help and out.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: The actions whose keys the footer never drops.
KEPT = ("help", "quit")


class DashboardFooter(Footer):
    """See the module docstring."""

    DEFAULT_CSS = """
    DashboardFooter > HorizontalGroup.rest { width: 1fr; overflow: hidden; margin-right: 1; }
    DashboardFooter FooterKey.-kept { width: auto; }
    """

    def __init__(self) -> None:
        super().__init__(show_command_palette=False, compact=True)

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        kept = [k for k in keys if isinstance(k, FooterKey) and k.action in KEPT]
        with HorizontalGroup(classes="rest"):
            yield from (k for k in keys if k not in kept)
        for key in sorted(kept, key=lambda k: KEPT.index(k.action)):
            key.add_class("-kept")
            yield key
