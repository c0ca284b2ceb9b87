"""Merging tenant snapshots into one site snapshot (cité scolaire)."""

from __future__ import annotations

from farm.model import Cohort, CohortMembership, Kind, Profile, SourceWarning, TenantSnapshot
from farm.snapshot import merge_site
from tests.unit.plan.factory import person, tenant

A, B = "0290009C", "0290010D"


def test_a_person_of_two_establishments_is_merged_with_both() -> None:
    in_a = person(1, tenants=(A,), profile=Profile.TEACHER, profile_fields={"classe": "2A"})
    in_b = person(1, tenants=(B,), profile=Profile.PARENT, profile_fields={"regime": "DP"})
    member_a = CohortMembership("farm_a", "sdet:1")
    member_b = CohortMembership("farm_b", "sdet:1")

    site = merge_site(
        [tenant(A, [in_a], members=[member_a]), tenant(B, [in_b], members=[member_b])]
    )

    merged = site.people["sdet:1"]
    assert merged.establishments == {A, B}
    assert merged.profiles == {Profile.TEACHER, Profile.PARENT}
    assert merged.profile_fields == {"classe": "2A", "regime": "DP"}
    assert site.origins[Kind.PERSON]["sdet:1"] == {A, B}
    assert site.origins[Kind.COHORT_MEMBER] == {member_a.key: {A}, member_b.key: {B}}
    assert site.warnings == ()
    assert site.people_read == {A: 1, B: 1}


def test_conflicting_values_keep_the_first_tenant_and_warn() -> None:
    site = merge_site(
        [
            tenant(B, [person(1, tenants=(A, B), lastname="Durand")]),
            tenant(A, [person(1, tenants=(A, B))]),
        ]
    )

    assert site.people["sdet:1"].lastname == "Martin1"
    (warning,) = site.warnings
    assert str(warning) == (
        "0290009C: sdet:1: person described differently by 0290009C, 0290010D (lastname): "
        "kept the values of 0290009C"
    )


def test_conflicting_cohorts_keep_the_first_tenant_and_warn() -> None:
    site = merge_site(
        [tenant(A, cohorts=[Cohort("farm_x", "X")]), tenant(B, cohorts=[Cohort("farm_x", "Other")])]
    )

    assert site.of(Kind.COHORT)["farm_x"] == Cohort("farm_x", "X")
    assert "cohort described differently by 0290010D (name)" in site.warnings[0].message


def test_suspended_only_if_every_tenant_says_so() -> None:
    site = merge_site(
        [
            tenant(A, [person(1, tenants=(A, B), suspended=True)]),
            tenant(B, [person(1, tenants=(A, B))]),
        ]
    )

    assert not site.people["sdet:1"].suspended


def test_a_person_outside_the_tenant_is_left_out() -> None:
    site = merge_site([tenant(A, [person(1, tenants=(B,)), person(2, tenants=())])])

    assert list(site.people) == ["sdet:2"]
    assert site.people["sdet:2"].establishments == {A}
    assert "belongs to 0290010D: left out" in str(site.warnings[0])


def test_usernames_are_lowercased_with_a_warning() -> None:
    site = merge_site([tenant(A, [person(1, username="J.Dupont")])])

    assert site.people["sdet:1"].username == "j.dupont"
    assert site.warnings[0].attribute == "username"


def test_completeness_is_per_tenant_and_a_partial_read_wins() -> None:
    site = merge_site([tenant(A, []), tenant(B, [], complete=False), tenant(B, [])])

    assert site.tenants == {A, B}
    assert site.complete == {A}


def test_source_warnings_are_kept() -> None:
    snapshot = TenantSnapshot(A).with_warnings([SourceWarning(A, "uid=x", "no e-mail", "mail")])

    assert merge_site([snapshot]).warnings == snapshot.warnings
