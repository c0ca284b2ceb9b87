"""A run's cohort scope: the cohorts one task plans, and those it leaves alone. Pure.

NetYpareo's ``groups`` task syncs the cohorts of the apprenticeship groups,
its ``pdgroups`` task those of the continuing-education groups: one family
each, read completely. Left to itself the planner would take the other
family's cohorts, absent from the read, for cohorts the source dropped. A
scope (``RunOptions.cohort_scope``) is a glob over a cohort's idnumber past
the farm's prefix, ``netypareo:*:group:*``: :func:`narrow` keeps, in both the
read and the index the planner compares, only the cohorts it matches and
their members, so the others are neither created, updated nor removed.
A cohort without the farm's prefix is never in a scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fnmatch import fnmatchcase

from farm.index import SiteIndex
from farm.model import CohortMembership, Kind, Record
from farm.snapshot import SiteSnapshot


def in_scope(scope: str, prefix: str, idnumber: str) -> bool:
    """Whether the cohort ``idnumber`` is in ``scope`` (a glob past the farm's ``prefix``)."""
    if not idnumber.startswith(prefix):
        return False
    return fnmatchcase(idnumber[len(prefix) :], scope)


def narrow(
    scope: str, prefix: str, snapshot: SiteSnapshot, index: SiteIndex
) -> tuple[SiteSnapshot, SiteIndex]:
    """``snapshot`` and ``index`` with only the cohorts of ``scope`` and their members."""

    def cohort_of(kind: Kind, key: str, record: Record | None, values: Mapping[str, object]) -> str:
        if kind is Kind.COHORT:
            return key
        if isinstance(record, CohortMembership):
            return record.cohort
        return str(values.get("cohort", ""))

    def keep(kind: Kind, key: str, record: Record | None, values: Mapping[str, object]) -> bool:
        if kind not in (Kind.COHORT, Kind.COHORT_MEMBER):
            return True
        return in_scope(scope, prefix, cohort_of(kind, key, record, values))

    records = {
        kind: {key: r for key, r in found.items() if keep(kind, key, r, {})}
        for kind, found in snapshot.records.items()
    }
    origins = {
        kind: {key: t for key, t in found.items() if key in records.get(kind, {})}
        for kind, found in snapshot.origins.items()
    }
    narrowed = replace(snapshot, records=records, origins=origins)
    entries = (e for e in index if keep(e.kind, e.key, None, e.values))
    return narrowed, SiteIndex(entries)
