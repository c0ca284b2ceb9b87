"""The PARTENAIRE_INDEX export validates against Index Education's schema; the sealed container."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from farm.model import Person, Profile
from farm.pronote.container import ContainerError, load_public_key, open_container, seal
from farm.pronote.parser import read_pronote_file
from farm.pronote.partner_index import (
    ExportError,
    PartnerIndex,
    plan_partner_index,
    write_partner_index,
)
from farm.pronote.records import FileKind, Population
from farm.pronote.settings import PronoteSettings
from tests.fixtures.pronote import schema_errors

AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
A, B = "0900001M", "0900038C"
SETTINGS = PronoteSettings(partner="FARM-OCC")


def person(uid: str, *profiles: Profile, born: str | None = "2011-03-04", **extra: str) -> Person:
    fields = {"birthdate": born} if born else {}
    return Person(
        source_key=f"sdet:{uid}",
        username=uid.lower(),
        idnumber="",
        firstname=extra.get("firstname", "Zoé"),
        lastname=extra.get("lastname", "PETIT"),
        email="",
        profiles=frozenset(profiles),
        establishments=frozenset({A}),
        profile_fields=fields | ({"ine": extra["ine"]} if "ine" in extra else {}),
    )


PEOPLE = [
    person("E1", Profile.STUDENT, ine="123456789AB"),
    person("E2", Profile.STUDENT, firstname="Théo"),
    person("T1", Profile.TEACHER, Profile.PARENT, lastname="DURAND", firstname="Cécile"),
    person("S1", Profile.STAFF, born=None, lastname="ROBERT"),
    person("P1", Profile.PARENT, born=None, firstname="Joël"),
    person("U1", Profile.TUTOR, born=None),
]
GUARDIANS = [("sdet:P1", "sdet:E1"), ("sdet:T1", "sdet:E1"), ("sdet:P1", "sdet:E2")]


def planned(people: list[Person] = PEOPLE, **extra: object) -> PartnerIndex:
    return plan_partner_index(
        [(A, "Lycée Martin"), (B, "Collège Bernard")],
        people,
        GUARDIANS,
        SETTINGS,
        at=AT,
        **extra,  # type: ignore[arg-type]
    )


def test_the_export_validates_against_rapprochement_sso() -> None:
    index = planned()
    document = write_partner_index(index)
    assert schema_errors("RapprochementSSO", document) == []
    assert index.left_out == ()
    assert {p: index.count(p) for p in Population} == {
        Population.PUPILS: 2,
        Population.TEACHERS: 1,
        Population.STAFF: 1,
        Population.GUARDIANS: 2,
    }


def test_the_export_reads_back_with_ids_birth_dates_and_guardian_links(tmp_path: Path) -> None:
    path = tmp_path / "0900001M.xml"
    path.write_bytes(write_partner_index(planned()))
    read = read_pronote_file(path)
    assert read.kind is FileKind.PARTNER_INDEX
    assert read.partner == "FARM-OCC"
    assert [e.uai for e in read.establishments] == [A, B]
    pupils = {p.pronote_id: p for p in read.of(Population.PUPILS)}
    assert set(pupils) == {"E1", "E2"}
    assert pupils["E1"].ine == "123456789AB"
    assert str(pupils["E1"].birth_date) == "2011-03-04"
    guardians = {p.ident: p.pronote_id for p in read.of(Population.GUARDIANS)}
    assert sorted(guardians[i] for i in pupils["E1"].guardians) == ["P1", "T1"]
    assert [guardians[i] for i in pupils["E2"].guardians] == ["P1"]


def test_a_pupil_without_birth_date_is_caught_before_writing_and_left_out() -> None:
    undated = person("E3", Profile.STUDENT, born=None, firstname="Inès")
    index = planned([*PEOPLE, undated])
    (left,) = index.left_out
    assert (left.population, left.source_key) == (Population.PUPILS, "sdet:E3")
    assert "birth date (birthdate)" in left.missing
    assert "sdet:E3" not in {e.source_key for e in index.entries}
    assert schema_errors("RapprochementSSO", write_partner_index(index)) == []


def test_the_schema_itself_refuses_a_pupil_without_birth_date() -> None:
    # What the check above prevents: the same document with the date left in the entry empty.
    index = planned()
    broken = replace(
        index,
        entries=tuple(
            replace(e, birth_date=None) if e.source_key == "sdet:E2" else e for e in index.entries
        ),
    )
    errors = schema_errors("RapprochementSSO", write_partner_index(broken))
    assert any("DateNaissance" in e for e in errors)


def test_missing_partner_ids_are_listed_never_invented() -> None:
    settings = PronoteSettings(partner="FARM", partner_id="field:casid")
    index = plan_partner_index([(A, "L")], PEOPLE[:2], [], settings, at=AT)
    assert index.entries == ()
    assert [str(x) for x in index.left_out] == [
        "pupil sdet:E1 (PETIT Zoé): no ID_Partenaire (field:casid)",
        "pupil sdet:E2 (PETIT Théo): no ID_Partenaire (field:casid)",
    ]


def test_a_link_to_a_guardian_left_out_is_dropped_and_said() -> None:
    nameless = person("P1", Profile.PARENT, born=None, firstname=" ")
    index = planned([PEOPLE[0], PEOPLE[1], nameless])
    assert [x.source_key for x in index.left_out] == ["sdet:P1"]
    assert {x.source_key for x in index.dropped_links} == {"sdet:E1", "sdet:E2"}
    assert schema_errors("RapprochementSSO", write_partner_index(index)) == []


def test_without_a_partner_id_nothing_is_made() -> None:
    with pytest.raises(ExportError, match="--partner"):
        plan_partner_index([(A, "L")], PEOPLE, [], PronoteSettings(), at=AT)


def key_pair() -> tuple[rsa.RSAPrivateKey, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, pem


def test_a_sealed_container_validates_and_opens_to_the_same_document() -> None:
    private, pem = key_pair()
    document = write_partner_index(planned())
    sealed = seal(document, load_public_key(pem, "ie.pem"), partner="FARM-OCC", uai=A, at=AT)
    assert schema_errors("ConteneurImportChiffre", sealed.document) == []
    assert b"PETIT" not in sealed.document
    assert open_container(sealed.document, private) == document


def test_a_container_does_not_open_with_another_key() -> None:
    _, pem = key_pair()
    other, _ = key_pair()
    sealed = seal(b"<x/>", load_public_key(pem, "ie.pem"), partner="F", uai=A, at=AT)
    with pytest.raises(ContainerError):
        open_container(sealed.document, other)


def test_a_key_file_that_is_not_an_rsa_public_key_is_named() -> None:
    with pytest.raises(ContainerError, match=r"ie\.pem: not a PEM public key"):
        load_public_key(b"-----BEGIN NOTHING-----", "ie.pem")
