"""What an import does to a tenant's links: full replaces, partial adds and updates."""

from __future__ import annotations

from datetime import date

from farm.model import Profile
from farm.pronote.identity import FarmPerson
from farm.pronote.links import Change, LinkPlan, links_digest, plan_links
from farm.pronote.matching import match_people
from farm.pronote.records import ImportMode, Population, PronoteLink, PronotePerson
from tests.unit.pronote.people import AT, A, B, farmer, link, listed

BORN = date(2011, 3, 4)
PEOPLE = [farmer(f"E{i}", f"NOM{i}", "Léa", born=BORN) for i in range(10)]


def plan(
    file: list[PronotePerson],
    existing: list[PronoteLink],
    mode: ImportMode,
    *,
    tenants: tuple[str, ...] = (A,),
    people: list[FarmPerson] = PEOPLE,
    threshold: float = 0.5,
    floor: int = 1,
    allow: bool = False,
) -> LinkPlan:
    result = match_people(file, people, existing, tenants=tenants)
    return plan_links(
        result,
        existing,
        mode=mode,
        tenants=tenants,
        file="IdPN_To_KOSMOS.xml",
        at=AT,
        threshold=threshold,
        floor=floor,
        allow_mass_removal=allow,
    )


def pupil(i: int, pronote_id: str | None = None) -> PronotePerson:
    return listed(pronote_id or f"P{i}", f"NOM{i}", "Léa", born=BORN)


def test_full_mode_unlinks_people_absent_from_the_file() -> None:
    existing = [link("sdet:E0", "P0"), link("sdet:E1", "P1")]
    made = plan([pupil(0), pupil(2)], existing, ImportMode.FULL)
    assert made.counts() == {"add": 1, "update": 0, "keep": 1, "remove": 1}
    (removed,) = made.of(Change.REMOVE)
    assert removed.link.source_key == "sdet:E1"
    assert made.final(A) == 2
    assert made.stop is None


def test_partial_mode_adds_and_updates_and_never_unlinks_the_absent() -> None:
    existing = [link("sdet:E0", "P0"), link("sdet:E1", "P1")]
    made = plan([pupil(1, "NEW1"), pupil(2)], existing, ImportMode.PARTIAL)
    assert made.counts() == {"add": 1, "update": 1, "keep": 1, "remove": 0}
    (updated,) = made.of(Change.UPDATE)
    assert (updated.previous and updated.previous.pronote_id, updated.link.pronote_id) == (
        "P1",
        "NEW1",
    )
    assert updated.link.mode == "partial"


def test_an_identifier_taken_by_someone_else_leaves_its_former_holder() -> None:
    existing = [link("sdet:E0", "P0")]
    # The file now gives P0 to E3 (by its ENT identifier): E0 loses it.
    moved = listed("P0", "NOM3", "Léa", born=BORN, directory_id="E3")
    made = plan([moved], existing, ImportMode.PARTIAL)
    assert {(c.change, c.link.source_key) for c in made.changes} == {
        (Change.ADD, "sdet:E3"),
        (Change.REMOVE, "sdet:E0"),
    }


def test_a_kept_link_keeps_how_and_when_it_was_made() -> None:
    existing = [link("sdet:E0", "P0")]
    (kept,) = plan([pupil(0)], existing, ImportMode.FULL).changes
    assert kept.change is Change.KEEP
    assert kept.link == existing[0]


def test_a_person_of_both_establishments_of_a_cite_is_linked_in_both() -> None:
    teacher = farmer("T1", "DURAND", "Cécile", Profile.TEACHER, tenants=[A, B])
    made = plan(
        [listed("X1", "DURAND", "Cécile", Population.TEACHERS)],
        [],
        ImportMode.FULL,
        tenants=(A, B),
        people=[teacher],
    )
    assert sorted(c.link.tenant for c in made.of(Change.ADD)) == [A, B]
    assert (made.final(A), made.final(B)) == (1, 1)


def test_links_of_other_tenants_are_left_alone() -> None:
    elsewhere = link("sdet:E5", "Z5", tenant=B)
    made = plan([pupil(0)], [elsewhere], ImportMode.FULL)
    assert all(c.link.tenant == A for c in made.changes)
    assert made.existing == 0


def test_a_full_import_unlinking_more_than_the_threshold_stops() -> None:
    existing = [link(f"sdet:E{i}", f"P{i}") for i in range(10)]
    made = plan([pupil(0), pupil(1)], existing, ImportMode.FULL, threshold=0.5, floor=5)
    assert made.stop is not None
    assert (made.stop.removals, made.stop.existing) == (8, 10)
    assert "--allow-mass-removal" in str(made.stop)
    assert "80%" in str(made.stop)


def test_the_floor_lets_a_small_tenant_lose_a_few_and_the_flag_lifts_the_stop() -> None:
    existing = [link(f"sdet:E{i}", f"P{i}") for i in range(4)]
    assert plan([], existing, ImportMode.FULL, threshold=0.1, floor=5).stop is None
    many = [link(f"sdet:E{i}", f"P{i}") for i in range(10)]
    assert plan([], many, ImportMode.FULL, threshold=0.1, floor=5).stop is not None
    assert plan([], many, ImportMode.FULL, threshold=0.1, floor=5, allow=True).stop is None
    # Partial mode never unlinks the absent, so it never stops.
    assert plan([], many, ImportMode.PARTIAL, threshold=0.1, floor=5).stop is None


def test_the_digest_changes_exactly_when_the_links_do() -> None:
    one = [link("sdet:E0", "P0"), link("sdet:E1", "P1")]
    assert links_digest(one) == links_digest(list(reversed(one)))
    assert links_digest(one) != links_digest([link("sdet:E0", "P0"), link("sdet:E1", "P9")])
    assert plan([pupil(0)], one, ImportMode.FULL).based_on == links_digest(one)
