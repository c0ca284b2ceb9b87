"""``farm pronote export``: the establishments' people as a PARTENAIRE_INDEX for Pronote."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from farm.cli.context import CliContext, fail, load_farm_or_fail
from farm.cli.pronote_scope import (
    FLAGS,
    establishments_of,
    read_people_or_fail,
)
from farm.pronote.records import Population


@click.command(context_settings=FLAGS)
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    required=True,
    metavar="UAI",
    help="An establishment to export; repeat it for each UAI of a cité scolaire.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write.",
)
@click.option("--partner", help="Partner id given by Index Education (default: [pronote] partner).")
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Index Education's RSA public key (PEM): write the encrypted ImportChiffre container.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON summary (who was left out, why).")
@click.pass_obj
def export(
    obj: CliContext,
    tenants: tuple[str, ...],
    output: Path,
    partner: str | None,
    public_key: Path | None,
    as_json: bool,
) -> None:
    """Write a PARTENAIRE_INDEX (RapprochementSSO v2.0) document of the establishments' people.

    Each person's ID_Partenaire is their partner_id attribute (farm.toml's
    [pronote] partner_id; uid by default), the identifier the ENT's CAS
    releases. People missing a required value (a pupil's birth date, say)
    are listed and left out, never invented. With --public-key the document is sealed in the
    ImportChiffre container for Index Education.

    \b
    Example:
      farm pronote export --tenant 0900001M --tenant 0900038C --partner ENT-OCC -o cite.xml
      farm pronote export --tenant 0900001M -o 0900001M.xml --public-key index-education.pem
    """
    from farm.pronote.partner_index import ExportError, plan_partner_index, write_partner_index

    farm = load_farm_or_fail(obj)
    scope = establishments_of(farm, tenants)
    settings = farm.pronote
    people = read_people_or_fail(farm, scope, settings)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        index = plan_partner_index(
            [(t, farm.tenants[t].name) for t in scope],
            people.people,
            people.guardians,
            settings,
            at=now,
            partner=partner,
        )
    except ExportError as error:
        fail(f"{error}: nothing was written.")
    document = write_partner_index(index)
    verification = None
    if public_key is not None:
        from farm.pronote.container import ContainerError, load_public_key, seal

        try:
            key = load_public_key(public_key.read_bytes(), str(public_key))
        except (OSError, ContainerError) as error:
            fail(f"{error}: nothing was written.")
        sealed = seal(document, key, partner=index.partner, uai=scope[0], at=now)
        document, verification = sealed.document, sealed.verification
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_bytes(document)
        os.replace(tmp, output)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        fail(f"{output}: cannot be written: {error}")
    counts = {p.value: index.count(p) for p in Population}
    if as_json:
        summary = {
            "file": str(output),
            "tenants": list(scope),
            "encrypted": public_key is not None,
            "verification": verification,
            "counts": counts,
            "left_out": [
                {"population": x.population.value, "source_key": x.source_key, "why": x.missing}
                for x in index.left_out
            ],
            "dropped_links": [
                {"source_key": x.source_key, "why": x.missing} for x in index.dropped_links
            ],
        }
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    for left in index.left_out:
        click.echo(f"left out: {left}", err=True)
    for dropped in index.dropped_links:
        click.echo(f"link dropped: {dropped}", err=True)
    kind = "ImportChiffre container" if public_key else "PARTENAIRE_INDEX"
    click.echo(
        f"wrote {output}: {kind} for {', '.join(scope)}: "
        + ", ".join(f"{n} {p}" for p, n in counts.items())
        + f"; {len(index.left_out)} left out"
    )
