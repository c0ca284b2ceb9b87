"""``farm staff check`` run as operators run it: the console script on the shipped farm."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.farm_command import run_farm
from tests.staff_files import (
    COLLEGE,
    ENCODINGS,
    LYCEE,
    STAFF,
    STAFF_HEADER,
    TEACHERS,
    TEACHERS_HEADER,
    csv_text,
    write_csv,
)

FARM = Path(sys.executable).parent / "farm"
SHIPPED = Path(__file__).parents[2] / "tenants"
LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
}


def farm(*args: str | Path, farm_dir: Path = SHIPPED) -> subprocess.CompletedProcess[str]:
    return run_farm(["--farm-dir", str(farm_dir), *map(str, args)])


def checked(*args: str | Path, farm_dir: Path = SHIPPED) -> tuple[int, dict[str, Any]]:
    result = farm("staff", "check", *args, "--json", farm_dir=farm_dir)
    return result.returncode, json.loads(result.stdout)


@pytest.fixture
def farm_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "tenants"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("var"))
    return copy


def test_help_lists_staff_and_its_commands_check_and_import() -> None:
    top = farm("--help")
    group = farm("staff", "--help")
    check = farm("staff", "check", "--help")
    imports = farm("staff", "import", "--help")

    line = r"^  staff +Check and import staff CSV files \(teachers and staff\)\.$"
    assert re.search(line, top.stdout, re.MULTILINE)
    assert group.returncode == 0
    commands = group.stdout.split("Commands:")[1].split("\n")
    assert [c.split()[0] for c in commands if c.strip()] == ["check", "import"]
    for text in (group.stdout, check.stdout):
        assert "farm staff check" in text.split("Example:")[1]
    assert "farm staff import" in imports.stdout.split("Example:")[1]
    assert "--apply" in imports.stdout


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_teachers_file_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "enseignants.csv", TEACHERS_HEADER, TEACHERS, encoding=encoding)

    code, data = checked(path, "--tenant", LYCEE.lower(), "--profile", "teachers")

    assert code == 0
    assert data["ok"] is True
    assert data["encoding"] == LABELS[encoding]
    assert data["tenant"] == LYCEE
    assert [c["field"] for c in data["columns"]][:4] == [
        "civility", "lastname", "firstname", "subject",
    ]  # fmt: skip
    assert data["columns"][1]["header"] == "Nom enseignant"
    assert data["problems"] == []
    assert data["summary"]["to_import"] == 5
    assert data["summary"]["establishments"] == {
        LYCEE: {"name": "Lycée Georges Clemenceau", "people": 5}
    }


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_staff_file_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "personnels.csv", STAFF_HEADER, STAFF, encoding=encoding)

    code, data = checked(path, "--profile", "staff")

    assert code == 0
    assert data["encoding"] == LABELS[encoding]
    summary = data["summary"]
    assert (summary["rows"], summary["to_import"], summary["merged"], summary["left_out"]) == (
        6, 4, 1, 1,
    )  # fmt: skip
    assert {t: e["people"] for t, e in summary["establishments"].items()} == {
        LYCEE: 3,
        COLLEGE: 2,
    }
    assert [(p["line"], p["severity"]) for p in data["problems"]] == [
        (4, "merged"),
        (6, "left out"),
    ]


def test_the_text_report_shows_mapping_problems_and_summary(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "personnels.csv", STAFF_HEADER, STAFF, encoding="cp1252")

    result = farm("staff", "check", path, "--profile", "staff")

    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert f"{path}: staff file, Windows-1252, separator ';', header on the first line" in out
    assert "Fonction du personnel administratif (code)" in out
    assert f"2 problems in {path}" in out
    assert "TOS agents (agents des collectivités) are not exported" in out
    assert "0341921D Collège Georges Clemenceau: 2 people" in out
    assert "rows to import  │ 4" in out
    assert "ready: 4 people to import. Nothing was written." in out


def test_rows_in_conflict_fail_the_check_unless_skipped(tmp_path: Path) -> None:
    rows = [*TEACHERS, ("Dr", "X", "Yves", "Maths", "", "", "", "", "")]
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, rows)

    failed = farm("staff", "check", path, "--tenant", LYCEE, "--profile", "teachers")
    skipped = farm(
        "staff", "check", path, "--tenant", LYCEE, "--profile", "teachers", "--skip-conflicts"
    )

    assert failed.returncode == 1
    assert "1 row in conflict: correct them, or give --skip-conflicts" in failed.stdout
    assert skipped.returncode == 0
    assert "ready: 5 people to import, 1 row in conflict left out." in skipped.stdout


def test_passwords_are_never_printed(tmp_path: Path) -> None:
    rows = [*TEACHERS, ("M", "X", "Yves", "Maths", "yx", "q7", "", "", "")]
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, rows)

    text = farm("staff", "check", path, "--tenant", LYCEE, "--profile", "teachers")
    code, data = checked(path, "--tenant", LYCEE, "--profile", "teachers")

    shown = text.stdout + text.stderr + json.dumps(data)
    assert "Cogito-1637" not in shown
    assert ";q7" not in shown
    assert "q7" not in [p["value"] for p in data["problems"]]
    assert data["problems"][0]["value"] == "(hidden)"
    assert code == 1


def test_a_saved_column_profile_is_given_back_by_name(tmp_path: Path, farm_copy: Path) -> None:
    header = ("Titre", "Patronyme", "Prénom usuel", "Discipline", "Portable")
    rows = [("M", "PLATON", "Francis", "Philosophie", "'0612345678")]
    path = write_csv(tmp_path / "export.csv", header, rows, separator="|")

    saved = farm(
        "staff", "check", path, "--tenant", LYCEE, "--profile", "teachers", "--separator", "|",
        "--columns", "mobile=", "--save-profile", "logiciel-x", farm_dir=farm_copy,
    )  # fmt: skip
    profile = farm_copy / "staff-profiles" / "logiciel-x.toml"
    again = farm(
        "staff", "check", path, "--tenant", LYCEE, "--columns", "logiciel-x", "--json",
        farm_dir=farm_copy,
    )  # fmt: skip
    wrong = farm(
        "staff", "check", path, "--profile", "staff", "--columns", "logiciel-x",
        farm_dir=farm_copy,
    )  # fmt: skip

    assert saved.returncode == 0, saved.stderr
    assert f"column profile saved: {profile}" in saved.stdout
    assert 'kind = "teachers"' in profile.read_text(encoding="utf-8")
    assert 'separator = "|"' in profile.read_text(encoding="utf-8")
    data = json.loads(again.stdout)
    assert again.returncode == 0
    assert [c["header"] for c in data["columns"]] == list(header[:4])
    assert {c["from"] for c in data["columns"]} == {"given"}
    assert [(c["header"], c["reason"]) for c in data["ignored"]] == [
        ("Portable", "--columns leaves mobile out")
    ]
    assert wrong.returncode == 1
    assert "is a profile of teachers files, not of staff files" in wrong.stderr
    assert farm("tenants", "check", "--skip-secrets", farm_dir=farm_copy).returncode == 0


def test_a_file_without_header_is_read_by_position(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", None, [row[:4] for row in TEACHERS])

    code, data = checked(path, "--tenant", LYCEE, "--profile", "teachers", "--no-header")

    assert code == 0
    assert data["header"] is False
    assert [(c["field"], c["column"], c["from"]) for c in data["columns"]] == [
        ("civility", 1, "position"),
        ("lastname", 2, "position"),
        ("firstname", 3, "position"),
        ("subject", 4, "position"),
    ]
    assert data["summary"]["to_import"] == 5


def folder_listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


HOSTILE: dict[str, tuple[bytes, int, str]] = {
    "utf16-no-bom": (
        csv_text(TEACHERS_HEADER, TEACHERS).encode("utf-16-le"),
        1,
        "this looks like UTF-16 text without a byte-order mark",
    ),
    "xlsx": (b"PK\x03\x04\x14\x00" + bytes(range(256)), 0, "this is a ZIP archive"),
    "garbage": (bytes((i * 7919) % 251 + 1 for i in range(40_000)), 0, "binary file"),
    "header-only": (csv_text(TEACHERS_HEADER, []).encode(), 1, "the header is the only line"),
    "missing-column": (
        csv_text(TEACHERS_HEADER[:3], [r[:3] for r in TEACHERS]).encode(),
        1,
        "no column for subject, mandatory in a teachers file",
    ),
    "wrong-kind": (
        csv_text(STAFF_HEADER, STAFF).encode("cp1252"),
        1,
        "this is a staff file, not a teachers file",
    ),
    "commas": (
        csv_text(TEACHERS_HEADER, TEACHERS, separator=",").encode(),
        1,
        "the file uses another separator (give --separator ',')",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_is_refused_by_name_and_line_and_nothing_is_written(
    tmp_path: Path, farm_copy: Path, case: str
) -> None:
    data, line, message = HOSTILE[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(data)
    before = folder_listing(farm_copy)

    result = farm(
        "staff", "check", path, "--tenant", LYCEE, "--profile", "teachers",
        "--save-profile", "never", farm_dir=farm_copy,
    )  # fmt: skip
    as_json = farm(
        "staff", "check", path, "--tenant", LYCEE, "--profile", "teachers", "--json",
        farm_dir=farm_copy,
    )  # fmt: skip

    assert result.returncode == 1
    where = f"{path}:{line}:" if line else f"{path}: "
    assert result.stderr.startswith(where), result.stderr
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("nothing was done.")
    assert result.stdout == ""
    error = json.loads(as_json.stdout)["error"]
    assert error["line"] == (line or None)
    assert message in error["message"]
    assert folder_listing(farm_copy) == before
    assert not (farm_copy / "staff-profiles").exists()


def test_an_unknown_tenant_is_named_with_close_ones(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", TEACHERS_HEADER, TEACHERS)

    result = farm("staff", "check", path, "--tenant", "0340041X", "--profile", "teachers")

    assert result.returncode == 1
    assert "--tenant: no tenant '0340041X' in the farm (did you mean 0340041K" in result.stderr


def _max_rss_kib(*args: str | Path) -> tuple[int, str]:
    """Run ``farm`` and return its peak resident memory (KiB, Linux) and its stdout."""
    process = subprocess.Popen(
        [str(FARM), "--farm-dir", str(SHIPPED), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, out
    return usage.ru_maxrss, out


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_100000_line_file_is_checked_in_bounded_memory(tmp_path: Path) -> None:
    small = write_csv(tmp_path / "small.csv", TEACHERS_HEADER, TEACHERS)
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8", newline="") as written:
        written.write(csv_text(TEACHERS_HEADER, []))
        for number in range(100_000):
            written.write(
                f"Mme;NOM{number};Prénom{number % 97};Mathématiques;;;'06000;"
                f"p{number}@example.fr;12/03/1971\r\n"
            )
    options = ("--tenant", LYCEE, "--profile", "teachers", "--json")

    baseline, _ = _max_rss_kib("staff", "check", small, *options)
    peak, out = _max_rss_kib("staff", "check", big, *options)

    assert json.loads(out)["summary"]["to_import"] == 100_000
    # The file is 8 MB; held as rows it would take hundreds. A sync key per person is ~30 MB.
    assert peak - baseline < 64 * 1024, f"{(peak - baseline) // 1024} MiB above the small file's"
