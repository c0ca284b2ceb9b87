"""A staff roster added to a directory read: the read still decides what is absent.

:func:`farm.snapshot.with_stored` adds the people a store of the farm holds
(an establishment's staff roster) to a source's read of the tenant. A
complete read plus the roster must never remove the roster's people, must
still remove the people the directory dropped, and the safety checks must
still see a directory that answered empty or truncated for what it is.
"""

from __future__ import annotations

import pytest

from farm.model import Cohort, CohortMembership, Kind, Profile, TenantSnapshot
from farm.snapshot import merge_site, with_stored

from .factory import actions, apply, person, plan, synced, tenant

A, B = "0290009C", "0290010D"


def roster(uai: str, *names: str) -> TenantSnapshot:
    """A roster's snapshot as :func:`farm.staff.roster_snapshot` gives it: complete."""
    people = [
        person(
            f"x{name}", tenants=[uai], profile=Profile.STAFF, source_key=f"csv:PERSON.m-mme{name}"
        )
        for name in names
    ]
    cohort = Cohort(f"farm_csv:{uai}:function:EDU", "Education")
    return TenantSnapshot(
        uai,
        people=tuple(people),
        cohorts=(cohort,),
        cohort_members=tuple(CohortMembership(cohort.idnumber, p.source_key) for p in people),
    )


DIRECTORY = [person(n, tenants=[A]) for n in range(40)]


def test_a_complete_read_plus_the_roster_keeps_the_roster_and_drops_who_the_directory_dropped() -> (
    None
):
    index = synced(with_stored(tenant(A, DIRECTORY), roster(A, "ana", "bob")))

    result = plan(index, with_stored(tenant(A, DIRECTORY[1:]), roster(A, "ana", "bob")))

    assert actions(result) == [(Kind.PERSON, "suspend", "sdet:0")]


def test_a_delta_read_plus_the_roster_removes_no_one() -> None:
    index = synced(with_stored(tenant(A, DIRECTORY), roster(A, "ana", "bob")))

    result = plan(index, with_stored(tenant(A, DIRECTORY[1:], complete=False), roster(A, "ana")))

    assert result.operations == ()
    assert merge_site([with_stored(tenant(A, [], complete=False), roster(A, "ana"))]).complete == (
        frozenset()
    )


def test_a_person_who_left_the_roster_leaves_the_site_when_the_read_is_complete() -> None:
    index = synced(with_stored(tenant(A, DIRECTORY), roster(A, "ana", "bob")))

    result = plan(index, with_stored(tenant(A, DIRECTORY), roster(A, "ana")))

    assert actions(result) == [(Kind.PERSON, "suspend", "csv:PERSON.m-mmebob")]


def test_people_read_counts_the_source_s_people_only() -> None:
    merged = merge_site([with_stored(tenant(A, DIRECTORY[:3]), roster(A, "ana", "bob"))])

    assert merged.people_read == {A: 3}
    assert len(merged.people) == 5


def test_a_directory_that_answers_empty_still_stops_the_run() -> None:
    index = synced(with_stored(tenant(A, DIRECTORY), roster(A, "ana", "bob")))

    result = plan(index, with_stored(tenant(A, []), roster(A, "ana", "bob")))

    assert result.blocked is not None
    assert result.blocked.rule == "empty-source"
    assert (result.blocked.source_count, result.blocked.index_count) == (0, 42)


def test_a_truncated_directory_is_still_seen_truncated() -> None:
    people = [person(n, tenants=[A]) for n in range(520)]
    index = synced(with_stored(tenant(A, people), roster(A, "ana", "bob", "cid")))

    result = plan(index, with_stored(tenant(A, people[:500]), roster(A, "ana", "bob", "cid")))

    assert result.blocked is not None
    assert result.blocked.rule == "round-count"


def test_nothing_stored_leaves_the_read_as_it_is_and_another_tenant_s_store_is_refused() -> None:
    read = tenant(A, DIRECTORY)

    assert with_stored(read, TenantSnapshot(A)) is read
    with pytest.raises(ValueError, match="a store of 0290010D added to a read of 0290009C"):
        with_stored(read, roster(B, "ana"))


def test_the_second_run_writes_nothing() -> None:
    read = with_stored(tenant(A, DIRECTORY), roster(A, "ana", "bob"))
    index = synced(read)

    assert plan(index, read).operations == ()
    assert apply(index, plan(index, read)) == index
