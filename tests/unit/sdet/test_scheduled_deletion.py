"""Scheduled deletion: an SDET entry whose ``ENTPersonDateSuppression`` has come is gone.

The directory keeps the entry, but the ENT says the person leaves on that
day: from then on the SDET source reads them as gone (not held), so the
farm's ``removal`` policy applies to the account (suspended by default)
and the safety checks count them like any leaver. A future date changes
nothing. Entries -> the real reader and snapshots -> the real planner.
"""

from __future__ import annotations

from datetime import date

import pytest

from farm.index import SiteIndex
from farm.model import Kind, TenantSnapshot
from farm.operation import Action
from farm.plan import Plan
from farm.site_rules import SiteRules
from farm.sources.sdet import MappingRules
from farm.sources.sdet.entries import Entry
from farm.sources.sdet.people import PersonReader
from farm.sources.sdet.snapshots import build_snapshots
from tests.unit.plan.factory import plan, synced
from tests.unit.sdet.test_snapshots import LYCEE, LYCEE_DN, person, structures

RUN_DAY = date(2026, 9, 1)
#: A site whose accounts sign in through the ENT (the mapping names no auth).
RULES = SiteRules(site="lycee.example.fr", auth="cas")
#: Eight students of 2NDE1: enough that one leaving stays under the mass-removal threshold.
UIDS = [f"S{n}" for n in range(1, 9)]


def student(uid: str, deletion: str | None = None) -> Entry:
    extra = {} if deletion is None else {"ENTPersonDateSuppression": deletion}
    return person(
        uid,
        "ENTEleve",
        ENTPersonStructRattach=LYCEE_DN,
        ENTEleveClasses=f"{LYCEE_DN}$2NDE1",
        **extra,
    )


def read(entries: list[Entry], today: date = RUN_DAY) -> TenantSnapshot:
    rules = MappingRules()
    smap = structures()
    reader = PersonReader(smap, rules, today=today)
    snapshots = build_snapshots([reader(e) for e in entries], smap, (LYCEE,), rules, complete=True)
    return snapshots[LYCEE]


def synced_class() -> SiteIndex:
    index = synced(read([student(uid) for uid in UIDS]), cohort_prefix="farm:", rules=RULES)
    assert len(index.of(Kind.PERSON)) == len(UIDS)
    return index


def night(*dated: tuple[str, str]) -> tuple[TenantSnapshot, Plan]:
    dates = dict(dated)
    snapshot = read([student(uid, dates.get(uid)) for uid in UIDS])
    return snapshot, plan(synced_class(), snapshot, cohort_prefix="farm:", rules=RULES)


def test_a_past_deletion_date_suspends_the_person_still_in_the_directory() -> None:
    snapshot, result = night(("S1", "15/06/2026"))

    assert "sdet:S1" not in {p.source_key for p in snapshot.people}
    assert snapshot.held == frozenset()
    assert [(op.kind, op.action, op.key) for op in result.operations] == [
        (Kind.PERSON, Action.SUSPEND, "sdet:S1")
    ]
    (note,) = [w for w in snapshot.warnings if w.attribute == "ENTPersonDateSuppression"]
    assert note.message == "read as gone: its scheduled deletion date 15/06/2026 has passed"
    assert note.entry == "uid=S1,ou=people,dc=x"


def test_the_run_day_itself_counts_as_passed() -> None:
    _, result = night(("S1", RUN_DAY.strftime("%d/%m/%Y")))

    assert [op.key for op in result.operations if op.action is Action.SUSPEND] == ["sdet:S1"]


@pytest.mark.parametrize("written", ["15/01/2030", "2027-01-15", "20270115000000Z"])
def test_a_future_date_changes_nothing(written: str) -> None:
    """Compared as dates: 15/01/2030 is later than 01/09/2026, though smaller as text."""
    snapshot, result = night(("S1", written))

    assert "sdet:S1" in {p.source_key for p in snapshot.people}
    assert result.operations == ()
    assert not [w for w in snapshot.warnings if w.attribute == "ENTPersonDateSuppression"]


@pytest.mark.parametrize("written", ["2026-06-15", "20260615120000Z"])
def test_other_date_forms_are_read_too(written: str) -> None:
    _, result = night(("S1", written))

    assert [op.key for op in result.operations if op.action is Action.SUSPEND] == ["sdet:S1"]


def test_a_value_that_is_no_date_is_noted_and_the_person_kept() -> None:
    snapshot, result = night(("S1", "bientôt"))

    assert result.operations == ()
    (note,) = [w for w in snapshot.warnings if w.attribute == "ENTPersonDateSuppression"]
    assert note.message == "ignored value 'bientôt': not a date"


def test_many_scheduled_deletions_at_once_stop_like_any_mass_removal() -> None:
    _, result = night(*((uid, "30/08/2026") for uid in UIDS[:6]))

    assert result.blocked is not None
    assert (result.blocked.rule, result.blocked.removals) == ("mass-removal", 6)
