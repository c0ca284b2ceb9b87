"""Properties of planning that must hold for any sources and any index."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from farm.index import SiteIndex
from farm.model import Cohort, CohortMembership, Enrolment, Kind, Person, TenantSnapshot
from farm.operation import Action, Category
from farm.options import RemovalPolicy
from farm.snapshot import merge_site

from .factory import PREFIX, apply, person, plan, tenant

TENANTS = ("0290009C", "0290010D", "0290011E")
COHORTS = (*tuple(Cohort(f"{PREFIX}{n}", f"Class {n}") for n in range(3)), Cohort("manual", "M"))


@st.composite
def snapshots(draw: st.DrawFn, tenants: tuple[str, ...] = TENANTS) -> TenantSnapshot:
    uai = draw(st.sampled_from(tenants))
    keys = draw(st.sets(st.integers(0, 11), max_size=10))
    people: list[Person] = []
    for n in sorted(keys):
        others = draw(st.sets(st.sampled_from(TENANTS), max_size=2))
        people.append(
            person(
                n,
                tenants=(uai, *others),
                lastname=draw(st.sampled_from(["Martin", "Durand"])),
                suspended=draw(st.booleans()),
            )
        )
    cohorts = draw(st.sets(st.sampled_from(COHORTS), max_size=3))
    members = draw(
        st.sets(
            st.builds(
                CohortMembership,
                st.sampled_from([c.key for c in COHORTS]),
                st.sampled_from([f"sdet:{n}" for n in range(12)]),
            ),
            max_size=8,
        )
    )
    enrolments = draw(
        st.sets(
            st.builds(
                Enrolment,
                st.sampled_from(["C1", "C2"]),
                st.sampled_from([p.key for p in people] or ["sdet:0"]),
            ),
            max_size=5,
        )
    )
    return tenant(
        uai,
        people,
        cohorts=sorted(cohorts, key=lambda c: c.key),
        members=sorted(members, key=lambda m: m.key),
        enrolments=sorted(enrolments, key=lambda e: e.key),
        complete=draw(st.booleans()),
    )


policies = st.sampled_from(list(RemovalPolicy))


history = st.lists(st.lists(snapshots(), max_size=3), min_size=1, max_size=3)


def replay(runs: list[list[TenantSnapshot]], policy: RemovalPolicy) -> SiteIndex:
    """The index after several earlier runs: some people suspended, some tenants lost."""
    index = SiteIndex()
    for run in runs:
        index = apply(index, plan(index, *run, allow_mass_removal=True, removal=policy))
    return index


@settings(max_examples=60, deadline=None)
@given(before=history, now=st.lists(snapshots(), max_size=3), policy=policies, force=st.booleans())
def test_applying_a_plan_then_planning_again_plans_nothing(
    before: list[list[TenantSnapshot]],
    now: list[TenantSnapshot],
    policy: RemovalPolicy,
    force: bool,
) -> None:
    index = replay(before, policy)

    first = plan(index, *now, allow_mass_removal=True, removal=policy, force=force)
    after = apply(index, first)
    second = plan(after, *now, allow_mass_removal=True, removal=policy)

    assert second.operations == (), [op.describe() for op in second.operations]


@settings(max_examples=60, deadline=None)
@given(before=history, now=st.lists(snapshots(), max_size=3), policy=policies)
def test_no_plan_removes_what_a_tenant_outside_the_run_holds(
    before: list[list[TenantSnapshot]], now: list[TenantSnapshot], policy: RemovalPolicy
) -> None:
    index = replay(before, policy)
    complete = {s.tenant for s in now if s.complete} - {s.tenant for s in now if not s.complete}

    result = plan(index, *now, allow_mass_removal=True, removal=policy)

    for op in result.operations:
        if op.previous is None:
            continue
        outside = op.previous.tenants - complete
        if op.category is Category.REMOVE and op.action is not Action.REINDEX:
            assert not outside, op.describe()
        if not op.previous.suspended:
            assert outside <= op.tenants, op.describe()


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(snapshots(), min_size=1, max_size=4), data=st.data())
def test_merging_does_not_depend_on_the_order_of_snapshots(
    parts: list[TenantSnapshot], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(parts))

    one, other = merge_site(parts), merge_site(shuffled)

    assert one.records == other.records
    assert one.origins == other.origins
    assert (one.tenants, one.complete, one.people_read) == (
        other.tenants,
        other.complete,
        other.people_read,
    )
    assert set(one.warnings) == set(other.warnings)


@settings(max_examples=40, deadline=None)
@given(before=st.lists(snapshots(tenants=TENANTS[:1]), min_size=1, max_size=2), policy=policies)
def test_an_empty_complete_source_always_stops_the_site(
    before: list[TenantSnapshot], policy: RemovalPolicy
) -> None:
    index = apply(SiteIndex(), plan(SiteIndex(), *before, allow_mass_removal=True, removal=policy))
    held = [e for e in index.of(Kind.PERSON).values() if TENANTS[0] in e.tenants]

    result = plan(index, tenant(TENANTS[0], []), removal=policy)

    if held:
        assert result.blocked is not None
        assert result.blocked.rule == "empty-source"
        assert result.operations == ()
    else:
        assert result.blocked is None
