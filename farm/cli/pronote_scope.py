"""What the ``farm pronote`` commands share: establishments, their people, summaries.

Each helper either returns what the command needs or says why not and
exits: 1 for what went wrong (stderr says what), 2 for a wrong command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import anyio
import click

from farm.cli.context import fail
from farm.config import Farm
from farm.engine.pronote_people import PronotePeople, PronoteReadError, read_pronote_people
from farm.pronote.identity import FarmPerson
from farm.pronote.records import PronoteTally
from farm.pronote.settings import PronoteSettings

#: Context settings of every ``farm pronote`` command.
FLAGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def establishments_of(farm: Farm, given: Sequence[str]) -> tuple[str, ...]:
    from farm.uai import UaiError, normalize_uai

    out: list[str] = []
    for text in given:
        try:
            uai = normalize_uai(text.strip())
        except UaiError as error:
            raise click.UsageError(str(error)) from None
        tenant = farm.tenants.get(uai)
        if tenant is None:
            raise click.UsageError(f"no tenant {uai!r} in {farm.root}")
        if tenant.kind != "establishment":
            raise click.UsageError(f"{uai} is not an establishment: Pronote has no such tenant")
        if uai not in out:
            out.append(uai)
    return tuple(out)


def read_people_or_fail(
    farm: Farm, tenants: Sequence[str], settings: PronoteSettings
) -> PronotePeople:
    try:
        return anyio.run(read_pronote_people, farm, tenants, settings)
    except PronoteReadError as error:
        fail(f"{error}\nnothing was done.")


def farm_people(people: PronotePeople, settings: PronoteSettings) -> list[FarmPerson]:
    return [
        FarmPerson.of(
            p,
            partner_id=settings.partner_id,
            birth_date_field=settings.birth_date_field,
            ine_field=settings.ine_field,
        )
        for p in people.people
    ]


def status_line(tally: PronoteTally, name: str, zone: ZoneInfo) -> str:
    """The ENT screen's summary, in English with the French modes: Complet, Partiel."""
    last = tally.last
    head = f"{tally.tenant} {name}: {tally.links} Pronote identifier(s) imported"
    if last is None:
        return f"{head}, no import yet"
    when = last.at.astimezone(zone).strftime("%d/%m/%y %H:%M")
    return f"{head}, last import on {when} in mode {last.mode.label}"
