"""From a match to the tenant's links: what an import adds, updates, keeps and removes.

Pure. A matched file person gives one link per import tenant the person
belongs to (in a cité scolaire a person of both establishments is linked in
both). Full mode replaces the tenants' links with these: every other link
of those tenants is removed (the people absent from the file are unlinked,
and the preview lists them). Partial mode only adds and updates: the other
links stay. Either way a Pronote identifier names one person of a tenant's
population at most, so a link that takes an identifier from someone else
removes theirs.

A full import that would remove more than the site's
``mass_removal_threshold`` share of the tenants' links, and more than the
floor, stops unless the operator allows it (``--allow-mass-removal``):
a partial file imported in full mode must not unlink a whole school.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from farm.pronote.matching import MatchResult
from farm.pronote.records import ImportMode, Population, PronoteLink


class LinksChanged(Exception):
    """The tenants' links changed between the preview and the write: nothing was written."""

    def __init__(self, tenants: Sequence[str]) -> None:
        super().__init__(
            f"the Pronote links of {', '.join(tenants)} changed since this import was "
            "previewed (another import or link ran meanwhile): nothing was written; run it again"
        )


class Change(StrEnum):
    ADD = "add"
    UPDATE = "update"
    KEEP = "keep"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class LinkChange:
    """One link's fate: ``link`` is the new link (the removed one for REMOVE)."""

    change: Change
    link: PronoteLink
    previous: PronoteLink | None = None


@dataclass(frozen=True, slots=True)
class MassUnlink:
    """Why a full import stopped: it would remove ``removals`` of ``existing`` links."""

    removals: int
    existing: int
    threshold: float
    floor: int

    def __str__(self) -> str:
        share = self.removals / max(self.existing, 1)
        return (
            f"this full import would unlink {self.removals} of the {self.existing} people "
            f"linked ({share:.0%}, above the {self.threshold:.0%} mass-removal threshold): "
            "refusing; check that the file is a full export (a partial one lists only "
            "newcomers), import it with --mode partial, or rerun with --allow-mass-removal"
        )


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """What applying an import does to the tenants' links.

    ``based_on`` is :func:`links_digest` of the links the plan was computed
    from: the registry applies the plan only if they have not changed since.
    ``stop`` is set when the plan may not be applied as it is.
    """

    mode: ImportMode
    tenants: tuple[str, ...]
    file: str
    at: datetime
    changes: tuple[LinkChange, ...]
    existing: int
    based_on: str
    stop: MassUnlink | None = None

    def of(self, change: Change) -> tuple[LinkChange, ...]:
        return tuple(c for c in self.changes if c.change is change)

    def counts(self, tenant: str | None = None) -> dict[str, int]:
        """How many links each change touches, for one tenant or all."""
        counts = Counter(
            c.change.value for c in self.changes if tenant is None or c.link.tenant == tenant
        )
        return {change.value: counts.get(change.value, 0) for change in Change}

    def final(self, tenant: str) -> int:
        """How many links ``tenant`` has once the plan is applied."""
        counts = self.counts(tenant)
        return counts["add"] + counts["update"] + counts["keep"]

    @property
    def writes(self) -> bool:
        return any(c.change is not Change.KEEP for c in self.changes)


def links_digest(links: Iterable[PronoteLink]) -> str:
    """A digest of links' keys and identifiers: equal exactly when the links are."""
    lines = sorted(
        f"{link.tenant}\t{link.source_key}\t{link.population.value}\t{link.pronote_id}"
        for link in links
    )
    return hashlib.blake2b("\n".join(lines).encode("utf-8"), digest_size=16).hexdigest()


def plan_links(
    result: MatchResult,
    existing: Sequence[PronoteLink],
    *,
    mode: ImportMode,
    tenants: Collection[str],
    file: str,
    at: datetime,
    threshold: float,
    floor: int,
    allow_mass_removal: bool = False,
) -> LinkPlan:
    """The changes an import makes to ``tenants``' links; see the module docstring."""
    scope = tuple(sorted(set(tenants)))
    mine = [link for link in existing if link.tenant in scope]
    wanted: dict[tuple[str, str, Population], PronoteLink] = {}
    for found in result.matched():
        farm_person, method = found.match, found.method
        assert farm_person is not None
        assert method is not None
        person = found.person
        where = farm_person.establishments & set(scope)
        if person.establishment is not None:
            where &= {person.establishment}
        for tenant in sorted(where):
            link = PronoteLink(
                tenant=tenant,
                source_key=farm_person.source_key,
                population=person.population,
                pronote_id=person.pronote_id,
                method=method,
                file=file,
                mode=mode.value,
                imported_at=at,
            )
            wanted[link.key] = link
    before = {link.key: link for link in mine}
    if mode is ImportMode.FULL:
        after = dict(wanted)
    else:
        taken = {(k[0], k[2], link.pronote_id): k for k, link in wanted.items()}
        after = {
            key: link
            for key, link in before.items()
            if taken.get((link.tenant, link.population, link.pronote_id), key) == key
        }
        after.update(wanted)
    changes: list[LinkChange] = []
    for key, link in sorted(after.items()):
        old = before.get(key)
        if old is None:
            changes.append(LinkChange(Change.ADD, link))
        elif old.pronote_id != link.pronote_id:
            changes.append(LinkChange(Change.UPDATE, link, old))
        else:
            # Same identifier: the link stays as it was made (its method and date).
            changes.append(LinkChange(Change.KEEP, old, old))
    for key, old in sorted(before.items()):
        if key not in after:
            changes.append(LinkChange(Change.REMOVE, old, old))
    removals = sum(1 for c in changes if c.change is Change.REMOVE)
    stop = None
    if (
        mode is ImportMode.FULL
        and not allow_mass_removal
        and removals > floor
        and removals > threshold * len(mine)
    ):
        stop = MassUnlink(removals, len(mine), threshold, floor)
    return LinkPlan(
        mode=mode,
        tenants=scope,
        file=file,
        at=at,
        changes=tuple(changes),
        existing=len(mine),
        based_on=links_digest(mine),
        stop=stop,
    )
