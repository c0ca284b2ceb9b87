"""Headers matched to fields, mappings given, and files of the wrong kind refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.staff.columns import map_columns, parse_columns
from farm.staff.fields import StaffField, StaffKind, field_of_header, header_key
from farm.staff.problems import StaffFileError
from tests.staff_files import STAFF_HEADER, TEACHERS_HEADER

F = StaffField
PATH = Path("staff.csv")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Civilité enseignant", F.CIVILITY),
        ("CIVILITE", F.CIVILITY),
        ("civilite du personnel administratif", F.CIVILITY),
        ("Nom", F.LASTNAME),
        ("Nom d'usage", F.LASTNAME),
        ("Prénom de l'enseignant", F.FIRSTNAME),
        ("Matière enseignant", F.SUBJECT),
        ("Fonction du personnel administratif (code)", F.FUNCTION),
        ("Nom d'utilisateur de l'enseignant", F.LOGIN),
        ("Nom utilisateur enseignant", F.LOGIN),
        ("Mot de passe", F.PASSWORD),
        ("RNE administratif", F.UAI),
        ("UAI", F.UAI),
        ("Code postal", F.POSTCODE),
        ("Téléphone fixe du personnel administratif", F.PHONE),
        ("Tél. portable", F.MOBILE),
        ("Adresse e-mail enseignant", F.EMAIL),
        ("Courriel", F.EMAIL),
        ("Date de naissance enseignant", F.BIRTHDATE),
        ("Né(e) le", F.BIRTHDATE),
        ("Cle synchro enseignant", F.SYNC_KEY),
        ("Type d'usager", F.USERTYPE),
        ("Adresse enseignant", F.ADDRESS),
        ("Ville", F.CITY),
    ],
)
def test_headers_are_matched_by_synonym_with_case_and_accents_folded(
    header: str, expected: StaffField
) -> None:
    assert field_of_header(header) is expected


def test_words_that_only_say_whose_field_it_is_are_dropped() -> None:
    assert header_key("Nom d'utilisateur de l'enseignant") == "nomutilisateur"
    assert header_key("Date de naissance") == "datenaissance"
    assert header_key("Enseignant") == "enseignant"
    assert field_of_header("Couleur préférée") is None


def test_the_seed_teachers_header_maps_every_column() -> None:
    columns = map_columns(PATH, StaffKind.TEACHERS, TEACHERS_HEADER, 0)

    assert [c.field for c in columns.used()] == [
        F.CIVILITY, F.LASTNAME, F.FIRSTNAME, F.SUBJECT, F.LOGIN, F.PASSWORD, F.POSTCODE,
        F.EMAIL, F.BIRTHDATE,
    ]  # fmt: skip
    assert columns.ignored == ()
    assert columns.columns[F.SUBJECT].header == "Matière enseignant"
    assert columns.columns[F.SUBJECT].number == 4


def test_unknown_and_sync_key_columns_are_ignored_with_a_reason() -> None:
    header = ["Cle synchro", "Civilité", "Nom", "Prénom", "Matière", "Couleur", ""]
    columns = map_columns(PATH, StaffKind.TEACHERS, header, 0)

    assert [(c.number, c.header, c.reason) for c in columns.ignored] == [
        (1, "Cle synchro", "sync keys are made by the farm"),
        (6, "Couleur", "no field of that name"),
        (7, "column 7", "no header"),
    ]


def test_a_subject_column_in_a_staff_file_is_ignored() -> None:
    columns = map_columns(PATH, StaffKind.STAFF, [*STAFF_HEADER, "Matière"], 0)

    assert F.SUBJECT not in columns.columns
    assert columns.ignored[-1].reason == "a staff file has no subject"


def test_a_given_mapping_overrides_the_header_field_by_field() -> None:
    header = ["Titre", "Patronyme", "Prénom", "Discipline", "Nom", "Portable"]
    given = parse_columns("lastname=Nom,mobile=, civility=1")

    columns = map_columns(PATH, StaffKind.TEACHERS, header, 0, given=given)

    assert columns.columns[F.LASTNAME].number == 5
    assert columns.columns[F.LASTNAME].origin == "given"
    assert columns.columns[F.CIVILITY].origin == "given"
    assert F.MOBILE not in columns.columns
    assert columns.given_form()[F.LASTNAME] == "Nom"
    assert [(c.number, c.reason) for c in columns.ignored] == [
        (2, "--columns gave lastname another column"),
        (6, "--columns leaves mobile out"),
    ]


def test_a_file_without_header_is_read_in_the_seed_order() -> None:
    columns = map_columns(PATH, StaffKind.STAFF, None, 5)

    assert [c.field for c in columns.used()] == [
        F.CIVILITY, F.LASTNAME, F.FIRSTNAME, F.FUNCTION, F.LOGIN,
    ]  # fmt: skip
    assert columns.given_form()[F.FUNCTION] == 4


def test_numbers_move_fields_of_a_file_without_header() -> None:
    given = parse_columns("lastname=1,firstname=2,civility=3")

    columns = map_columns(PATH, StaffKind.TEACHERS, None, 4, given=given)

    assert {f: c.number for f, c in columns.columns.items()} == {
        F.LASTNAME: 1, F.FIRSTNAME: 2, F.CIVILITY: 3, F.SUBJECT: 4,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lastname", "'lastname' is not FIELD=COLUMN"),
        ("colour=3", "'colour' is no field"),
        ("nom=2,lastname=3", "lastname is given twice"),
        ("nom=0", "numbered from 1"),
    ],
)
def test_a_wrong_given_mapping_names_its_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_columns(text)


def test_a_given_header_the_file_lacks_is_refused_with_the_headers_it_has() -> None:
    with pytest.raises(StaffFileError, match="names column 'Surnom', which the header does not"):
        map_columns(
            PATH, StaffKind.TEACHERS, TEACHERS_HEADER, 0, given=parse_columns("lastname=Surnom")
        )


def test_a_missing_mandatory_column_is_named_with_the_header_line() -> None:
    with pytest.raises(StaffFileError) as caught:
        map_columns(PATH, StaffKind.TEACHERS, TEACHERS_HEADER[:3], 0, header_line=2)

    assert str(caught.value).startswith("staff.csv:2: no column for subject, mandatory in a")
    assert "'Civilité enseignant', 'Nom enseignant', 'Prénom enseignant'" in str(caught.value)


def test_a_teachers_file_checked_as_staff_is_named_a_teachers_file() -> None:
    with pytest.raises(StaffFileError) as caught:
        map_columns(PATH, StaffKind.STAFF, TEACHERS_HEADER, 0)

    assert "this is a teachers file, not a staff file" in str(caught.value)
    assert "check it with --profile teachers" in str(caught.value)


def test_a_staff_file_checked_as_teachers_is_named_a_staff_file() -> None:
    with pytest.raises(StaffFileError, match="this is a staff file, not a teachers file"):
        map_columns(PATH, StaffKind.TEACHERS, STAFF_HEADER, 0)


def test_a_students_file_is_refused() -> None:
    header = ["Nom élève", "Prénom élève", "Date de naissance", "Classe élève"]
    with pytest.raises(StaffFileError) as caught:
        map_columns(PATH, StaffKind.TEACHERS, header, 0)

    assert "shows a students file" in str(caught.value)
    assert caught.value.column == 1


def test_two_columns_naming_one_field_are_refused() -> None:
    header = ["Civilité", "Nom", "Prénom", "Matière", "Nom usuel"]
    with pytest.raises(StaffFileError) as caught:
        map_columns(PATH, StaffKind.TEACHERS, header, 0)

    assert "columns 2 ('Nom') and 5 ('Nom usuel') both name the lastname" in str(caught.value)
    assert caught.value.column == 5


def test_a_first_line_of_data_is_not_taken_for_a_header() -> None:
    with pytest.raises(StaffFileError, match=r"does not look like a header.*--no-header"):
        map_columns(PATH, StaffKind.TEACHERS, ["Monsieur", "PLATON", "Francis", "Philo"], 0)
