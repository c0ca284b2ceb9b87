"""Reading IdPN exports and PARTENAIRE_INDEX documents, and refusing what is not one."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from farm.pronote.parser import PronoteFileError, read_pronote_file
from farm.pronote.records import FileKind, ImportMode, Population
from farm.pronote.settings import IdpnFormat, PopulationNames, PronoteSettings

PARTNER_INDEX = """\
<?xml version="1.0" encoding="UTF-8"?>
<PARTENAIRE_INDEX xmlns="http://www.index-education.com/rapprochementssoV2.0"
    Date="2026-09-01T08:00:00" Partenaire="FARM">
  <Etablissements>
    <Etablissement Ident="1" Numero="0900001M" Nom="Lycée Martin"/>
  </Etablissements>
  <EtablissementsGeres><Etablissement Ident="1"/></EtablissementsGeres>
  <Professeurs>
    <Professeur Ident="2" Nom="DURAND" Prenom="Cécile" ID_Partenaire="T000004"/>
  </Professeurs>
  <Responsables>
    <Responsable Ident="3" Nom="PETIT" Prenom="Joël" ID_Partenaire="P000009"/>
  </Responsables>
  <Eleves>
    <Eleve Ident="4" Nom="PETIT" Prenom="Zoé" DateNaissance="2011-03-04"
        ID_Partenaire="E000001" NumeroNational="123456789AB">
      <Responsable Ident="3"/>
    </Eleve>
  </Eleves>
</PARTENAIRE_INDEX>
"""


def write(
    tmp_path: Path, text: str, name: str = "IdPN_To_KOSMOS.xml", encoding: str = "utf-8"
) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def refusal(path: Path, settings: PronoteSettings | None = None) -> PronoteFileError:
    with pytest.raises(PronoteFileError) as caught:
        read_pronote_file(path, settings)
    return caught.value


def test_an_idpn_export_gives_its_four_populations_and_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """<?xml version="1.0" encoding="ISO-8859-1"?>
<PRONOTE_INDEX Partenaire="KOSMOS" Date="27/06/2019 08:39" Mode="Complet">
  <Etablissements><Etablissement Numero="0301746k" Nom="CLG VIA DOMITIA"/></Etablissements>
  <Eleves>
    <Eleve IdPN="A1" Nom="GARCIA" Prenom="Inès" DateNaissance="04/03/2011" INE="123456789ab"/>
  </Eleves>
  <Professeurs><Professeur IdPN="B1" Nom="MARTIN" Prenom="Loïc" IdentifiantENT="T1"/></Professeurs>
  <Personnels><Personnel IdPN="C1" Nom="ROBERT" Prenom="Anne-Sophie"/></Personnels>
  <Responsables><Responsable IdPN="D1" Nom="GARCIA" Prenom="Rémi" UAI="0301746k"/></Responsables>
</PRONOTE_INDEX>
""",
        encoding="iso-8859-1",
    )

    read = read_pronote_file(path)

    assert read.kind is FileKind.IDPN
    assert read.partner == "KOSMOS"
    assert read.exported_at == datetime(2019, 6, 27, 8, 39)
    assert read.mode is ImportMode.FULL
    assert [e.uai for e in read.establishments] == ["0301746K"]
    assert [p.population for p in read.people] == list(Population)
    pupil, teacher, staff, guardian = read.people
    assert (pupil.pronote_id, pupil.firstname, pupil.birth_date) == ("A1", "Inès", date(2011, 3, 4))
    assert pupil.ine == "123456789ab"
    assert pupil.line == 5
    assert teacher.directory_id == "T1"
    assert staff.name == "ROBERT Anne-Sophie"
    assert guardian.establishment == "0301746K"


@pytest.mark.parametrize(
    ("root", "tag"),
    [
        ('<PRONOTE_INDEX xmlns="http://www.index-education.com/idpn">', "Eleve"),
        ('<pn:PRONOTE_INDEX xmlns:pn="http://www.index-education.com/idpn">', "pn:Eleve"),
    ],
)
def test_elements_are_found_by_local_name_whatever_the_prefix(
    tmp_path: Path, root: str, tag: str
) -> None:
    close = "</pn:PRONOTE_INDEX>" if root.startswith("<pn:") else "</PRONOTE_INDEX>"
    container = "pn:Eleves" if tag.startswith("pn:") else "Eleves"
    path = write(
        tmp_path,
        f'{root}<{container}><{tag} IdPN="1" Nom="A" Prenom="B"/></{container}>{close}',
    )
    assert [p.pronote_id for p in read_pronote_file(path).people] == ["1"]


def test_values_may_be_child_elements_instead_of_attributes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "<PRONOTE_INDEX Mode='Partiel'><Eleves><Eleve>"
        "<IdPN> 77 </IdPN><Nom>LEROY</Nom><Prenom>Théo</Prenom>"
        "<DateNaissance>2010-12-01</DateNaissance><NumeroNational>0912345678X</NumeroNational>"
        "</Eleve></Eleves></PRONOTE_INDEX>",
    )
    read = read_pronote_file(path)
    assert read.mode is ImportMode.PARTIAL
    (pupil,) = read.people
    assert (pupil.pronote_id, pupil.lastname, pupil.birth_date) == (
        "77",
        "LEROY",
        date(2010, 12, 1),
    )
    assert pupil.ine == "0912345678X"


def test_element_names_come_from_the_settings(tmp_path: Path) -> None:
    names = IdpnFormat(
        roots=("EXPORT_IDENTIFIANTS",),
        pupils=PopulationNames(container=("Apprenants",), person=("Apprenant",)),
        pronote_id=("Numero",),
    )
    path = write(
        tmp_path,
        "<EXPORT_IDENTIFIANTS><Apprenants><Apprenant Numero='9' Nom='X' Prenom='Y'/>"
        "</Apprenants></EXPORT_IDENTIFIANTS>",
    )
    (pupil,) = read_pronote_file(path, PronoteSettings(idpn=names)).people
    assert (pupil.population, pupil.pronote_id) == (Population.PUPILS, "9")
    # With the default names the same file is not a Pronote file at all.
    assert "EXPORT_IDENTIFIANTS" in refusal(path).reason


def test_a_partner_index_links_on_id_partenaire_and_keeps_guardian_links(
    tmp_path: Path,
) -> None:
    read = read_pronote_file(write(tmp_path, PARTNER_INDEX, "0900001M.xml"))

    assert read.kind is FileKind.PARTNER_INDEX
    assert read.partner == "FARM"
    assert [(e.uai, e.name) for e in read.establishments] == [("0900001M", "Lycée Martin")]
    by_population = {p.population: p for p in read.people}
    assert set(by_population) == {Population.TEACHERS, Population.GUARDIANS, Population.PUPILS}
    pupil = by_population[Population.PUPILS]
    assert (pupil.pronote_id, pupil.directory_id) == ("E000001", "E000001")
    assert pupil.ine == "123456789AB"
    assert (pupil.ident, pupil.guardians) == ("4", ("3",))
    # The pupil's <Responsable Ident="3"/> is a link, not a fourth guardian.
    assert len(read.of(Population.GUARDIANS)) == 1


def test_a_partner_index_in_another_namespace_is_refused_and_named(tmp_path: Path) -> None:
    text = PARTNER_INDEX.replace("rapprochementssoV2.0", "rapprochementssoV1.0")
    error = refusal(write(tmp_path, text, "old.xml"))
    # libxml2 numbers an element by the line its start tag ends on.
    assert error.line == 3
    assert "rapprochementssoV1.0" in error.reason
    assert "v2.0" in error.reason
    assert str(error).startswith("old.xml:3: ")


def test_an_idpn_root_in_a_foreign_namespace_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, '<PRONOTE_INDEX xmlns="urn:example:other"/>'))
    assert "urn:example:other" in error.reason
    assert "idpn.namespaces" in error.reason


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("<html><body/></html>", "root element html (namespace none) is not a Pronote"),
        (
            '<ImportChiffre xmlns="http://www.index-education.com/containeurimportchiffreV1"/>',
            "encrypted ImportChiffre",
        ),
        ("<PRONOTE_INDEX><Eleves>", "not well-formed XML"),
        ("not xml at all", "not well-formed XML"),
        ("", "empty"),
    ],
)
def test_what_is_not_a_pronote_file_is_refused_with_its_reason(
    tmp_path: Path, text: str, words: str
) -> None:
    assert words in str(refusal(write(tmp_path, text)))


def test_value_problems_are_all_listed_with_their_lines_and_nothing_is_read(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """<PRONOTE_INDEX>
<Eleves>
<Eleve IdPN="1" Nom="A" Prenom="B" DateNaissance="2011-02-30"/>
<Eleve Nom="C" Prenom="D"/>
<Eleve IdPN="3" Nom="E" Prenom="F"/>
<Eleve IdPN="3" Nom="G" Prenom="H"/>
</Eleves>
<Professeurs><Professeur IdPN="3" Nom="I" Prenom="J"/></Professeurs>
</PRONOTE_INDEX>
""",
    )
    error = refusal(path)
    assert error.reason == "3 problems: nothing was imported"
    assert error.problems[0].startswith("line 3: Eleve 1: birth date:")
    assert error.problems[1].startswith("line 4: Eleve without identifier")
    assert error.problems[2] == "line 6: pupil 3 repeats the identifier of line 5"
    # The same identifier in another population is another Pronote account.
    assert not any("line 8" in p for p in error.problems)


def test_an_unknown_export_mode_is_a_problem(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, '<PRONOTE_INDEX Mode="Hebdomadaire"/>'))
    assert "Hebdomadaire" in error.problems[0]


def test_a_file_that_cannot_be_opened_names_itself(tmp_path: Path) -> None:
    error = refusal(tmp_path / "missing.xml")
    assert error.file == "missing.xml"
    assert "cannot be read" in error.reason
