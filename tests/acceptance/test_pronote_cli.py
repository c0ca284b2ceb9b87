"""``farm pronote`` as operators run it: a farm folder over a real slapd and the Moodle simulator.

The world is the sync tests' (a generated directory with a cité scolaire,
served by slapd, and simulated Moodle sites). The Pronote files are
generated for the cité's two establishments with their truth
(:mod:`farm.simulators.pronote`); the exports are validated against Index
Education's schema.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from farm.pronote.fields import pronote_ids
from farm.registry import Registry
from farm.simulators.pronote import PronoteShares, generate_idpn
from tests.acceptance.test_sync_e2e import Farm, World, as_json, ok, world
from tests.fixtures.pronote import schema_errors

__all__ = ["world"]  # the module-scoped fixture, shared with the sync tests' world

pytestmark = [pytest.mark.slapd, pytest.mark.slow]

SHARES = PronoteShares(omitted=0.2, unmatched=0.1, ambiguous=0.1, directory_id=0.3)


def counts(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {name: part["counts"] for name, part in report["populations"].items()}


def cite_of(farm: Farm) -> tuple[str, ...]:
    return next(uais for uais in farm.establishments.values() if len(uais) > 1)


def tenant_args(uais: tuple[str, ...]) -> list[str]:
    return [arg for uai in uais for arg in ("--tenant", uai)]


def links_of(farm: Farm, uais: tuple[str, ...]) -> set[tuple[str, str, str, str]]:
    with Registry.open(farm.registry_url) as registry:
        return {
            (x.tenant, x.source_key, x.population.value, x.pronote_id)
            for x in registry.pronote_links(uais)
        }


@pytest.fixture(scope="module")
def pronote_farm(world: World) -> Farm:
    made = world.farm("pronote")
    ok(made.run("registry", "upgrade"))
    ok(made.run("registry", "load"))
    return made


@pytest.mark.parametrize("command", ["import", "status", "report", "link", "export"])
def test_every_pronote_command_has_help_with_an_example(pronote_farm: Farm, command: str) -> None:
    done = ok(pronote_farm.run("pronote", command, "--help"))
    assert "Example" in done.stdout


def test_a_cite_scolaire_imports_a_full_then_a_partial_file_and_survives_a_sync(
    pronote_farm: Farm, world: World, tmp_path: Path
) -> None:
    farm, uais = pronote_farm, cite_of(pronote_farm)
    files = generate_idpn(world.directory, uais, seed=5, shares=SHARES)
    full, partial = tmp_path / "IdPN_To_KOSMOS.xml", tmp_path / "IdPN_To_KOSMOS-partial.xml"
    full.write_bytes(files.full)
    partial.write_bytes(files.partial)
    before = ok(farm.run("pronote", "status", *tenant_args(uais)))
    assert "0 Pronote identifier(s) imported, no import yet" in before.stdout

    # A simulation first: the preview, and nothing written.
    preview = ok(farm.run("pronote", "import", str(full), *tenant_args(uais), "--mode", "full"))
    assert "Simulation: nothing was written" in preview.stdout
    assert "pupils" in preview.stdout
    assert links_of(farm, uais) == set()

    applied = ok(
        farm.run(
            "pronote",
            "import",
            str(full),
            *tenant_args(uais),
            "--mode",
            "full",
            "--apply",
            "--json",
        )
    )
    report = as_json(applied)
    assert report["applied"] is True
    assert counts(report) == files.truth["full"]
    assert all(c["ambiguous"] + c["unmatched_file"] > 0 for c in [counts(report)["pupils"]])
    after_full = links_of(farm, uais)
    assert len(after_full) == report["links"]["add"] > 0

    status = ok(farm.run("pronote", "status", *tenant_args(uais))).stdout.splitlines()
    for uai, line in zip(uais, status, strict=True):
        count = report["per_tenant"][uai]["count"]
        assert line.startswith(f"{uai} ")
        assert f": {count} Pronote identifier(s) imported, last import on " in line
        assert line.endswith(" in mode Complet")

    second = ok(
        farm.run(
            "pronote",
            "import",
            str(partial),
            *tenant_args(uais),
            "--mode",
            "partial",
            "--apply",
            "--json",
        )
    )
    partial_report = as_json(second)
    assert counts(partial_report) == files.truth["partial"]
    assert partial_report["links"]["remove"] == 0
    after_partial = links_of(farm, uais)
    assert after_full < after_partial
    as_seen = ok(farm.run("pronote", "status", "--json", *tenant_args(uais)))
    for entry in as_json(as_seen):
        assert entry["last_import"]["mode_label"] == "Partiel"
        assert entry["links"] == partial_report["per_tenant"][entry["tenant"]]["count"]

    # The stored report is the import's, in every format.
    stored = as_json(ok(farm.run("pronote", "report", "--tenant", uais[0], "--json")))
    assert counts(stored) == counts(partial_report)
    table = ok(farm.run("pronote", "report", "--tenant", uais[0], "--csv", str(tmp_path / "csv")))
    assert "farm pronote link --tenant" in table.stdout
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        f"IdPN_To_KOSMOS-partial-{p}.csv" for p in ("guardians", "pupils", "staff", "teachers")
    ]

    # Linking by hand, with the command the report gives, someone the full file left ambiguous.
    stray = next(
        entry
        for part in report["populations"].values()
        for entry in part["ambiguous"]
        if entry["candidates"]
    )
    args = shlex.split(stray["link"])[1:]
    done = ok(farm.run(*args))
    assert f"linked to {stray['pronote_id']}" in done.stdout
    by_hand = links_of(farm, uais)
    assert any(x[3] == stray["pronote_id"] for x in by_hand)

    # A sync rerun leaves the links alone: they are the registry's, keyed by source key.
    ok(farm.run("sync", "--all", "--quiet"))
    ok(farm.run("sync", "--all", "--quiet"))
    assert links_of(farm, uais) == by_hand


def test_a_partial_file_is_refused_in_full_mode(
    pronote_farm: Farm, world: World, tmp_path: Path
) -> None:
    uais = cite_of(pronote_farm)
    path = tmp_path / "IdPN_To_KOSMOS.xml"
    path.write_bytes(generate_idpn(world.directory, uais, seed=6).partial)
    done = pronote_farm.run("pronote", "import", str(path), *tenant_args(uais), "--mode", "full")
    assert done.returncode == 1
    assert "partial export" in done.stderr
    assert "--mode partial" in done.stderr


def test_a_full_import_that_would_unlink_most_people_stops(world: World, tmp_path: Path) -> None:
    farm = world.farm("pronote-mass")
    ok(farm.run("registry", "upgrade"))
    uais = cite_of(farm)
    first = tmp_path / "IdPN_To_KOSMOS.xml"
    first.write_bytes(generate_idpn(world.directory, uais, seed=7, shares=PronoteShares(0)).full)
    ok(farm.run("pronote", "import", str(first), *tenant_args(uais), "--mode", "full", "--apply"))
    linked = links_of(farm, uais)
    few = tmp_path / "IdPN_To_KOSMOS-few.xml"
    few.write_bytes(
        generate_idpn(world.directory, uais, seed=8, shares=PronoteShares(omitted=0.9)).full
    )

    stopped = farm.run(
        "pronote", "import", str(few), *tenant_args(uais), "--mode", "full", "--apply"
    )

    assert stopped.returncode == 1
    assert "above the 50% mass-removal threshold" in stopped.stderr
    assert "--allow-mass-removal" in stopped.stderr
    assert "Nothing was imported" in stopped.stderr
    assert links_of(farm, uais) == linked
    allowed = farm.run(
        "pronote",
        "import",
        str(few),
        *tenant_args(uais),
        "--mode",
        "full",
        "--apply",
        "--allow-mass-removal",
    )
    ok(allowed)
    assert len(links_of(farm, uais)) < len(linked)


def test_a_hostile_file_is_refused_and_nothing_is_imported(
    pronote_farm: Farm, tmp_path: Path
) -> None:
    uais = cite_of(pronote_farm)
    path = tmp_path / "IdPN_To_KOSMOS.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<PRONOTE_INDEX><Eleves><Eleve IdPN="1" Nom="&x;" Prenom="a"/></Eleves></PRONOTE_INDEX>\n',
        encoding="utf-8",
    )
    before = links_of(pronote_farm, uais)
    done = pronote_farm.run("pronote", "import", str(path), *tenant_args(uais), "--mode", "full")
    assert done.returncode == 1
    assert done.stderr.startswith("IdPN_To_KOSMOS.xml:2: a document type declaration")
    assert "Traceback" not in done.stderr
    assert links_of(pronote_farm, uais) == before


def test_the_export_of_every_establishment_validates_against_the_schema(
    pronote_farm: Farm, tmp_path: Path
) -> None:
    for site, uais in pronote_farm.establishments.items():
        out = tmp_path / f"{site}.xml"
        done = ok(
            pronote_farm.run(
                "pronote",
                "export",
                *tenant_args(uais),
                "--partner",
                "ENT-DEMO",
                "-o",
                str(out),
                "--json",
            )
        )
        summary = json.loads(done.stdout)
        assert summary["counts"]["pupils"] > 0
        assert schema_errors("RapprochementSSO", out.read_bytes()) == []


def test_an_export_without_partner_id_writes_nothing(pronote_farm: Farm, tmp_path: Path) -> None:
    out = tmp_path / "none.xml"
    uais = cite_of(pronote_farm)
    done = pronote_farm.run("pronote", "export", *tenant_args(uais), "-o", str(out))
    assert done.returncode == 1
    assert "--partner" in done.stderr
    assert not out.exists()


def test_an_encrypted_export_validates_and_opens_with_the_private_key(
    pronote_farm: Farm, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from farm.pronote.container import open_container

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "index-education.pem"
    pem.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    uais = cite_of(pronote_farm)
    out = tmp_path / "sealed.xml"
    args = ["--partner", "ENT-DEMO", "-o", str(out), "--public-key", str(pem)]
    done = ok(pronote_farm.run("pronote", "export", *tenant_args(uais), *args))
    assert "ImportChiffre container" in done.stdout
    sealed = out.read_bytes()
    assert schema_errors("ConteneurImportChiffre", sealed) == []
    assert schema_errors("RapprochementSSO", open_container(sealed, private)) == []


def test_our_own_export_imports_back_with_everyone_matched_by_identifier(
    world: World, tmp_path: Path
) -> None:
    farm = world.farm("pronote-round-trip")
    ok(farm.run("registry", "upgrade"))
    uais = cite_of(farm)
    out = tmp_path / "cite.xml"
    exported = as_json(
        ok(
            farm.run(
                "pronote", "export", *tenant_args(uais), "--partner", "E", "-o", str(out), "--json"
            )
        )
    )
    done = ok(
        farm.run("pronote", "import", str(out), *tenant_args(uais), "--mode", "full", "--json")
    )
    report = as_json(done)
    assert report["kind"] == "partenaire_index"
    for population, part in report["populations"].items():
        assert part["counts"]["matched"] == exported["counts"][population]
        assert part["counts"]["unmatched_file"] == part["counts"]["ambiguous"] == 0
        assert {e["method"] for e in part["matched"]} <= {"directory-id"}


def test_a_site_that_declares_the_field_gets_each_persons_pronote_id_through_the_sync(
    world: World, tmp_path: Path
) -> None:
    farm = world.farm("pronote-field")
    ok(farm.run("registry", "upgrade"))
    site, uais = next((s, u) for s, u in farm.establishments.items() if len(u) > 1)
    # The site has the custom profile field, and the farm says the identifier goes there.
    world.moodle.sites[site].profile_fields["pronote"] = "Pronote"
    site_file = farm.folder / f"{site}.toml"
    site_file.write_text(
        site_file.read_text().replace("[site]\n", '[site]\nprofile_fields = ["pronote"]\n', 1)
    )
    farm_file = farm.folder / "farm.toml"
    farm_file.write_text(farm_file.read_text() + '\n[pronote]\nprofile_field = "pronote"\n')
    ok(farm.run("registry", "load"))
    ok(farm.run("sync", "--site", site, "--quiet"))
    assert {u.customfields.get("pronote", "") for u in world.moodle.sites[site].live_users()} == {
        ""
    }

    files = generate_idpn(world.directory, uais, seed=9, shares=PronoteShares(0, 0, 0, 1.0))
    idpn = tmp_path / "IdPN_To_KOSMOS.xml"
    idpn.write_bytes(files.full)
    ok(farm.run("pronote", "import", str(idpn), *tenant_args(uais), "--mode", "full", "--apply"))
    ok(farm.run("sync", "--site", site, "--quiet"))

    with Registry.open(farm.registry_url) as registry:
        # One value per person: a teacher who is also a parent carries the teacher's id.
        expected = pronote_ids(registry.pronote_links(uais))
        accounts = {e.key: e.moodle_id for e in registry.index_entries(site, "person")}
    assert expected
    by_id = {u.id: u for u in world.moodle.sites[site].live_users()}
    carried = {
        key: by_id[moodle_id].customfields.get("pronote", "")
        for key, moodle_id in accounts.items()
        if moodle_id in by_id
    }
    assert {key: value for key, value in carried.items() if value} == expected
    # A rerun sends nothing more: the identifier is a field like any other, digested.
    again = as_json(ok(farm.run("sync", "--site", site, "--json", "--quiet")))
    assert again["writes"] == 0
