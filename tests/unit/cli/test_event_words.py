"""``farm watch``'s lines: the operators' words, a few lines per tenant, the zone on each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from farm.cli.event_words import counts_in_words, event_words
from farm.engine.events import Event, EventKind, Phase

PARIS = ZoneInfo("Europe/Paris")
WINTER = datetime(2026, 12, 2, 2, 0, 12, tzinfo=UTC)
SUMMER = datetime(2026, 6, 2, 1, 0, 12, tzinfo=UTC)


def tenant(kind: EventKind, **fields: Any) -> Event:
    return Event(42, kind, site="cite-clemenceau", tenant="0340041K", at=WINTER, **fields)


def test_one_tenant_gets_four_lines_in_words_where_the_stream_has_ten() -> None:
    stream = [
        tenant(EventKind.PHASE, phase=Phase.QUEUED),
        tenant(EventKind.PHASE, phase=Phase.WAITING, message="held by run 41 (users)"),
        tenant(EventKind.PHASE, phase=Phase.READING),
        tenant(EventKind.PHASE, phase=Phase.PLANNING),
        tenant(EventKind.PHASE, phase=Phase.APPLYING),
        *(tenant(EventKind.PROGRESS, done=d, total=120) for d in (0, 40, 80, 120)),
        tenant(
            EventKind.PHASE,
            phase=Phase.SUCCEEDED,
            counts={"person.create": 12, "person.update": 1, "cohort_member.add": 107},
        ),
    ]

    lines = [said for event in stream if (said := event_words(event, PARIS)) is not None]

    assert lines == [
        "03:00:12 CET  run 42 0340041K (cite-clemenceau) waiting for its site: "
        "held by run 41 (users)",
        "03:00:12 CET  run 42 0340041K (cite-clemenceau) started: reading its source",
        "03:00:12 CET  run 42 0340041K (cite-clemenceau) writing 120 change(s) to Moodle",
        "03:00:12 CET  run 42 0340041K (cite-clemenceau) succeeded: "
        "107 cohort members added, 12 accounts created, 1 account updated",
    ]
    assert not any(word in "\n".join(lines) for word in ("phase", "progress", "queued"))


def test_an_end_is_named_by_its_state_with_the_reason() -> None:
    partial = tenant(EventKind.PHASE, phase=Phase.SUCCEEDED, counts={"errors": 2})
    failed = tenant(EventKind.PHASE, phase=Phase.FAILED, message="invalid token")
    nothing = tenant(EventKind.PHASE, phase=Phase.SUCCEEDED)

    assert str(event_words(partial, PARIS)).endswith("partial: 2 records not written")
    assert str(event_words(failed, PARIS)).endswith("failed: invalid token")
    assert str(event_words(nothing, PARIS)).endswith("succeeded: no change")


def test_runs_start_and_end_in_words_with_the_zone_of_the_season() -> None:
    started = Event(
        7, EventKind.RUN_STARTED, counts={"tenants": 163, "sites": 121}, message="batch", at=SUMMER
    )
    ended = Event(7, EventKind.RUN_FINISHED, message="partial: 2 tenants failed", at=SUMMER)

    assert event_words(started, PARIS) == (
        "03:00:12 CEST  run 7 started: batch run of 163 tenant(s) on 121 site(s)"
    )
    assert event_words(ended, PARIS) == "03:00:12 CEST  run 7 ended: partial: 2 tenants failed"


def test_unknown_counts_keep_their_names() -> None:
    assert counts_in_words({"person.create": 1, "widget.spin": 3, "errors": 1}) == (
        "1 record not written, 1 account created, widget.spin 3"
    )
