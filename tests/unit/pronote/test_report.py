"""The match report: JSON, table and CSV drawn from one dict, with the link commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from farm.csv_cells import write_rows
from farm.pronote.links import plan_links
from farm.pronote.matching import match_people
from farm.pronote.records import FileKind, ImportMode, Population, PronoteFile
from farm.pronote.report import CSV_HEADER, build_report, csv_rows, report_lines
from tests.unit.pronote.people import AT, A, B, farmer, link, listed

BORN = date(2011, 3, 4)


def report(mode: ImportMode = ImportMode.FULL) -> dict[str, object]:
    file_people = (
        listed("P1", "MARTIN", "Léa", born=BORN, line=3),
        listed("P2", "MARTINES", "Lea", born=BORN, line=4),
        listed("P3", "=HYPERLINK(1)", "x", born=BORN, line=5),
    )
    people = [
        farmer("E1", "MARTIN", "Léa", born=BORN),
        farmer("E2", "MARTINEZ", "Léa", born=BORN, tenants=[B]),
        farmer("E3", "ROBERT", "Hugo", born=BORN),
    ]
    existing = [link("sdet:E3", "OLD3")]
    file = PronoteFile("IdPN_To_KOSMOS.xml", FileKind.IDPN, file_people)
    result = match_people(file.people, people, existing, tenants=[A, B])
    plan = plan_links(
        result, existing, mode=mode, tenants=[A, B], file=file.name, at=AT, threshold=1, floor=5
    )
    return build_report(file, result, plan)


def test_the_report_is_plain_json_with_counts_per_population() -> None:
    made = report()
    assert json.loads(json.dumps(made)) == made
    pupils = made["populations"]["pupils"]  # type: ignore[index]
    assert pupils["counts"] == {
        "matched": 1,
        "unmatched_file": 2,
        "ambiguous": 0,
        "unmatched_farm": 2,
    }
    assert made["links"] == {"add": 1, "update": 0, "keep": 0, "remove": 1}
    assert made["unlinked"] == [
        {"tenant": A, "source_key": "sdet:E3", "population": "pupils", "pronote_id": "OLD3"}
    ]


def test_unmatched_lines_carry_their_closest_candidate_and_the_command_to_link_it() -> None:
    pupils = report()["populations"]["pupils"]  # type: ignore[index]
    near = next(e for e in pupils["unmatched_file"] if e["pronote_id"] == "P2")
    # Best first: MARTINEZ Léa, then MARTIN Léa (matched to P1, still shown).
    assert [c["source_key"] for c in near["candidates"]] == ["sdet:E2", "sdet:E1"]
    # E2 is of the collège only: the command names its tenant.
    assert near["link"] == f"farm pronote link --tenant {B} P2 sdet:E2"
    farm_side = {e["source_key"]: e for e in pupils["unmatched_farm"]}
    assert farm_side["sdet:E3"]["linked"] == "OLD3"
    assert farm_side["sdet:E2"]["link"] == f"farm pronote link --tenant {B} P2 sdet:E2"


def test_the_table_shows_counts_lists_commands_and_the_unlinked() -> None:
    lines = list(report_lines(report()))
    text = "\n".join(lines)
    assert lines[0] == f"IdPN_To_KOSMOS.xml (idpn) in mode Complet for {A}, {B}"
    assert "pupils              1                 2                      2          0" in text
    assert f"farm pronote link --tenant {B} P2 sdet:E2" in text
    assert "unlinked (1: absent from this full import):" in text
    assert "links: 1 to add, 0 to update, 0 kept, 1 to remove" in text
    assert "Partiel" in next(report_lines(report(ImportMode.PARTIAL)))


def test_the_table_lists_a_limited_number_of_lines_per_list() -> None:
    text = "\n".join(report_lines(report(), limit=1))
    assert "... and 1 more (see --json or --csv)" in text


def test_csv_rows_per_population_are_safe_for_spreadsheets() -> None:
    made = report()
    out = io.StringIO()
    count = write_rows(out, CSV_HEADER, csv_rows(made, "pupils"))
    assert count == 5
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["outcome"] for r in rows} == {"matched", "unmatched_file", "unmatched_farm"}
    hostile = next(r for r in rows if r["pronote_id"] == "P3")
    assert hostile["lastname"] == "'=HYPERLINK(1)"
    assert all(r["population"] == "pupils" for r in rows)
    assert list(csv_rows(made, Population.STAFF.value)) == []
