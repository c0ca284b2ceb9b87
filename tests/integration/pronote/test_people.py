"""What Pronote commands read from a real slapd: people as a sync reads them, and more."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from farm.config import Farm
from farm.engine.pronote_people import PronoteReadError, read_pronote_people
from farm.engine.wiring import build_source
from farm.pronote.identity import FarmPerson
from farm.pronote.matching import match_people
from farm.pronote.parser import read_pronote_file
from farm.pronote.records import Population
from farm.pronote.settings import PronoteSettings
from farm.secrets import SecretRef
from farm.simulators.directory import GeneratedDirectory
from farm.simulators.pronote import PronoteShares, birth_dates, generate_idpn
from farm.simulators.slapd import Slapd
from farm.sources import ReadRequest
from farm.sources.sdet import DirectorySettings
from tests.farms import establishment, farm_of, site_config

pytestmark = pytest.mark.slapd

SETTINGS = PronoteSettings()


def farm_on(tmp_path: Path, server: Slapd, directory: GeneratedDirectory) -> Farm:
    cite = directory.cites[0]
    others = [e.uai for e in directory.establishments if e.uai not in cite]
    sites = [
        site_config(
            tmp_path,
            "cite",
            url="https://cite.example.org",
            token=SecretRef("env", "TOKEN_CITE"),
            tenants=[establishment(uai, "cite", f"Établissement {uai}") for uai in cite],
        ),
        site_config(
            tmp_path,
            "other",
            url="https://other.example.org",
            token=SecretRef("env", "TOKEN_OTHER"),
            tenants=[establishment(others[0], "other", "Autre")],
        ),
    ]
    settings = DirectorySettings(
        url=server.url,
        people_base=directory.people_base,
        structures_base=directory.structures_base,
        page_size=200,
    )
    return dataclasses.replace(farm_of(tmp_path, sites), directories={"ent": settings})


async def test_a_cite_s_people_come_with_birth_dates_and_guardian_links(
    tmp_path: Path, slapd_generated: Slapd, generated_directory: GeneratedDirectory
) -> None:
    farm = farm_on(tmp_path, slapd_generated, generated_directory)
    cite = generated_directory.cites[0]

    read = await read_pronote_people(farm, cite, SETTINGS)

    expected = {uid for uai in cite for uid in generated_directory.people_of(uai)}
    assert {p.source_key.removeprefix("sdet:") for p in read.people} == expected
    born = birth_dates(generated_directory)
    for person in read.people:
        uid = person.source_key.removeprefix("sdet:")
        assert person.profile_fields["birthdate"] == born[uid].isoformat()
    truth = {
        (f"sdet:{p.uid}", f"sdet:{child}")
        for p in generated_directory.people
        if p.valid and "parent" in p.kinds
        for child in p.children
        if child in expected and f"sdet:{p.uid}" in {x.source_key for x in read.people}
    }
    assert set(read.guardians) == truth
    assert truth


async def test_the_sync_s_own_read_of_the_same_directory_is_unchanged(
    tmp_path: Path, slapd_generated: Slapd, generated_directory: GeneratedDirectory
) -> None:
    farm = farm_on(tmp_path, slapd_generated, generated_directory)
    cite = generated_directory.cites[0]
    source = build_source(farm, "ent")
    try:
        result = await source.read(ReadRequest(tuple(cite)))
    finally:
        await source.aclose()
    people = [p for snapshot in result.snapshots.values() for p in snapshot.people]
    assert people
    assert all("birthdate" not in p.profile_fields for p in people)
    assert all(not s.role_assignments for s in result.snapshots.values())


async def test_a_generated_full_export_matches_the_real_read_as_its_truth_says(
    tmp_path: Path, slapd_generated: Slapd, generated_directory: GeneratedDirectory
) -> None:
    farm = farm_on(tmp_path, slapd_generated, generated_directory)
    cite = generated_directory.cites[0]
    files = generate_idpn(generated_directory, cite, seed=3, shares=PronoteShares(ambiguous=0.05))
    path = tmp_path / "IdPN_To_KOSMOS.xml"
    path.write_bytes(files.full)

    read = await read_pronote_people(farm, cite, SETTINGS)
    people = [FarmPerson.of(p) for p in read.people]
    result = match_people(read_pronote_file(path).people, people, tenants=cite)

    assert {p.value: result.counts(p) for p in Population} == files.truth["full"]


async def test_a_netypareo_or_unknown_tenant_is_refused_by_name(
    tmp_path: Path, slapd_generated: Slapd, generated_directory: GeneratedDirectory
) -> None:
    farm = farm_on(tmp_path, slapd_generated, generated_directory)
    with pytest.raises(PronoteReadError, match="no tenant '0999999Z'"):
        await read_pronote_people(farm, ["0999999Z"], SETTINGS)
