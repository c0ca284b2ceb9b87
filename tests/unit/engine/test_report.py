"""Reports spread a site's work over its tenants; journal lines keep old and new values."""

from __future__ import annotations

from farm.applied import Applied, Refused
from farm.engine.report import MAX_WARNINGS, tally
from farm.model import IndexEntry, Kind, Person, SourceWarning
from farm.moodle.apply_users import user_update
from farm.operation import Action, Category, Operation

A, B = "0330001K", "0330002L"


def teacher(key: str = "sdet:T1") -> Person:
    return Person(
        key, "t1", "T1", "Jeanne", "DUPONT", "t1@example.org", establishments=frozenset({A, B})
    )


def create(person: Person, tenants: frozenset[str]) -> Operation:
    return Operation(
        Kind.PERSON, Action.CREATE, person.key, Category.CREATE, person, None, {}, tenants
    )


def test_a_shared_person_is_one_account_counted_once_and_an_adoption_as_adopt() -> None:
    op = create(teacher(), frozenset({A, B}))
    other = create(teacher("sdet:E1"), frozenset({B}))
    tallies = tally([A, B], applied=[Applied(op, 7, adopted=True), Applied(other, 8)])
    assert tallies[A].counts == {"person": {"adopt": 1}}
    assert tallies[B].counts == {"person": {"create": 1}}
    # The reports of the site add up to what Moodle did: two accounts, not three.
    total = sum(n for t in tallies.values() for n in t.flat().values())
    assert total == 2


def test_a_shared_person_shows_in_both_reports_when_verbose_or_refused() -> None:
    op = create(teacher(), frozenset({A, B}))
    verbose = tally([A, B], applied=[Applied(op, 7)], verbose=True)
    refused = tally([A, B], refused=[Refused(op, "invalidparameter")])
    assert [len(verbose[t].operations) for t in (A, B)] == [1, 1]
    assert [len(refused[t].errors) for t in (A, B)] == [1, 1]


def test_a_suspension_counts_for_the_tenants_that_held_the_person() -> None:
    entry = IndexEntry(Kind.PERSON, "sdet:E1", 8, "d", {"username": "e1"}, frozenset({B}))
    op = Operation(Kind.PERSON, Action.SUSPEND, "sdet:E1", Category.REMOVE, None, entry)
    tallies = tally([A, B], applied=[Applied(op)])
    assert tallies[A].counts == {}
    assert tallies[B].counts == {"person": {"suspend": 1}}


def test_refusals_become_errors_with_key_and_reason_and_warnings_are_capped() -> None:
    op = create(teacher(), frozenset({A}))
    warnings = [
        SourceWarning(A, f"uid=x{i}", "no givenName: skipped", "givenName") for i in range(600)
    ]
    tallies = tally(
        [A],
        refused=[Refused(op, "Email address already exists: t1@example.org")],
        source_warnings=warnings,
    )
    (error,) = tallies[A].errors
    assert (error.key, error.entity) == ("sdet:T1", "person")
    assert "already exists" in error.reason
    assert tallies[A].flat() == {"errors": 1}
    kept = tallies[A].warnings
    assert len(kept) == MAX_WARNINGS + 1
    assert kept[0].key == "uid=x0"
    assert "[givenName]" in kept[0].message
    assert kept[-1].message == "... and 100 more warnings"


def test_an_update_sends_only_moodle_fields_and_clears_dropped_profile_fields() -> None:
    changes = {
        "lastname": ("DUPONT", "DURAND"),
        "profiles": (["teacher"], ["teacher", "parent"]),
        "profile_fields": ({"uai": A, "classe": "2NDE1"}, {"uai": B}),
    }
    update = user_update(42, changes)
    assert update is not None
    assert update.lastname == "DURAND"
    assert update.firstname is None
    assert dict(update.customfields) == {"classe": "", "uai": B}
    assert user_update(42, {"profiles": ([], ["teacher"])}) is None
    revive = user_update(42, {}, suspended=False)
    assert revive is not None
    assert revive.suspended is False
