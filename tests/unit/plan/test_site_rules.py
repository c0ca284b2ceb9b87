"""The site's rules: what Moodle would refuse is refused by the planner, alone, with its reason."""

from __future__ import annotations

from farm.index import SiteIndex
from farm.model import IndexEntry, Kind, RoleAssignment
from farm.operation import Action
from farm.options import RemovalPolicy
from farm.site_rules import EmailConflicts, SiteRules

from .factory import apply, person, plan, tenant

A, B = "0290009C", "0290010D"
PLACEHOLDER = "noreply@ac-rennes.fr"


def created(result: object) -> list[str]:
    return sorted(op.key for op in result.operations if op.action is Action.CREATE)  # type: ignore[attr-defined]


def refused(result: object) -> dict[str, tuple[str | None, str]]:
    return {r.key: (r.field, r.reason) for r in result.refusals}  # type: ignore[attr-defined]


def test_a_malformed_email_refuses_that_person_alone_naming_the_field() -> None:
    result = plan(SiteIndex(), tenant(A, [person(1, email="jean.dupont@@ac"), person(2)]))

    assert created(result) == ["sdet:2"]
    field, reason = refused(result)["sdet:1"]
    assert field == "email"
    assert "jean.dupont@@ac" in reason
    assert "user1" in reason
    assert any("refused: person sdet:1 [email]" in line for line in result.report_lines())


def test_a_shared_placeholder_email_is_kept_by_the_first_and_refused_for_each_other() -> None:
    people = [person(n, email=PLACEHOLDER if n < 4 else f"user{n}@x.fr") for n in range(1, 5)]

    result = plan(SiteIndex(), tenant(A, people))

    assert created(result) == ["sdet:1", "sdet:4"]
    assert set(refused(result)) == {"sdet:2", "sdet:3"}
    for key in ("sdet:2", "sdet:3"):
        field, reason = refused(result)[key]
        assert field == "email"
        assert PLACEHOLDER in reason
        assert "sdet:1" in reason


def test_emails_collide_whatever_their_case_as_moodle_compares_them() -> None:
    result = plan(
        SiteIndex(), tenant(A, [person(1, email="Anne@X.fr"), person(2, email="anne@x.fr")])
    )

    assert created(result) == ["sdet:1"]
    assert "sdet:2" in refused(result)


def test_the_account_that_holds_an_address_keeps_it_against_a_newcomer() -> None:
    index = apply(SiteIndex(), plan(SiteIndex(), tenant(A, [person(9, email=PLACEHOLDER)])))

    result = plan(index, tenant(A, [person(1, email=PLACEHOLDER), person(9, email=PLACEHOLDER)]))

    assert created(result) == []
    assert "sdet:9" in refused(result)["sdet:1"][1]


def test_the_template_policy_gives_the_others_an_address_of_their_own() -> None:
    rules = SiteRules(
        email_conflicts=EmailConflicts.TEMPLATE, email_template="{username}@ent.invalid"
    )
    result = plan(
        SiteIndex(),
        tenant(A, [person(1, email=PLACEHOLDER), person(2, email=PLACEHOLDER)]),
        rules=rules,
    )

    emails = {op.key: op.record.email for op in result.operations if op.kind is Kind.PERSON}  # type: ignore[union-attr]
    assert emails == {"sdet:1": PLACEHOLDER, "sdet:2": "user2@ent.invalid"}
    assert result.refusals == ()
    assert any("user2@ent.invalid" in w.message for w in result.warnings)


def test_the_allow_policy_lets_a_site_with_shared_emails_take_them() -> None:
    rules = SiteRules(email_conflicts=EmailConflicts.ALLOW)
    result = plan(
        SiteIndex(),
        tenant(A, [person(1, email=PLACEHOLDER), person(2, email=PLACEHOLDER)]),
        rules=rules,
    )

    assert created(result) == ["sdet:1", "sdet:2"]


def test_two_people_with_one_username_are_told_apart_before_any_call() -> None:
    result = plan(
        SiteIndex(), tenant(A, [person(1, username="jdupont"), person(2, username="jdupont")])
    )

    assert created(result) == ["sdet:1"]
    assert refused(result)["sdet:2"][0] == "username"


def test_a_username_moodle_refuses_is_refused_not_sent() -> None:
    result = plan(
        SiteIndex(), tenant(A, [person(1, username="jean dupont"), person(2, username="jéan")])
    )

    assert created(result) == []
    assert {key: field for key, (field, _) in refused(result).items()} == {
        "sdet:1": "username",
        "sdet:2": "username",
    }


def test_values_longer_than_moodle_columns_are_refused() -> None:
    result = plan(
        SiteIndex(), tenant(A, [person(1, lastname="X" * 101), person(2, idnumber="9" * 255)])
    )

    assert created(result) == ["sdet:2"]
    field, reason = refused(result)["sdet:1"]
    assert field == "lastname"
    assert "101" in reason
    assert "100" in reason


def test_an_account_with_no_auth_anywhere_is_refused_and_the_site_auth_wins() -> None:
    nobody = plan(SiteIndex(), tenant(A, [person(1, auth="")]), rules=SiteRules(site="s"))
    sso = plan(
        SiteIndex(), tenant(A, [person(1, auth="")]), rules=SiteRules(site="s", auth="oauth2")
    )

    assert refused(nobody)["sdet:1"][0] == "auth"
    assert "[site] auth" in refused(nobody)["sdet:1"][1]
    assert [op.record.auth for op in sso.operations] == ["oauth2"]  # type: ignore[union-attr]


def test_a_known_person_whose_new_value_is_refused_is_left_as_they_are() -> None:
    index = apply(SiteIndex(), plan(SiteIndex(), tenant(A, [person(1), person(2)])))

    result = plan(
        index,
        tenant(A, [person(1, email="broken"), person(2)]),
        removal=RemovalPolicy.DELETE,
    )

    assert result.operations == ()  # neither updated nor suspended nor deleted
    assert "sdet:1" in refused(result)


def test_an_account_the_site_took_as_it_is_now_is_not_checked_again() -> None:
    """A rerun that changes nothing checks nobody: the values are the ones Moodle holds."""
    taken = person(1, lastname="X" * 101, auth="cas")  # as an older farm wrote it
    index = SiteIndex(
        [IndexEntry(Kind.PERSON, taken.key, 7, taken.digest(), taken.values(), frozenset({A}))]
    )
    rules = SiteRules(site="s", auth="cas")

    again = plan(index, tenant(A, [person(1, lastname="X" * 101)]), rules=rules)
    changed = plan(index, tenant(A, [person(1, lastname="Y" * 101)]), rules=rules)

    assert (again.operations, again.refusals) == ((), ())
    assert changed.operations == ()
    assert refused(changed)["sdet:1"][0] == "lastname"


def test_a_role_the_site_has_no_id_for_is_refused_per_link_and_others_go_on() -> None:
    p = person(1)
    result = plan(
        SiteIndex(),
        tenant(
            A,
            [p],
            roles=[
                RoleAssignment(p.source_key, "parent", "user", "sdet:2"),
                RoleAssignment(p.source_key, "manager"),
            ],
        ),
        rules=SiteRules(site="lycee"),
    )

    assigned = [op.key for op in result.operations if op.kind is Kind.ROLE_ASSIGNMENT]
    assert assigned == ["sdet:1|manager|system|"]
    (refusal,) = result.refusals
    assert refusal.kind is Kind.ROLE_ASSIGNMENT
    assert "[site.roles] parent" in refusal.reason


def test_a_role_the_site_names_is_taken() -> None:
    p = person(1)
    result = plan(
        SiteIndex(),
        tenant(A, [p], roles=[RoleAssignment(p.source_key, "parent", "user", "sdet:2")]),
        rules=SiteRules(roles={"parent": 9}),
    )

    assert result.refusals == ()
    assert [op.kind for op in result.operations] == [Kind.PERSON, Kind.ROLE_ASSIGNMENT]


def test_a_person_of_both_establishments_is_one_creation() -> None:
    shared = person(1, tenants=(A, B))

    result = plan(SiteIndex(), tenant(A, [shared]), tenant(B, [shared]))

    assert created(result) == ["sdet:1"]
    assert result.refusals == ()


def test_profile_fields_the_site_does_not_declare_are_noted() -> None:
    rules = SiteRules(profile_fields=frozenset({"classe"}))
    result = plan(
        SiteIndex(),
        tenant(A, [person(1, profile_fields={"classe": "2A", "regime": "DP"})]),
        rules=rules,
    )

    assert any("regime" in note and "profile_fields" in note for note in result.notes)
