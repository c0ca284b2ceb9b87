"""The match report: per population, who matched, who did not on either side, who is ambiguous.

:func:`build_report` makes it a plain JSON-ready dict, which is what
``--json`` prints and what the registry keeps with each import; the table
(:func:`report_lines`) and the CSV files (:func:`csv_rows`, one per
population) are drawn from that dict, so ``farm pronote report`` shows a
stored import exactly as the import showed it. Every unmatched or
ambiguous line carries the command that links it by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from farm.pronote.identity import FarmPerson
from farm.pronote.links import Change, LinkPlan
from farm.pronote.matching import FileMatch, MatchResult, Outcome
from farm.pronote.records import Population, PronoteFile, PronotePerson

#: Sections of one population, in the order they are shown.
SECTIONS = ("matched", "unmatched_file", "ambiguous", "unmatched_farm")
SECTION_TITLES = {
    "matched": "matched",
    "unmatched_file": "unmatched in the file",
    "ambiguous": "ambiguous",
    "unmatched_farm": "unmatched in the directory",
}
CSV_HEADER = (
    "population",
    "outcome",
    "pronote_id",
    "lastname",
    "firstname",
    "birth_date",
    "line",
    "source_key",
    "method",
    "reason",
    "candidates",
    "link_command",
)


def link_command(tenants: Sequence[str], pronote_id: str, source_key: str) -> str:
    """The command that links ``source_key`` to ``pronote_id`` by hand."""
    where = " ".join(f"--tenant {tenant}" for tenant in tenants)
    return f"farm pronote link {where} {pronote_id} {source_key}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _farm(person: FarmPerson) -> dict[str, Any]:
    return {
        "source_key": person.source_key,
        "name": person.name,
        "lastname": person.lastname,
        "firstname": person.firstname,
        "birth_date": _day(person.birth_date),
    }


def _listed(person: PronotePerson) -> dict[str, Any]:
    return {
        "pronote_id": person.pronote_id,
        "name": person.name,
        "birth_date": _day(person.birth_date),
    }


def _scope(person: FarmPerson | None, tenants: Sequence[str]) -> list[str]:
    if person is None:
        return list(tenants[:1])
    return sorted(person.establishments & set(tenants)) or list(tenants[:1])


def _file_entry(found: FileMatch, tenants: Sequence[str]) -> dict[str, Any]:
    person = found.person
    entry: dict[str, Any] = {
        "pronote_id": person.pronote_id,
        "lastname": person.lastname,
        "firstname": person.firstname,
        "birth_date": _day(person.birth_date),
        "line": person.line,
    }
    if found.outcome is Outcome.MATCHED:
        assert found.match is not None
        assert found.method is not None
        entry["source_key"] = found.match.source_key
        entry["method"] = found.method.value
        return entry
    best = found.candidates[0] if found.candidates else None
    entry["reason"] = found.reason
    entry["candidates"] = [_farm(c) for c in found.candidates]
    entry["link"] = link_command(
        _scope(best, tenants), person.pronote_id, best.source_key if best else "SOURCE_KEY"
    )
    return entry


def build_report(file: PronoteFile, result: MatchResult, plan: LinkPlan) -> dict[str, Any]:
    """The whole report as plain JSON values; see the module docstring."""
    tenants = list(plan.tenants)
    populations: dict[str, Any] = {}
    for population in Population:
        mine = result.of(population)
        sections: dict[str, list[dict[str, Any]]] = {
            "matched": [],
            "unmatched_file": [],
            "ambiguous": [],
        }
        for found in mine:
            name = {
                Outcome.MATCHED: "matched",
                Outcome.UNMATCHED: "unmatched_file",
                Outcome.AMBIGUOUS: "ambiguous",
            }[found.outcome]
            sections[name].append(_file_entry(found, tenants))
        sections["unmatched_farm"] = [
            {
                **_farm(loose.person),
                "linked": loose.linked,
                "candidates": [_listed(c) for c in loose.candidates],
                "link": link_command(
                    _scope(loose.person, tenants),
                    loose.candidates[0].pronote_id if loose.candidates else "PRONOTE_ID",
                    loose.person.source_key,
                ),
            }
            for loose in result.farm_side
            if loose.population is population
        ]
        populations[population.value] = {
            "counts": {name: len(sections[name]) for name in SECTIONS},
            **sections,
        }
    return {
        "file": file.name,
        "kind": file.kind.value,
        "partner": file.partner,
        "exported_at": file.exported_at.isoformat() if file.exported_at else None,
        "mode": plan.mode.value,
        "tenants": tenants,
        "links": plan.counts(),
        "per_tenant": {
            tenant: {**plan.counts(tenant), "count": plan.final(tenant)} for tenant in tenants
        },
        "stop": str(plan.stop) if plan.stop else None,
        "out_of_scope": len(result.out_of_scope),
        "unlinked": [
            {
                "tenant": c.link.tenant,
                "source_key": c.link.source_key,
                "population": c.link.population.value,
                "pronote_id": c.link.pronote_id,
            }
            for c in plan.of(Change.REMOVE)
        ],
        "populations": populations,
    }


def _candidates(entry: Mapping[str, Any]) -> str:
    parts = []
    for candidate in entry.get("candidates", ()):
        key = candidate.get("source_key") or candidate.get("pronote_id")
        born = f", born {candidate['birth_date']}" if candidate.get("birth_date") else ""
        parts.append(f"{key} {candidate['name']}{born}")
    return "; ".join(parts)


def report_lines(report: Mapping[str, Any], *, limit: int = 20) -> Iterator[str]:
    """The report as a table for people; ``limit`` lines per list (0: all of them)."""
    label = "Complet" if report["mode"] == "full" else "Partiel"
    yield f"{report['file']} ({report['kind']}) in mode {label} for {', '.join(report['tenants'])}"
    yield ""
    yield (
        f"{'population':<12}{'matched':>9}{'unmatched (file)':>18}"
        f"{'unmatched (directory)':>23}{'ambiguous':>11}"
    )
    for population, part in report["populations"].items():
        c = part["counts"]
        yield (
            f"{population:<12}{c['matched']:>9}{c['unmatched_file']:>18}"
            f"{c['unmatched_farm']:>23}{c['ambiguous']:>11}"
        )
    links = report["links"]
    yield ""
    yield (
        f"links: {links['add']} to add, {links['update']} to update, {links['keep']} kept, "
        f"{links['remove']} to remove"
    )
    if report.get("out_of_scope"):
        yield f"{report['out_of_scope']} file people belong to other establishments: left out"
    for population, part in report["populations"].items():
        for section in ("unmatched_file", "ambiguous", "unmatched_farm"):
            entries = part[section]
            if not entries:
                continue
            yield ""
            yield f"{population}, {SECTION_TITLES[section]} ({len(entries)}):"
            shown = entries if limit == 0 else entries[:limit]
            for entry in shown:
                if section == "unmatched_farm":
                    born = f", born {entry['birth_date']}" if entry.get("birth_date") else ""
                    linked = f", linked earlier to {entry['linked']}" if entry.get("linked") else ""
                    yield f"  {entry['source_key']} {entry['name']}{born}{linked}"
                else:
                    born = f", born {entry['birth_date']}" if entry.get("birth_date") else ""
                    yield (
                        f"  {entry['pronote_id']} {entry['lastname']} {entry['firstname']}{born} "
                        f"(line {entry['line']}): {entry['reason']}"
                    )
                closest = _candidates(entry)
                if closest:
                    yield f"      closest: {closest}"
                yield f"      {entry['link']}"
            if len(shown) < len(entries):
                yield f"  ... and {len(entries) - len(shown)} more (see --json or --csv)"
    unlinked = report.get("unlinked") or []
    if unlinked:
        yield ""
        yield f"unlinked ({len(unlinked)}: absent from this full import):"
        shown_unlinked = unlinked if limit == 0 else unlinked[:limit]
        for entry in shown_unlinked:
            yield (
                f"  {entry['tenant']} {entry['population']} {entry['source_key']} "
                f"(was {entry['pronote_id']})"
            )
        if len(shown_unlinked) < len(unlinked):
            yield f"  ... and {len(unlinked) - len(shown_unlinked)} more (see --json)"


def csv_rows(report: Mapping[str, Any], population: str) -> Iterator[list[object]]:
    """One population's rows under :data:`CSV_HEADER` (cells made safe by the writer)."""
    part = report["populations"][population]
    for section in SECTIONS:
        for entry in part[section]:
            if section == "unmatched_farm":
                yield [
                    population,
                    section,
                    entry.get("linked") or "",
                    entry["lastname"],
                    entry["firstname"],
                    entry.get("birth_date") or "",
                    "",
                    entry["source_key"],
                    "",
                    "",
                    _candidates(entry),
                    entry["link"],
                ]
                continue
            yield [
                population,
                section,
                entry["pronote_id"],
                entry["lastname"],
                entry["firstname"],
                entry.get("birth_date") or "",
                entry["line"],
                entry.get("source_key", ""),
                entry.get("method", ""),
                entry.get("reason", ""),
                _candidates(entry),
                entry.get("link", ""),
            ]
