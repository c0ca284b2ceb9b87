"""The Pronote identifier as a profile field a sync carries to Moodle."""

from __future__ import annotations

from farm.model import Person, Profile
from farm.pronote.fields import pronote_ids, with_pronote_ids
from farm.pronote.records import Population
from tests.unit.pronote.people import A, B, link


def person(uid: str, **fields: str) -> Person:
    return Person(
        source_key=f"sdet:{uid}",
        username=uid,
        idnumber="",
        firstname="Zoé",
        lastname="PETIT",
        email="",
        profiles=frozenset({Profile.STUDENT}),
        profile_fields=fields,
    )


def test_linked_people_carry_their_identifier_and_others_an_empty_value() -> None:
    people = [person("E1"), person("E2", pronote_id="OLD")]
    out = with_pronote_ids(people, [link("sdet:E1", "P1")], "pronote_id")
    assert [p.profile_fields["pronote_id"] for p in out] == ["P1", ""]
    # Other fields stay, and a person whose value did not change is the same object.
    same = with_pronote_ids(out, [link("sdet:E1", "P1")], "pronote_id")
    assert all(a is b for a, b in zip(same, out, strict=True))


def test_own_account_first_and_every_base_of_a_cite() -> None:
    links = [
        link("sdet:T1", "GUARD", population=Population.GUARDIANS),
        link("sdet:T1", "TEACH", population=Population.TEACHERS),
        link("sdet:T1", "TEACH-B", population=Population.TEACHERS, tenant=B),
        link("sdet:E1", "P1", tenant=A),
        link("sdet:E1", "P1", tenant=B),
    ]
    assert pronote_ids(links) == {"sdet:T1": "TEACH,TEACH-B", "sdet:E1": "P1"}
