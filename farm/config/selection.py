"""Choosing tenants by tag, site, tenant id and kind.

Within one criterion the values are alternatives (``sites=("a", "b")`` is
site a or site b), except tags, which must all be present (``academie:x`` and
``network:lycees`` narrows). Criteria combine with "and". A value that matches
no tenant of the farm is an error naming it, with close matches; that guards
a cron line with a typo from silently doing nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from farm.config import Farm, TenantConfig, TenantKind


class SelectionError(Exception):
    """A selection names something the farm does not have, or matches no tenant."""


@dataclass(frozen=True)
class Selection:
    """What to select; empty criteria select everything."""

    tags: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    kinds: tuple[TenantKind, ...] = ()


def select_tenants(
    farm: Farm,
    *,
    tags: Iterable[str] = (),
    sites: Iterable[str] = (),
    tenants: Iterable[str] = (),
    kinds: Iterable[TenantKind] = (),
) -> tuple[TenantConfig, ...]:
    """The farm's tenants that match every given criterion, in the farm's order.

    Raises :class:`SelectionError` naming each value that matches nothing,
    or saying that the criteria together match nothing.
    """
    selection = Selection(
        tags=tuple(tag.lower() for tag in tags),
        sites=tuple(sites),
        tenants=tuple(_tenant_id(farm, tenant) for tenant in tenants),
        kinds=tuple(kinds),
    )
    unknown = _unknown_values(farm, selection)
    if unknown:
        raise SelectionError("; ".join(unknown))
    chosen = tuple(tenant for tenant in farm.tenants.values() if _matches(tenant, selection))
    if not chosen:
        raise SelectionError(f"no tenant matches all of: {describe(selection)}")
    return chosen


def describe(selection: Selection) -> str:
    """A selection in words, as the CLI options spell it."""
    parts = [f"--tag {tag}" for tag in selection.tags]
    parts += [f"--site {site}" for site in selection.sites]
    parts += [f"--tenant {tenant}" for tenant in selection.tenants]
    parts += [f"--kind {kind}" for kind in selection.kinds]
    return " ".join(parts) or "everything"


def close_matches(word: str, choices: Iterable[str]) -> list[str]:
    """Up to three of ``choices`` that look like ``word``."""
    return difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)


def _tenant_id(farm: Farm, text: str) -> str:
    # UAIs are stored uppercase; operators type them in any case.
    upper = text.upper()
    return upper if upper in farm.tenants else text


def _matches(tenant: TenantConfig, selection: Selection) -> bool:
    return (
        all(tag in tenant.tags for tag in selection.tags)
        and (not selection.sites or tenant.site in selection.sites)
        and (not selection.tenants or tenant.id in selection.tenants)
        and (not selection.kinds or tenant.kind in selection.kinds)
    )


def _unknown_values(farm: Farm, selection: Selection) -> list[str]:
    all_tags = sorted({tag for tenant in farm.tenants.values() for tag in tenant.tags})
    kinds = {tenant.kind for tenant in farm.tenants.values()}
    problems = []
    for tag in selection.tags:
        if tag not in all_tags:
            problems.append(_unknown("tag", tag, all_tags))
    for site in selection.sites:
        if site not in farm.sites:
            problems.append(_unknown("site", site, farm.sites))
    for tenant in selection.tenants:
        if tenant not in farm.tenants:
            problems.append(_unknown("tenant", tenant, farm.tenants))
    for kind in selection.kinds:
        if kind not in kinds:
            problems.append(f"the farm has no tenant of kind {kind!r}")
    return problems


def _unknown(what: str, value: str, choices: Iterable[str]) -> str:
    message = f"no {what} {value!r} in the farm"
    close = close_matches(value, choices)
    return f"{message} (did you mean {', '.join(close)}?)" if close else message
