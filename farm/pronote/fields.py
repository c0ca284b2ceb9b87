"""The Pronote identifier as a Moodle custom profile field: what a sync carries to Moodle.

A site that declares a profile field for it (``profile_field`` in
farm.toml's ``[pronote]``, and the field in the site's
``profile_fields``) gets each person's identifier there, synced like any
field: :func:`with_pronote_ids` is what a job calls on a tenant's people
before planning. It is pure; the
links come from :meth:`farm.registry.Registry.pronote_links`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from farm.model import Person
from farm.pronote.records import Population, PronoteLink

#: Which identifier a person of several populations carries: their own account first.
PRIORITY = (Population.PUPILS, Population.TEACHERS, Population.STAFF, Population.GUARDIANS)


def pronote_ids(links: Iterable[PronoteLink]) -> dict[str, str]:
    """One field value per source key.

    A person of several populations (a teacher who is also a parent has two
    Pronote accounts) carries the identifier of the first population in
    :data:`PRIORITY`. A person with different identifiers in two tenants (two
    Pronote bases of a cité scolaire) carries them all, sorted and joined
    with ``,``.
    """
    best: dict[str, dict[str, tuple[int, str]]] = {}
    for link in links:
        rank = PRIORITY.index(link.population)
        tenants = best.setdefault(link.source_key, {})
        held = tenants.get(link.tenant)
        if held is None or rank < held[0]:
            tenants[link.tenant] = (rank, link.pronote_id)
    return {
        key: ",".join(sorted({pronote_id for _, pronote_id in tenants.values()}))
        for key, tenants in best.items()
    }


def with_pronote_ids(
    people: Iterable[Person], links: Iterable[PronoteLink], field: str
) -> tuple[Person, ...]:
    """``people`` with ``field`` set to their Pronote identifier, empty for the unlinked.

    Empty rather than absent, so that an identifier that goes away is
    cleared in Moodle by the next sync, as the NetYpareo fields are.
    """
    ids = pronote_ids(links)
    out = []
    for person in people:
        value = ids.get(person.source_key, "")
        if person.profile_fields.get(field) == value:
            out.append(person)
            continue
        out.append(replace(person, profile_fields={**person.profile_fields, field: value}))
    return tuple(out)
