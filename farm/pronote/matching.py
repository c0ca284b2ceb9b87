"""Matching a Pronote file's people with a tenant's people: matched, unmatched or ambiguous.

Pure: the file's people, the tenant's people (:class:`FarmPerson`) and the
tenant's existing links go in, a :class:`MatchResult` comes out. Each file
person is tried, in order:

1. by the directory identifier the file carries (``directory_id``) against
   each person's partner id: the ENT identifier is authoritative. A value
   nobody has (an old ENT's identifier, say) falls through to the next
   rules;
2. for pupils, by INE (national pupil number) when both sides have one;
3. by an existing link of the same Pronote identifier whose person is still
   there (a link made by hand survives a full import that lists the
   person again);
4. by folded names (:func:`~farm.pronote.identity.fold_name`) and birth date
   for pupils, names and profile for adults.

Exactly one person found is a match; several are ambiguous; none is
unmatched, with the closest candidates by name. A person of the tenant whom
two file people claim is given to neither (both ambiguous): nothing is ever
guessed. The people of the tenant no file person matched are the farm
side's unmatched, with their closest file candidates.

A file person whose establishment (when the file says it) is not one of
the import's tenants is out of scope: counted, not matched.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from farm.pronote.identity import FarmPerson, fold_name
from farm.pronote.records import Method, Population, PronoteLink, PronotePerson

#: Closest candidates shown for an unmatched person, and how alike names must be.
CANDIDATES = 3
CANDIDATE_CUTOFF = 0.75


class Outcome(StrEnum):
    MATCHED = "matched"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class FileMatch:
    """What became of one file person; ``candidates`` are ranked, best first."""

    person: PronotePerson
    outcome: Outcome
    match: FarmPerson | None = None
    method: Method | None = None
    candidates: tuple[FarmPerson, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FarmUnmatched:
    """A tenant's person of ``population`` no file person matched, and the closest file people."""

    population: Population
    person: FarmPerson
    candidates: tuple[PronotePerson, ...] = ()
    linked: str | None = None  # the Pronote identifier an earlier link gave them


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Every file person's outcome, the farm side's unmatched, and who was out of scope."""

    file_side: tuple[FileMatch, ...]
    farm_side: tuple[FarmUnmatched, ...]
    out_of_scope: tuple[PronotePerson, ...] = ()

    def of(self, population: Population) -> tuple[FileMatch, ...]:
        return tuple(m for m in self.file_side if m.person.population is population)

    def matched(self) -> tuple[FileMatch, ...]:
        return tuple(m for m in self.file_side if m.outcome is Outcome.MATCHED)

    def counts(self, population: Population) -> dict[str, int]:
        """``matched``, ``unmatched_file``, ``unmatched_farm``, ``ambiguous`` of one population."""
        mine = self.of(population)
        return {
            "matched": sum(1 for m in mine if m.outcome is Outcome.MATCHED),
            "unmatched_file": sum(1 for m in mine if m.outcome is Outcome.UNMATCHED),
            "unmatched_farm": sum(1 for u in self.farm_side if u.population is population),
            "ambiguous": sum(1 for m in mine if m.outcome is Outcome.AMBIGUOUS),
        }


class _Pool:
    """The tenant's people of one population, indexed the ways matching looks them up."""

    def __init__(self, population: Population, people: Sequence[FarmPerson]) -> None:
        self.population = population
        self.people = people
        self.by_key = {p.source_key: p for p in people}
        self.by_names: dict[tuple[str, str], list[FarmPerson]] = defaultdict(list)
        self.by_ine: dict[str, list[FarmPerson]] = defaultdict(list)
        self.by_folded: dict[str, list[FarmPerson]] = defaultdict(list)
        for person in people:
            folded = person.folded
            self.by_names[folded].append(person)
            self.by_folded[" ".join(folded)].append(person)
            if person.ine:
                self.by_ine[person.ine].append(person)

    def closest(
        self, lastname: str, firstname: str, skip: Collection[str] = ()
    ) -> list[FarmPerson]:
        wanted = f"{fold_name(lastname)} {fold_name(firstname)}"
        names = difflib.get_close_matches(
            wanted, list(self.by_folded), n=CANDIDATES * 2, cutoff=CANDIDATE_CUTOFF
        )
        found = [p for name in names for p in self.by_folded[name] if p.source_key not in skip]
        return found[:CANDIDATES]


def _in_scope(person: FarmPerson, establishment: str | None) -> bool:
    return establishment is None or establishment in person.establishments


def match_people(
    file_people: Iterable[PronotePerson],
    people: Iterable[FarmPerson],
    links: Iterable[PronoteLink] = (),
    *,
    tenants: Collection[str],
) -> MatchResult:
    """Match ``file_people`` with ``people`` (the tenants' people); see the module docstring."""
    tenants = frozenset(tenants)
    everyone = list(people)
    by_partner: dict[str, list[FarmPerson]] = defaultdict(list)
    for person in everyone:
        if person.partner_id:
            by_partner[person.partner_id.casefold()].append(person)
    pools = {
        population: _Pool(population, [p for p in everyone if population.profile in p.profiles])
        for population in Population
    }
    linked: dict[tuple[Population, str], set[str]] = defaultdict(set)
    for link in links:
        if link.tenant in tenants:
            linked[(link.population, link.pronote_id)].add(link.source_key)

    results: list[FileMatch] = []
    out_of_scope: list[PronotePerson] = []
    for listed in file_people:
        if listed.establishment is not None and listed.establishment not in tenants:
            out_of_scope.append(listed)
            continue
        results.append(_match_one(listed, pools[listed.population], by_partner, linked))
    results = _refuse_shared_claims(results)
    earlier = {
        (population, key): pronote_id
        for (population, pronote_id), keys in linked.items()
        for key in keys
    }
    farm_side = _farm_unmatched(results, pools, earlier)
    return MatchResult(tuple(results), tuple(farm_side), tuple(out_of_scope))


def _match_one(
    person: PronotePerson,
    pool: _Pool,
    by_partner: Mapping[str, list[FarmPerson]],
    linked: Mapping[tuple[Population, str], set[str]],
) -> FileMatch:
    population = person.population
    here = person.establishment
    if person.directory_id:
        owners = [
            p for p in by_partner.get(person.directory_id.casefold(), ()) if _in_scope(p, here)
        ]
        right = [p for p in owners if population.profile in p.profiles]
        if len(right) == 1:
            return FileMatch(person, Outcome.MATCHED, right[0], Method.DIRECTORY_ID)
        if len(right) > 1:
            return FileMatch(
                person,
                Outcome.AMBIGUOUS,
                candidates=tuple(right),
                reason=f"directory identifier {person.directory_id} is held by {len(right)} people",
            )
        if owners:
            return FileMatch(
                person,
                Outcome.UNMATCHED,
                candidates=tuple(owners),
                reason=(
                    f"directory identifier {person.directory_id} belongs to someone who is not "
                    f"a {population.singular} in the directory"
                ),
            )
    if population is Population.PUPILS and person.ine:
        found = [p for p in pool.by_ine.get(person.ine.upper(), ()) if _in_scope(p, here)]
        if len(found) == 1:
            return FileMatch(person, Outcome.MATCHED, found[0], Method.INE)
        if len(found) > 1:
            return FileMatch(
                person,
                Outcome.AMBIGUOUS,
                candidates=tuple(found),
                reason=f"INE {person.ine} is held by {len(found)} people",
            )
    kept = [
        pool.by_key[key]
        for key in sorted(linked.get((population, person.pronote_id), ()))
        if key in pool.by_key and _in_scope(pool.by_key[key], here)
    ]
    if len(kept) == 1:
        return FileMatch(person, Outcome.MATCHED, kept[0], Method.LINK)
    named = [
        p
        for p in pool.by_names.get((fold_name(person.lastname), fold_name(person.firstname)), ())
        if _in_scope(p, here)
    ]
    if population is Population.PUPILS:
        if person.birth_date is None:
            return FileMatch(
                person,
                Outcome.UNMATCHED,
                candidates=tuple(named or pool.closest(person.lastname, person.firstname)),
                reason="no birth date in the file: pupils are matched on names and birth date",
            )
        born = [p for p in named if p.birth_date == person.birth_date]
        if len(born) == 1:
            return FileMatch(person, Outcome.MATCHED, born[0], Method.NAMES_BIRTH_DATE)
        if len(born) > 1:
            return FileMatch(
                person,
                Outcome.AMBIGUOUS,
                candidates=tuple(born),
                reason=f"{len(born)} pupils have these names and this birth date",
            )
        if named:
            return FileMatch(
                person,
                Outcome.UNMATCHED,
                candidates=tuple(named),
                reason="the same names, another birth date (or none in the directory)",
            )
    else:
        if len(named) == 1:
            return FileMatch(person, Outcome.MATCHED, named[0], Method.NAMES_PROFILE)
        if len(named) > 1:
            return FileMatch(
                person,
                Outcome.AMBIGUOUS,
                candidates=tuple(named),
                reason=f"{len(named)} {population.value} have these names",
            )
    return FileMatch(
        person,
        Outcome.UNMATCHED,
        candidates=tuple(pool.closest(person.lastname, person.firstname)),
        reason=f"no {population.singular} of these names in the directory",
    )


def _refuse_shared_claims(results: list[FileMatch]) -> list[FileMatch]:
    claims: dict[tuple[Population, str], list[int]] = defaultdict(list)
    for index, result in enumerate(results):
        if result.match is not None:
            claims[(result.person.population, result.match.source_key)].append(index)
    for indexes in claims.values():
        if len(indexes) < 2:
            continue
        ids = ", ".join(results[i].person.pronote_id for i in indexes)
        for i in indexes:
            result = results[i]
            results[i] = replace(
                result,
                outcome=Outcome.AMBIGUOUS,
                match=None,
                method=None,
                candidates=(result.match,) if result.match else (),
                reason=f"Pronote identifiers {ids} all match this person",
            )
    return results


def _farm_unmatched(
    results: Sequence[FileMatch],
    pools: Mapping[Population, _Pool],
    earlier: Mapping[tuple[Population, str], str],
) -> list[FarmUnmatched]:
    out: list[FarmUnmatched] = []
    for population, pool in pools.items():
        taken = {
            r.match.source_key
            for r in results
            if r.match is not None and r.person.population is population
        }
        loose = [r.person for r in results if r.person.population is population and r.match is None]
        by_name: dict[str, list[PronotePerson]] = defaultdict(list)
        for file_person in loose:
            folded = f"{fold_name(file_person.lastname)} {fold_name(file_person.firstname)}"
            by_name[folded].append(file_person)
        names = list(by_name)
        for person in pool.people:
            if person.source_key in taken:
                continue
            close = difflib.get_close_matches(
                " ".join(person.folded), names, n=CANDIDATES, cutoff=CANDIDATE_CUTOFF
            )
            candidates = tuple(p for name in close for p in by_name[name])[:CANDIDATES]
            linked = earlier.get((population, person.source_key))
            out.append(FarmUnmatched(population, person, candidates, linked))
    return out
