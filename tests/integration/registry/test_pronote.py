"""Pronote links and imports in the registry, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from farm.model import Profile
from farm.pronote.links import LinkPlan, LinksChanged, plan_links
from farm.pronote.matching import match_people
from farm.pronote.records import (
    FileKind,
    ImportMode,
    Method,
    Population,
    PronoteLink,
    PronotePerson,
)
from farm.registry import Registry
from tests.unit.pronote.people import AT, A, B, farmer, link, listed

BORN = date(2011, 3, 4)
PEOPLE = [
    *(farmer(f"E{i}", f"NOM{i}", "Léa", born=BORN, tenants=[A]) for i in range(6)),
    farmer("T1", "DURAND", "Cécile", Profile.TEACHER, Profile.PARENT, tenants=[A, B]),
]
REPORT = {"file": "IdPN_To_KOSMOS.xml", "populations": {"pupils": {"matched": []}}}


def pupil(i: int, pronote_id: str | None = None) -> PronotePerson:
    return listed(pronote_id or f"P{i}", f"NOM{i}", "Léa", born=BORN)


def plan(
    registry: Registry,
    file: list[PronotePerson],
    mode: ImportMode,
    tenants: tuple[str, ...] = (A, B),
    **extra: object,
) -> LinkPlan:
    existing = registry.pronote_links(tenants)
    result = match_people(file, PEOPLE, existing, tenants=tenants)
    return plan_links(
        result,
        existing,
        mode=mode,
        tenants=tenants,
        file=f"IdPN_To_KOSMOS-{mode.value}.xml",
        at=AT,
        threshold=0.5,
        floor=1,
        **extra,  # type: ignore[arg-type]
    )


def apply(registry: Registry, made: LinkPlan) -> None:
    registry.apply_pronote_plan(made, file_kind=FileKind.IDPN, report=REPORT)


TEACHER = listed("X1", "DURAND", "Cécile", Population.TEACHERS)
GUARDIAN = listed("X2", "DURAND", "Cécile", Population.GUARDIANS)


def test_a_full_then_a_partial_import_keep_links_and_their_history(registry: Registry) -> None:
    full = plan(registry, [pupil(0), pupil(1), pupil(2), TEACHER, GUARDIAN], ImportMode.FULL)
    imports = registry.apply_pronote_plan(full, file_kind=FileKind.IDPN, report=REPORT)
    assert [(i.tenant, i.count, i.added, i.mode) for i in imports] == [
        (A, 5, 5, ImportMode.FULL),
        (B, 2, 2, ImportMode.FULL),
    ]
    links = registry.pronote_links([A])
    assert {(x.source_key, x.population, x.pronote_id) for x in links} == {
        ("sdet:E0", Population.PUPILS, "P0"),
        ("sdet:E1", Population.PUPILS, "P1"),
        ("sdet:E2", Population.PUPILS, "P2"),
        ("sdet:T1", Population.TEACHERS, "X1"),
        ("sdet:T1", Population.GUARDIANS, "X2"),
    }
    assert {x.method for x in links} == {Method.NAMES_BIRTH_DATE, Method.NAMES_PROFILE}
    assert all(x.imported_at.tzinfo is not None for x in links)

    partial = plan(registry, [pupil(3), pupil(1, "P1-BIS")], ImportMode.PARTIAL)
    apply(registry, partial)

    tallies = registry.pronote_tallies([A, B, "0999999Z"])
    last_a, last_b = tallies[A].last, tallies[B].last
    assert tallies[A].links == 6
    assert last_a is not None
    assert (last_a.mode, last_a.added, last_a.updated) == (ImportMode.PARTIAL, 1, 1)
    assert tallies[B].links == 2
    assert last_b is not None
    assert last_b.mode is ImportMode.PARTIAL
    assert tallies["0999999Z"].links == 0
    assert tallies["0999999Z"].last is None
    last = registry.last_pronote_import(A)
    assert last is not None
    assert last.report == REPORT
    assert last.file == "IdPN_To_KOSMOS-partial.xml"
    assert {x.pronote_id for x in registry.pronote_links([A]) if x.source_key == "sdet:E1"} == {
        "P1-BIS"
    }


def test_a_full_import_unlinks_the_absent(registry: Registry) -> None:
    apply(registry, plan(registry, [pupil(0), pupil(1)], ImportMode.FULL))
    apply(registry, plan(registry, [pupil(0)], ImportMode.FULL, allow_mass_removal=True))
    assert [x.source_key for x in registry.pronote_links([A])] == ["sdet:E0"]


def test_identifiers_may_swap_holders_within_one_import(registry: Registry) -> None:
    registry.set_pronote_link(link("sdet:E0", "P0"))
    registry.set_pronote_link(link("sdet:E1", "P1"))
    swapped = [
        listed("P1", "NOM0", "Léa", born=BORN, directory_id="E0"),
        listed("P0", "NOM1", "Léa", born=BORN, directory_id="E1"),
    ]
    apply(registry, plan(registry, swapped, ImportMode.PARTIAL, tenants=(A,)))
    assert {(x.source_key, x.pronote_id) for x in registry.pronote_links([A])} == {
        ("sdet:E0", "P1"),
        ("sdet:E1", "P0"),
    }


def test_a_plan_is_applied_only_to_the_links_it_was_computed_from(registry: Registry) -> None:
    made = plan(registry, [pupil(0)], ImportMode.FULL)
    registry.set_pronote_link(link("sdet:E5", "P5"))
    with pytest.raises(LinksChanged, match="changed since this import was previewed"):
        apply(registry, made)
    assert [x.pronote_id for x in registry.pronote_links([A])] == ["P5"]
    assert registry.pronote_tallies([A])[A].last is None


def test_a_stopped_plan_is_never_applied(registry: Registry) -> None:
    for i in range(6):
        registry.set_pronote_link(link(f"sdet:E{i}", f"P{i}"))
    made = plan(registry, [], ImportMode.FULL, tenants=(A,))
    assert made.stop is not None
    with pytest.raises(ValueError, match="stopped plan"):
        apply(registry, made)
    assert len(registry.pronote_links([A])) == 6


def test_a_manual_link_replaces_the_person_s_and_the_identifier_s_former_links(
    registry: Registry,
) -> None:
    registry.set_pronote_link(link("sdet:E0", "P0"))
    registry.set_pronote_link(link("sdet:E1", "P1"))
    manual = PronoteLink(A, "sdet:E0", Population.PUPILS, "P1", Method.MANUAL, "", "manual", AT)
    replaced = registry.set_pronote_link(manual)
    assert sorted((x.source_key, x.pronote_id) for x in replaced) == [
        ("sdet:E0", "P0"),
        ("sdet:E1", "P1"),
    ]
    (only,) = registry.pronote_links([A])
    assert (only.source_key, only.pronote_id, only.method, only.mode) == (
        "sdet:E0",
        "P1",
        Method.MANUAL,
        "manual",
    )
    assert registry.remove_pronote_link(A, "sdet:E0", Population.PUPILS)
    assert not registry.remove_pronote_link(A, "sdet:E0", Population.PUPILS)
    assert registry.pronote_links([A]) == []
