"""``farm pronote link``: one person linked to a Pronote identifier by hand."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from farm.cli.context import (
    CliContext,
    fail,
    load_farm_or_fail,
    open_registry,
    registry_option,
    resolve_registry_url,
)
from farm.cli.pronote_scope import (
    FLAGS,
    establishments_of,
    read_people_or_fail,
)
from farm.pronote.records import Population
from farm.registry import RegistryError


@click.command(context_settings=FLAGS)
@click.argument("pronote_id")
@click.argument("source_key")
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    required=True,
    metavar="UAI",
    help="The establishment; repeat it to link in each establishment of a cité scolaire.",
)
@click.option(
    "--population",
    type=click.Choice([p.value for p in Population]),
    help="Pronote's population of the identifier; found in the last import when left out.",
)
@registry_option
@click.pass_obj
def link(
    obj: CliContext,
    pronote_id: str,
    source_key: str,
    tenants: tuple[str, ...],
    population: str | None,
    registry_url: str | None,
) -> None:
    """Link one person of the directory to a Pronote identifier, by hand.

    SOURCE_KEY is the person's key in the farm (sdet:UID), as the report shows
    it. The person is read from the directory first: an unknown key, or a
    person not of that population, is refused. The person's former identifier
    and the identifier's former holder are unlinked.

    \b
    Example:
      farm pronote link --tenant 0900001M 4F2A9C01DE sdet:E000123
    """
    from farm.pronote.records import MANUAL_MODE, Method, PronoteLink

    farm = load_farm_or_fail(obj)
    scope = establishments_of(farm, tenants)
    settings = farm.pronote
    with open_registry(resolve_registry_url(obj, registry_url)) as registry:
        people = read_people_or_fail(farm, scope, settings)
        person = next((p for p in people.people if p.source_key == source_key), None)
        if person is None:
            fail(f"no person {source_key} among the people of {', '.join(scope)}: nothing linked")
        outside = [t for t in scope if t not in person.establishments]
        if outside:
            fail(f"{source_key} does not belong to {', '.join(outside)}: nothing linked")
        chosen = _population(registry, scope, pronote_id, population, person.profiles)
        if chosen.profile not in person.profiles:
            fail(f"{source_key} is not a {chosen.singular} in the directory: nothing linked")
        now = datetime.now(UTC)
        for tenant in scope:
            made = PronoteLink(
                tenant, source_key, chosen, pronote_id, Method.MANUAL, "", MANUAL_MODE, now
            )
            try:
                replaced = registry.set_pronote_link(made)
            except RegistryError as error:
                fail(str(error))
            click.echo(f"{tenant}: {chosen.singular} {source_key} linked to {pronote_id}")
            for old in replaced:
                if (old.source_key, old.pronote_id) != (source_key, pronote_id):
                    click.echo(f"  unlinked: {old.source_key} from {old.pronote_id}")


def _population(
    registry: Any,
    scope: Sequence[str],
    pronote_id: str,
    given: str | None,
    profiles: Iterable[Any],
) -> Population:
    if given is not None:
        return Population(given)
    found: set[Population] = set()
    for tenant in scope:
        last = registry.last_pronote_import(tenant)
        if last is None or last.report is None:
            continue
        for name, part in last.report.get("populations", {}).items():
            for section in ("matched", "unmatched_file", "ambiguous"):
                if any(e.get("pronote_id") == pronote_id for e in part.get(section, ())):
                    found.add(Population(name))
    if not found:
        found = {p for p in (Population.of_profile(x) for x in profiles) if p is not None}
    if len(found) != 1:
        choices = ", ".join(sorted(p.value for p in found)) or "none"
        fail(f"say which population {pronote_id} is in (--population; candidates: {choices})")
    return found.pop()
