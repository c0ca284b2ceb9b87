"""The generated directory: deterministic, realistic, with its truth."""

from __future__ import annotations

from farm.simulators.directory import generate
from farm.uai import is_uai


def test_same_seed_same_ldif_other_seed_other_ldif() -> None:
    assert generate(3, 300, seed=5).ldif() == generate(3, 300, seed=5).ldif()
    assert generate(3, 300, seed=5).ldif() != generate(3, 300, seed=6).ldif()


def test_establishments_have_valid_uais_and_siret_rdns() -> None:
    directory = generate(6, 600, seed=1)

    for etab in directory.establishments:
        assert is_uai(etab.uai)
        assert etab.dn.startswith(f"ENTStructureSIREN={etab.siren},")
        assert etab.uai not in etab.dn
    assert len(directory.cites) == 2
    lycee, college = directory.cites[0]
    entries = dict(directory.entries)
    college_dn = next(e.dn for e in directory.establishments if e.uai == college)
    lycee_dn = next(e.dn for e in directory.establishments if e.uai == lycee)
    assert entries[college_dn]["ENTEtablissementStructRattachFctl"] == [lycee_dn]


def test_people_cover_every_kind_and_every_awkward_case() -> None:
    directory = generate(4, 800, seed=2)
    people = directory.people

    assert {k for p in people for k in p.kinds} == {"student", "teacher", "staff", "parent"}
    assert any(p.kinds == {"teacher", "parent"} for p in people)
    assert any(len(p.uais) == 2 and "teacher" in p.kinds for p in people)
    assert any(len(p.uais) == 2 and "parent" in p.kinds for p in people)
    names = [(p.firstname, p.lastname) for p in people if p.valid]
    assert len(set(names)) < len(names)  # homonyms
    text = " ".join(f"{f} {n}" for f, n in names)
    assert "'" in text
    assert "-" in text
    assert any(not c.isascii() for c in text)
    assert {p.broken for p in people} == {
        None,
        "missing-givenName",
        "malformed-class",
        "unknown-structure",
    }


def test_ldif_is_base64_for_non_ascii_values() -> None:
    ldif = generate(1, 60, seed=3).ldif()

    assert "givenName:: " in ldif or "sn:: " in ldif
    assert all(line.isascii() for line in ldif.splitlines())
