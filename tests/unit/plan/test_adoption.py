"""Adoption: existing accounts are found by idnumber, username, then e-mail; never guessed."""

from __future__ import annotations

import pytest

from farm.adoption import MoodleAccount, Outcome, adopt_by_idnumber, adopt_people
from farm.index import SiteIndex
from farm.model import Cohort, Kind
from farm.site_rules import EmailConflicts, SiteRules

from .factory import PREFIX, person, plan, tenant

A = "0290009C"


def creations(*people: object) -> tuple:  # type: ignore[type-arg]
    return plan(SiteIndex(), tenant(A, list(people))).operations  # type: ignore[arg-type]


def account(n: int, **values: object) -> MoodleAccount:
    fields: dict[str, object] = {
        "id": n,
        "username": f"user{n}",
        "idnumber": f"id{n}",
        "email": f"user{n}@example.fr",
        "firstname": "Anne",
        "lastname": f"Martin{n}",
    }
    fields.update(values)
    return MoodleAccount(**fields)  # type: ignore[arg-type]


def test_nothing_found_means_create() -> None:
    (decision,) = adopt_people(creations(person(1)), [], {})

    assert decision.outcome is Outcome.CREATE


def test_idnumber_comes_first() -> None:
    found = [
        account(1, id=50, username="old.login"),
        account(2, id=51, username="user1", idnumber=""),
    ]

    (decision,) = adopt_people(creations(person(1)), found, {})

    assert (decision.outcome, decision.moodle_id, decision.matched_by) == (
        Outcome.ADOPT,
        50,
        "idnumber",
    )
    assert decision.changes == {"username": ("old.login", "user1")}


def test_username_then_email_with_an_empty_idnumber() -> None:
    by_username = adopt_people(creations(person(1)), [account(1, idnumber="")], {})
    by_email = adopt_people(
        creations(person(1)), [account(1, idnumber="", username="x", email="USER1@Example.fr")], {}
    )

    assert (by_username[0].outcome, by_username[0].matched_by) == (Outcome.ADOPT, "username")
    assert by_username[0].changes == {"idnumber": ("", "id1")}
    assert (by_email[0].outcome, by_email[0].matched_by) == (Outcome.ADOPT, "email")


def test_a_shared_idnumber_is_ambiguous() -> None:
    (decision,) = adopt_people(
        creations(person(1)), [account(1, id=7), account(1, id=8, username="b")], {}
    )

    assert decision.outcome is Outcome.AMBIGUOUS
    assert decision.reason == "2 accounts share the idnumber: id 7 (user1), id 8 (b)"
    assert decision.moodle_id is None


def test_a_username_held_by_someone_with_another_idnumber_is_ambiguous() -> None:
    (decision,) = adopt_people(creations(person(1)), [account(1, idnumber="other")], {})

    assert decision.outcome is Outcome.AMBIGUOUS
    assert "has another idnumber (other)" in decision.reason


def test_an_account_the_farm_holds_for_someone_else_is_never_adopted() -> None:
    (decision,) = adopt_people(creations(person(1)), [account(1, id=9)], {9: "sdet:someone-else"})

    assert decision.outcome is Outcome.AMBIGUOUS
    assert "already belongs to sdet:someone-else" in decision.reason


def test_one_account_matched_by_two_people_is_reported_for_both() -> None:
    shared_mail = account(5, id=5, username="z", idnumber="", email="family@example.fr")
    # A site that allows shared e-mails: the planner lets both creations through.
    ops = plan(
        SiteIndex(),
        tenant(A, [person(1, email="family@example.fr"), person(2, email="family@example.fr")]),
        rules=SiteRules(email_conflicts=EmailConflicts.ALLOW),
    ).operations

    decisions = adopt_people(ops, [shared_mail], {})

    assert [d.outcome for d in decisions] == [Outcome.AMBIGUOUS, Outcome.AMBIGUOUS]
    assert "sdet:1, sdet:2" in decisions[0].reason


def test_custom_profile_fields_are_always_sent_on_adoption() -> None:
    (decision,) = adopt_people(
        creations(person(1, profile_fields={"classe": "2A"})), [account(1)], {}
    )

    assert decision.changes == {"profile_fields": (None, {"classe": "2A"})}


def test_only_person_creations_are_accepted() -> None:
    ops = plan(SiteIndex(), tenant(A, cohorts=[Cohort(f"{PREFIX}c", "c")])).operations
    with pytest.raises(ValueError, match="person creations"):
        adopt_people(ops, [], {})


def test_cohorts_are_adopted_by_idnumber() -> None:
    ops = plan(
        SiteIndex(),
        tenant(
            A,
            cohorts=[
                Cohort(f"{PREFIX}a", "a"),
                Cohort(f"{PREFIX}b", "b"),
                Cohort(f"{PREFIX}c", "c"),
            ],
        ),
    ).operations
    assert all(op.kind is Kind.COHORT for op in ops)

    decisions = adopt_by_idnumber(ops, {f"{PREFIX}a": 3, f"{PREFIX}b": 4}, {4: f"{PREFIX}old"})

    assert [(d.outcome, d.moodle_id) for d in decisions] == [
        (Outcome.ADOPT, 3),
        (Outcome.AMBIGUOUS, None),
        (Outcome.CREATE, None),
    ]
