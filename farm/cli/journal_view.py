"""How ``farm journal`` shows its lines: a table, JSON or CSV rows (see :mod:`farm.cli.journal`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text

from farm.cli.screen import table_console
from farm.clock import iso, label, local_text
from farm.registry import JournalEntry, RunId, RunSummary

#: A field the line holds on one side only (a creation's old side, a removal's new one).
_MISSING: Final = object()
ARROW: Final = "→"


def field_changes(entry: JournalEntry) -> list[tuple[str, Any, Any]]:
    """``(field, old, new)`` for each field the line changed; a side it lacks is ``_MISSING``.

    An update holds only its changed fields (a masked secret shows as
    ``*** → ***``); a creation has no old side and a removal no new one; an
    adoption's old side is what the farm found, and a field it found already
    right is left out.
    """
    old: Mapping[str, Any] = entry.old or {}
    new: Mapping[str, Any] = entry.new or {}
    names = [*new, *(name for name in old if name not in new)]
    out: list[tuple[str, Any, Any]] = []
    for name in names:
        before = old.get(name, _MISSING)
        after = new.get(name, _MISSING)
        # Only an adoption holds fields that did not change (what was found already right);
        # any other line holds changes only, even where masking made both sides ***.
        if entry.action == "adopt" and before == after:
            continue
        out.append((name, before, after))
    return out


def value_text(value: Any) -> str:
    """A field's value as one line of text: strings as they are, the rest as JSON."""
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes_text(entry: JournalEntry) -> str:
    """``lastname: DUPONT → DURAND; email: …``; a one-sided field shows its one value."""
    parts = []
    for name, before, after in field_changes(entry):
        if before is _MISSING:
            parts.append(f"{name}: {value_text(after)}")
        elif after is _MISSING:
            parts.append(f"{name}: {value_text(before)}")
        else:
            parts.append(f"{name}: {value_text(before)} {ARROW} {value_text(after)}")
    return "; ".join(parts) or "-"


def _run_text(run_id: RunId, runs: Mapping[RunId, RunSummary]) -> str:
    run = runs.get(run_id)
    return f"{run_id} {run.trigger.value}" if run is not None else str(run_id)


def print_table(
    found: Sequence[JournalEntry],
    runs: Mapping[RunId, RunSummary],
    where: ZoneInfo,
    *,
    person: str | None,
    keys: Sequence[str],
    limit: int,
    oldest_first: bool,
) -> None:
    console = table_console()
    if person is not None:
        if not keys:
            console.print(
                Text(
                    f"No source key, login, idnumber or uid {person!r} in the index or the journal."
                )
            )
            return
        console.print(Text(f"{person}: {', '.join(keys)}"))
    if not found:
        console.print("No journal line matches.")
        return
    table = Table(f"time ({label(where)})", "run", "site", "tenants", "record", "action")
    table.add_column("changes (old → new)", overflow="fold")
    for e in found:
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    local_text(e.at, where, seconds=True),
                    _run_text(e.run_id, runs),
                    e.site,
                    ",".join(e.tenants) or "-",
                    f"{e.entity} {e.key}",
                    e.action,
                    changes_text(e),
                )
            )
        )
    console.print(table)
    order = "oldest first" if oldest_first else "newest first"
    more = f"; --limit {limit} reached, there may be more" if len(found) == limit else ""
    console.print(Text(f"{len(found)} line(s), {order}{more}."))


def line_json(entry: JournalEntry, run: RunSummary | None, where: ZoneInfo) -> dict[str, Any]:
    return {
        "at": iso(entry.at, where),
        "run": entry.run_id,
        "trigger": None if run is None else run.trigger.value,
        "site": entry.site,
        "seq": entry.seq,
        "tenants": list(entry.tenants),
        "entity": entry.entity,
        "action": entry.action,
        "key": entry.key,
        "person": entry.person,
        "moodle_id": entry.moodle_id,
        "old": None if entry.old is None else dict(entry.old),
        "new": None if entry.new is None else dict(entry.new),
        "changes": [
            {
                "field": name,
                **({} if before is _MISSING else {"old": before}),
                **({} if after is _MISSING else {"new": after}),
            }
            for name, before, after in field_changes(entry)
        ],
    }


def csv_rows(
    found: Sequence[JournalEntry], runs: Mapping[RunId, RunSummary], where: ZoneInfo
) -> Iterable[list[object]]:
    for e in found:
        run = runs.get(e.run_id)
        base: list[object] = [
            iso(e.at, where),
            e.run_id,
            None if run is None else run.trigger.value,
            e.site,
            ",".join(e.tenants),
            e.entity,
            e.action,
            e.key,
            e.person,
            e.moodle_id,
        ]
        changes = field_changes(e) or [("", _MISSING, _MISSING)]
        for name, before, after in changes:
            yield [*base, name, value_text(before), value_text(after)]
