"""Safety stops: an empty, truncated or much smaller source never empties a site."""

from __future__ import annotations

from dataclasses import replace

from farm.model import Cohort, CohortMembership, Kind

from .factory import actions, apply, person, plan, synced, tenant

A, B = "0290009C", "0290010D"


def test_an_empty_source_stops_the_run_with_a_clear_reason() -> None:
    index = synced(tenant(A, [person(n) for n in range(812)]))

    result = plan(index, tenant(A, []))

    assert result.operations == ()
    assert result.blocked is not None
    assert result.blocked.rule == "empty-source"
    assert (result.blocked.source_count, result.blocked.index_count) == (0, 812)
    assert result.blocked.reason == (
        "the source returned 0 people for 0290009C while the index holds 812 on "
        "lycee.example.fr: refusing to remove anything; check the source, or rerun with "
        "--allow-mass-removal"
    )
    assert len(result.withheld) == 812
    assert result.report_lines()[0].startswith("lycee.example.fr: stopped: the source returned 0")


def test_a_stopped_run_withholds_creations_too() -> None:
    index = synced(tenant(A, [person(n) for n in range(50)]))

    result = plan(index, tenant(A, [person(n) for n in range(25, 60)]))

    assert result.blocked is not None
    assert result.blocked.rule == "mass-removal"
    assert result.operations == ()
    assert {a for _, a, _ in [(op.kind, op.action, op.key) for op in result.withheld]} == {
        "create",
        "suspend",
    }
    assert result.summary() == {"person.create": 10, "person.suspend": 25}
    assert "25 of 50 people" in result.blocked.reason


def test_a_round_count_smaller_than_the_index_looks_truncated() -> None:
    index = synced(tenant(A, [person(n) for n in range(1040)]))

    result = plan(index, tenant(A, [person(n) for n in range(1000)]))

    assert result.blocked is not None
    assert result.blocked.rule == "round-count"
    assert "exactly 1000 people for 0290009C" in result.blocked.reason
    assert "size limit" in result.blocked.reason


def test_a_round_count_above_the_index_is_no_size_limit() -> None:
    index = synced(tenant(A, [person(n) for n in range(990)]))

    result = plan(
        index,
        tenant(A, [person(n) for n in range(1, 501)] + [person(n) for n in range(1000, 1500)]),
    )

    assert result.blocked is not None
    assert result.blocked.rule == "mass-removal"
    small = plan(index, tenant(A, [person(n) for n in range(1, 990)] + [person(2000)]))
    assert small.blocked is None


def test_below_the_threshold_removals_run() -> None:
    index = synced(tenant(A, [person(n) for n in range(100)]))

    result = plan(index, tenant(A, [person(n) for n in range(10, 100)]))

    assert result.blocked is None
    assert len(result.operations) == 10


def test_the_threshold_is_configurable() -> None:
    index = synced(tenant(A, [person(n) for n in range(100)]))

    result = plan(
        index, tenant(A, [person(n) for n in range(10, 100)]), mass_removal_threshold=0.05
    )

    assert result.blocked is not None
    assert result.blocked.rule == "mass-removal"
    assert "above the 5% threshold" in result.blocked.reason


def test_a_small_site_may_lose_a_few_people() -> None:
    index = synced(tenant(A, [person(n) for n in range(8)]))

    result = plan(index, tenant(A, [person(n) for n in range(3, 8)]))

    assert result.blocked is None
    assert [a for _, a, _ in actions(result)] == ["suspend"] * 3


def test_allow_mass_removal_lifts_the_stop_for_one_run() -> None:
    index = synced(tenant(A, [person(n) for n in range(812)]))

    result = plan(index, tenant(A, []), allow_mass_removal=True)

    assert result.blocked is None
    assert len(result.operations) == 812
    after = apply(index, result)
    assert all(entry.suspended for entry in after.of(Kind.PERSON).values())


def test_an_empty_tenant_of_a_cite_scolaire_stops_the_site() -> None:
    index = synced(
        tenant(A, [person(n, tenants=(A,)) for n in range(100)]),
        tenant(B, [person(n, tenants=(B,)) for n in range(100, 200)]),
    )

    result = plan(index, tenant(A, [person(n, tenants=(A,)) for n in range(100)]), tenant(B, []))

    assert result.blocked is not None
    assert (result.blocked.rule, result.blocked.tenant) == ("empty-source", B)


def test_no_removal_means_no_stop() -> None:
    index = synced(tenant(A, [person(n) for n in range(10)]))

    result = plan(index, tenant(A, [], complete=False))

    assert result.blocked is None
    assert result.operations == ()


def test_a_person_the_source_could_not_read_keeps_account_and_cohorts() -> None:
    cohort = Cohort("farm_0290009C:2NDE1", "2NDE1")
    people = [person(n) for n in range(20)]
    members = [CohortMembership(cohort.idnumber, p.source_key) for p in people]
    index = synced(tenant(A, people, cohorts=[cohort], members=members))
    broken = replace(
        tenant(A, people[1:], cohorts=[cohort], members=members[1:]),
        held=frozenset({people[0].source_key}),
    )

    result = plan(index, broken)

    assert result.blocked is None
    assert result.operations == ()
    assert any("could not read" in note for note in result.notes)
