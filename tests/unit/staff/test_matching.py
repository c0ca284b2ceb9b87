"""Reconciliation's findings: pairs with a reason and a confidence, the ambiguous, ghosts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from farm.index import SiteIndex
from farm.model import IndexEntry, Kind, Person, Profile
from farm.staff import Confidence, RosterEntry, StaffKind, find_reconciliations

A, B = "0900001M", "0900038C"


def csv_person(first: str, last: str, *, email: str = "", born: date | None = None) -> RosterEntry:
    key = f"PERSON.m-mme{first.lower()}{last.lower()}"
    login = first[0].lower() + last.lower()
    return RosterEntry(
        A, StaffKind.TEACHERS, key, "M.", last, first, ("Histoire",), login,
        email=email, birthdate=born,
    )  # fmt: skip


def directory(uid: str, first: str, last: str, email: str = "", tenant: str = A) -> Person:
    return Person(
        f"sdet:{uid}", uid.lower(), f"AC${uid}", first, last, email,
        profiles=frozenset({Profile.TEACHER}), establishments=frozenset({tenant}),
    )  # fmt: skip


def account(key: str, moodle_id: int, *tenants: str, suspended: bool = False) -> IndexEntry:
    values = {"username": key.rpartition(":")[2].lower(), "suspended": suspended}
    return IndexEntry(Kind.PERSON, key, moodle_id, "d", values, frozenset(tenants), suspended)


def test_same_folded_names_and_e_mail_are_a_high_pair_with_both_accounts() -> None:
    roster = [csv_person("Hélène", "Cœur", email="H.Coeur@example.fr")]
    people = [directory("T1", "HELENE", "COEUR", email="h.coeur@example.fr")]
    index = SiteIndex([account("csv:PERSON.m-mmehélènecœur", 7, A), account("sdet:T1", 9, A)])

    found = find_reconciliations(A, roster, people, index)

    (pair,) = found.pairs
    assert (pair.csv_key, pair.directory.source_key) == ("csv:PERSON.m-mmehélènecœur", "sdet:T1")
    assert (pair.confidence, pair.reason) == (Confidence.HIGH, f"same names in {A}, same e-mail")
    assert (pair.csv_account, pair.directory_account) == (7, 9)
    assert (found.ambiguous, found.duplicates, found.ghosts) == ((), (), ())


def test_a_birth_date_confirms_and_names_alone_are_medium() -> None:
    roster = [
        csv_person("Francis", "Platon", born=date(1971, 3, 12)),
        csv_person("Rachid", "Descartes"),
    ]
    people = [directory("T1", "Francis", "PLATON"), directory("T2", "Rachid", "Descartes")]

    found = find_reconciliations(
        A, roster, people, SiteIndex(), birthdates={"sdet:T1": date(1971, 3, 12)}
    )

    by_key = {p.directory.source_key: p for p in found.pairs}
    assert by_key["sdet:T1"].confidence is Confidence.HIGH
    assert by_key["sdet:T1"].reason.endswith("same birth date")
    assert by_key["sdet:T2"].confidence is Confidence.MEDIUM
    assert "no e-mail or birth date on both sides" in by_key["sdet:T2"].reason
    assert (by_key["sdet:T2"].csv_account, by_key["sdet:T2"].directory_account) == (None, None)


def test_a_differing_e_mail_or_birth_date_or_a_homonym_is_listed_never_paired() -> None:
    roster = [
        csv_person("Nicole", "Lavoisier", email="n.lavoisier@example.fr"),
        csv_person("Pauline", "Mozart", born=date(1956, 1, 27)),
        csv_person("Jean", "Martin"),
    ]
    people = [
        directory("T1", "Nicole", "Lavoisier", email="nicole@example.org"),
        directory("T2", "Pauline", "Mozart"),
        directory("T3", "Jean", "Martin"),
        directory("T4", "Jean", "Martin"),
    ]

    found = find_reconciliations(
        A, roster, people, SiteIndex(), birthdates={"sdet:T2": date(1956, 1, 28)}
    )

    assert found.pairs == ()
    reasons = {a.names: a.reason for a in found.ambiguous}
    assert "e-mails differ" in reasons["Nicole Lavoisier"]
    assert "birth dates differ (1956-01-27, 1956-01-28)" in reasons["Pauline Mozart"]
    assert reasons["Jean Martin"].startswith("1 CSV and 2 directory people share these names")
    assert {a.confidence for a in found.ambiguous} == {Confidence.NONE}


def test_only_this_tenant_s_active_roster_is_compared() -> None:
    gone = replace(csv_person("Francis", "Platon"), retired_at=datetime(2026, 9, 1, tzinfo=UTC))
    other = replace(csv_person("Rachid", "Descartes"), tenant=B)
    people = [directory("T1", "Francis", "Platon"), directory("T2", "Rachid", "Descartes")]

    assert find_reconciliations(A, [gone, other], people, SiteIndex()).pairs == ()


def test_an_account_held_twice_and_ghosts_are_listed_with_their_reason() -> None:
    index = SiteIndex(
        [
            account("sdet:T1", 5, A),
            account("sdet:T9", 5, A),  # one account, two people: never made by the farm
            account("sdet:GONE", 6, A),  # held for A, but A's source no longer has them
            account("sdet:KEPT", 8),  # no tenant, still active: removal = keep
            account("sdet:OLD", 10, suspended=True),  # suspended by the farm: not a ghost
            account("sdet:ELSEWHERE", 11, B),
        ]
    )
    people = [directory("T1", "Ada", "Lovelace"), directory("T9", "Alan", "Turing")]

    found = find_reconciliations(A, [], people, index, read_complete=False)

    (dup,) = found.duplicates
    assert (dup.moodle_id, dup.keys, dup.confidence) == (
        5,
        ("sdet:T1", "sdet:T9"),
        Confidence.CERTAIN,
    )
    ghosts = {g.key: g for g in found.ghosts}
    assert set(ghosts) == {"sdet:GONE", "sdet:KEPT"}
    assert ghosts["sdet:GONE"].confidence is Confidence.MEDIUM  # the read was not complete
    assert "next complete sync takes the account off" in ghosts["sdet:GONE"].reason
    assert "removal = keep" in ghosts["sdet:KEPT"].reason
    assert ghosts["sdet:KEPT"].username == "kept"


def test_csv_people_of_the_roster_are_not_ghosts() -> None:
    roster = [csv_person("Francis", "Platon")]
    index = SiteIndex([account("csv:PERSON.m-mmefrancisplaton", 7, A)])

    assert find_reconciliations(A, roster, [], index).ghosts == ()
    (ghost,) = find_reconciliations(A, [], [], index).ghosts
    assert ghost.confidence is Confidence.HIGH
