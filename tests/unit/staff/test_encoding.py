"""Encodings found, binary files refused, mixed encodings named by line."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from farm.staff.encoding import CP1252, MAX_LINE_BYTES, UTF8, UTF8_BOM, UTF16, BadLine, open_lines
from farm.staff.problems import StaffFileError

TEXT = "Civilité;Nom;Prénom\r\nMadame;CŒUR;Hélène\r\n"


def read(path: Path) -> tuple[list[str], str, dict[int, BadLine]]:
    binary, lines = open_lines(path)
    with binary:
        got = list(lines)
    return got, lines.encoding, lines.bad_lines


@pytest.mark.parametrize(
    ("encoding", "found"),
    [("utf-8", UTF8), ("utf-8-sig", UTF8_BOM), ("utf-16", UTF16), ("utf-16-be", None),
     ("cp1252", CP1252)],
)  # fmt: skip
def test_each_accepted_encoding_reads_the_same_lines(
    tmp_path: Path, encoding: str, found: str | None
) -> None:
    path = tmp_path / "f.csv"
    data = TEXT.encode(encoding)
    if encoding == "utf-16-be":
        data, found = codecs.BOM_UTF16_BE + data, UTF16
    path.write_bytes(data)

    lines, detected, bad = read(path)

    assert lines == ["Civilité;Nom;Prénom\r\n", "Madame;CŒUR;Hélène\r\n"]
    assert detected == found
    assert bad == {}


def test_ascii_lines_wait_for_the_first_non_ascii_one_to_decide(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"Nom;Prenom\n" * 5000 + "Hélène;CŒUR\n".encode("cp1252"))

    lines, detected, bad = read(path)

    assert detected == CP1252
    assert lines[-1] == "Hélène;CŒUR\n"
    assert bad == {}


def test_a_windows_1252_line_in_a_utf8_file_is_a_bad_line_named_by_number(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes("Prénom\nHélène\n".encode() + "Zoé\n".encode("cp1252") + b"Anne\n")

    lines, detected, bad = read(path)

    assert detected == UTF8
    assert list(bad) == [3]
    assert "not UTF-8 like the rest of the file (byte 0xE9 at character 3)" in bad[3].reason
    assert bad[3].offset == 2
    assert len(lines) == 4


def test_a_utf8_line_in_a_windows_1252_file_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes("Zoé\n".encode("cp1252") + "Hélène\n".encode())

    _, detected, bad = read(path)

    assert detected == CP1252
    assert bad == {
        2: BadLine(
            "UTF-8 text in a file that is Windows-1252 up to here (at character 2): the file "
            "mixes encodings",
            1,
        )
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "this is a ZIP archive (an .xlsx or .ods spreadsheet?)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Excel 97-2003 (.xls)"),
        (b"%PDF-1.7\n", "this is a PDF document"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        ("Nom;Prénom\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
        (b"Nom;Prenom\nab\x00cd\n", "NUL byte at byte 14: this is a binary file"),
        (b"\xff\xfe\x00\x00N\x00\x00\x00", "UTF-32 text"),
        (b"Nom\rPrenom\rDupont\r", "lone carriage return"),
    ],
)
def test_files_that_are_not_text_are_refused_with_what_they_seem_to_be(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)

    with pytest.raises(StaffFileError) as caught:
        read(path)

    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}")


def test_random_bytes_are_refused_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    generator = random.Random(4)
    # No NUL byte: the refusal must come from the bytes being no text at all.
    path.write_bytes(bytes(generator.randrange(1, 256) for _ in range(20_000)))

    with pytest.raises(StaffFileError, match="binary file, not CSV text"):
        read(path)


def test_a_nul_byte_after_the_first_64_kib_refuses_the_file_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"Nom;Prenom\n" * 7000 + b"Dupont;\x00Jean\n")

    with pytest.raises(StaffFileError) as caught:
        read(path)

    assert caught.value.line == 7001
    assert caught.value.column == 8
    assert f"{path}:7001:8: NUL byte" in str(caught.value)


def test_a_line_longer_than_the_limit_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"Nom\n" + b"x" * (MAX_LINE_BYTES + 10) + b"\n")

    with pytest.raises(StaffFileError, match=r":2: line longer than 64 KiB"):
        read(path)


def test_a_missing_file_and_a_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(StaffFileError, match="no such file"):
        open_lines(tmp_path / "absent.csv")
    with pytest.raises(StaffFileError, match="folder"):
        open_lines(tmp_path)
