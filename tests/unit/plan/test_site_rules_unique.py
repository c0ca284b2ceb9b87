"""Who keeps a username, an idnumber or an e-mail, against a plain statement of the rule.

:func:`farm.site_rules.check_site_rules` looks only at contested values, to
cost nothing on a site where nothing clashes. Here, on small alphabets that
make clashes common, its refusals and re-addressed e-mails are held equal
to :func:`expected`, which applies the rule to every value the slow way.
"""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from farm.index import SiteIndex
from farm.model import Kind, Person
from farm.site_rules import EmailConflicts, SiteRules, check_site_rules
from farm.snapshot import merge_site

from .factory import apply, person, plan, tenant

A = "0290009C"
AUTH = "cas"
TEMPLATE = "{username}@ent.invalid"
FIELDS = (("username", False), ("idnumber", False), ("email", True))

usernames = st.sampled_from(["anne", "bob", "chloe", "dan"])
idnumbers = st.sampled_from(["", "id1", "id2"])
emails = st.sampled_from(["x@a.fr", "X@A.fr", "y@a.fr", "z@a.fr"])
people_values = st.dictionaries(
    st.integers(1, 7), st.tuples(usernames, idnumbers, emails), max_size=7
)


def someone(n: int, values: tuple[str, str, str]) -> Person:
    username, idnumber, email = values
    return person(n, username=f"{username}{n % 2}", idnumber=idnumber, email=email, auth=AUTH)


def value(holder: Person, name: str, fold: bool) -> str:
    found = str(getattr(holder, name) or "")
    return found.lower() if fold else found


def expected(
    people: Mapping[str, Person], index: SiteIndex, policy: EmailConflicts
) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """(key, field) refused, and key -> e-mail kept, by the rule applied to every value."""
    kept = dict(people)
    refused: set[tuple[str, str]] = set()
    for name, fold in FIELDS:
        if name == "email" and policy is EmailConflicts.ALLOW:
            continue
        holders: dict[str, str] = {}
        for key, entry in index.of(Kind.PERSON).items():
            here = kept.get(key)
            if here is not None and here.digest() == entry.digest:
                held = value(here, name, fold)
            else:
                held = str(entry.values.get(name) or "")
                held = held.lower() if fold else held
                if here is not None and value(here, name, fold) != held:
                    continue
            if held:
                holders.setdefault(held, key)
        for key in sorted(kept, key=lambda k: (holders.get(value(kept[k], name, fold)) != k, k)):
            wanted = value(kept[key], name, fold)
            if not wanted or holders.setdefault(wanted, key) == key:
                continue
            if name == "email" and policy is EmailConflicts.TEMPLATE:
                kept[key] = kept[key].with_auth(AUTH)
                object.__setattr__(kept[key], "email", TEMPLATE.format(username=kept[key].username))
                continue
            refused.add((key, name))
            del kept[key]
    return refused, {key: p.email for key, p in kept.items()}


@settings(max_examples=500, deadline=None)
@given(
    before=people_values,
    after=people_values,
    policy=st.sampled_from(list(EmailConflicts)),
)
def test_the_people_kept_and_refused_are_those_the_rule_says(
    before: dict[int, tuple[str, str, str]],
    after: dict[int, tuple[str, str, str]],
    policy: EmailConflicts,
) -> None:
    rules = SiteRules(auth=AUTH, email_conflicts=policy, email_template=TEMPLATE)
    # A first run on an empty site makes the index the second run meets.
    first = [someone(n, values) for n, values in sorted(before.items())]
    index = apply(SiteIndex(), plan(SiteIndex(), tenant(A, first), rules=rules))
    second = [someone(n, values) for n, values in sorted(after.items())]

    checked = check_site_rules(merge_site([tenant(A, second)]), index, rules)

    kept = checked.snapshot.of(Kind.PERSON)
    got_refused = {(r.key, str(r.field)) for r in checked.refusals}
    got_emails = {key: record.email for key, record in kept.items()}  # type: ignore[attr-defined]
    want_refused, want_emails = expected({p.source_key: p for p in second}, index, policy)
    assert got_refused == want_refused
    assert got_emails == want_emails
