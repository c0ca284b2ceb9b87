"""Column profiles saved in the farm folder and read back; their problems name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.staff.column_profiles import (
    ColumnProfile,
    ColumnProfileError,
    is_profile_name,
    load_profile,
    profile_path,
    save_profile,
)
from farm.staff.fields import StaffField, StaffKind


def test_a_saved_profile_reads_back_the_same(tmp_path: Path) -> None:
    profile = ColumnProfile(
        "pronote-2026",
        StaffKind.TEACHERS,
        {StaffField.CIVILITY: 'Civilité "enseignant"', StaffField.LASTNAME: "Nom\\x"},
        separator="\t",
    )

    path, replaced = save_profile(tmp_path, profile)

    assert path == tmp_path / "staff-profiles" / "pronote-2026.toml"
    assert not replaced
    assert load_profile(tmp_path, "pronote-2026") == profile
    assert save_profile(tmp_path, profile)[1] is True


def test_a_profile_without_header_names_columns_by_number(tmp_path: Path) -> None:
    profile = ColumnProfile("nohead", StaffKind.STAFF, {StaffField.LASTNAME: 2}, header=False)
    save_profile(tmp_path, profile)

    assert load_profile(tmp_path, "nohead").columns == {StaffField.LASTNAME: 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kind = "pupils"\n[columns]\nlastname = 1\n', "kind: 'pupils' is not 'teachers' or"),
        ('kind = "staff"\nsep = ";"\n[columns]\nlastname = 1\n', "sep: unknown key"),
        ('kind = "staff"\n[columns]\nsurname = 1\n', "columns.surname: no such field"),
        ('kind = "staff"\n[columns]\nlastname = 0\n', "columns.lastname: columns are numbered"),
        ('kind = "staff"\nheader = false\n[columns]\nlastname = "Nom"\n', "give a column number"),
        ('kind = "staff"\n', "columns: a table of FIELD = COLUMN is needed"),
        ('kind = "staff"\nseparator = "ab"\n[columns]\nlastname = 1\n', "separator: 'ab' is not"),
        ("kind = ", "not valid TOML"),
    ],
)
def test_a_wrong_profile_names_its_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "staff-profiles" / "bad.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ColumnProfileError) as caught:
        load_profile(tmp_path, "bad")

    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_profile_lists_the_saved_ones(tmp_path: Path) -> None:
    save_profile(tmp_path, ColumnProfile("one", StaffKind.STAFF, {StaffField.LASTNAME: "Nom"}))

    with pytest.raises(ColumnProfileError, match="no such column profile; profiles saved: one"):
        load_profile(tmp_path, "two")


def test_profile_names_cannot_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ColumnProfileError, match="cannot name a column profile"):
        profile_path(tmp_path, "../farm")
    assert is_profile_name("pronote-2026")
    assert not is_profile_name("lastname=2")
    assert not is_profile_name("Nom Enseignant")
