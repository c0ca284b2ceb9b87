"""``farm staff import`` and ``farm reconcile`` as operators run them: slapd and a simulated Moodle.

The world is the sync tests' (a generated directory with a cité scolaire on
a real slapd, simulated Moodle sites). The cité's site is switched to
manual accounts whose first passwords go to a file, so that each report
file can be compared with the passwords Moodle holds. A teachers file and
a staff file are imported in each encoding, with different people each
time; then the directory starts carrying two of them (one a sync gives a
second account, one whose account the site refuses for its taken e-mail),
and ``farm reconcile`` makes each of them one account again.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap3
import pytest

from farm.model import Kind
from farm.registry import Registry
from tests.acceptance.test_staff_cli import HOSTILE, folder_listing
from tests.acceptance.test_sync_e2e import Farm, World, as_json, ok, world
from tests.staff_files import STAFF_HEADER, TEACHERS_HEADER, write_csv

__all__ = ["world"]  # the module-scoped fixture, shared with the sync tests' world

pytestmark = [pytest.mark.slapd, pytest.mark.slow]

SUFFIXES = ("UN", "DEUX", "TROIS", "QUATRE")

#: The encodings the whole import is run in: a marked UTF-16 file and a Windows-1252 one, the
#: two that differ most from plain UTF-8. Reading every encoding is proved by ``farm staff
#: check`` (tests/acceptance/test_staff_cli.py) and the unit tests of the reader; running the
#: import, sync and reconciliation four times over would only make the suite longer.
#: Every encoding the import reads, each file bringing people of its own.
IMPORT_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")


def teachers(n: int) -> list[tuple[str, ...]]:
    """The seed's teachers with this encoding's last names (so each file brings new people)."""
    s = SUFFIXES[n]
    return [
        ("Monsieur", f"PLATON-{s}", "Francis", "Philosophie", "", "", "'06000", "", "12/03/1971"),
        ("Monsieur", f"DESCARTES-{s}", "Rachid", "Mathématiques", f"rdescartes{n}",
         "Cogito-1637", "", "", ""),
        ("Madame", f"LAVOISIER-{s}", "Nicole", "Physique-Chimie", "", "", "",
         f"n.lavoisier{n}@example.fr", ""),
        ("Mme", f"MOZART-{s}", "Pauline", "Éducation musicale", "", "", "", "", "27/01/56"),
        ("Mlle", f"CŒUR-{s}", "Hélène", "Français", "", "", "34000", "", ""),
    ]  # fmt: skip


def staff(n: int, lycee: str, college: str) -> list[tuple[str, ...]]:
    s = SUFFIXES[n]
    return [
        ("Madame", f"CURIE-{s}", "Marie", "DIR", lycee, f"m.curie{n}@example.fr"),
        ("Monsieur", f"PASTEUR-{s}", "Louis", "EDU", lycee, ""),
        ("Monsieur", f"PASTEUR-{s}", "Louis", "EDU", college, ""),
        ("Mme", f"GERMAIN-{s}", "Sophie", "MDS", college, ""),
        ("M", f"VERNE-{s}", "Jules", "TOS", lycee, ""),
        ("Melle", f"SAND-{s}", "Aurore", "DOC", lycee, ""),
    ]


@dataclass
class Cite:
    """The farm, its cité scolaire's site and establishments."""

    farm: Farm
    site: str
    lycee: str
    college: str

    def registry(self) -> Registry:
        return Registry.open(self.farm.registry_url)

    def accounts(self) -> dict[str, Any]:
        """The site's accounts by idnumber (two accounts of one idnumber would be one here)."""
        found: dict[str, Any] = {}
        for user in self.farm.sites[self.site].live_users():
            if user.idnumber:
                assert user.idnumber not in found, f"two accounts of {user.idnumber}"
                found[user.idnumber] = user
        return found


def manual_site(farm: Farm, site: str) -> None:
    """Switch ``site`` from the ENT's CAS to manual accounts, first passwords by file."""
    path = farm.folder / f"{site}.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('auth = "cas"', 'auth = "manual"\nnew_passwords = "file"'), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def cite(world: World) -> Cite:
    farm = world.farm("staff")
    site, (first, second) = next(
        (s, uais) for s, uais in farm.establishments.items() if len(uais) == 2
    )
    lycee, college = next(
        (e.partner, e.uai) for e in world.directory.establishments if e.uai in (first, second)
         and e.partner is not None
    )  # fmt: skip
    manual_site(farm, site)
    ok(farm.run("registry", "upgrade"))
    ok(farm.run("registry", "load"))
    ok(farm.run("sync", "--all", "--quiet"))
    return Cite(farm, site, lycee, college)


def report_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_bytes().decode("utf-8-sig").splitlines(), delimiter=";"))


def assert_report_is_moodle(cite: Cite, report: Path, skip: frozenset[str] = frozenset()) -> int:
    """Each line of the report names the account Moodle holds: login, e-mail, password."""
    accounts = cite.accounts()
    rows = report_rows(report)
    for row in rows:
        if row["Cle synchro"] in skip:
            continue
        account = accounts[row["Cle synchro"]]
        assert row["Nom utilisateur"] == account.username
        assert row["Email"] == account.email
        assert row["Mot de passe"] == account.password
        assert not account.suspended
    return len(rows)


def add_directory_person(world: World, like: str, uid: str, **values: str) -> str:
    """A new directory entry shaped as the generated ``like`` one (a teacher or a staff member)."""
    kind = "ENTAuxEnseignant" if like == "teacher" else "ENTAuxNonEnsEtab"
    _, template = next(
        (dn, attrs) for dn, attrs in world.directory.entries if kind in attrs.get("objectClass", [])
        and values["etab_dn"] in attrs.get("ENTPersonStructRattach", [])
    )  # fmt: skip
    # A parent's class and its link are not theirs.
    attrs = {k: list(v) for k, v in template.items() if k != "ENTAuxPersRelEleveEleve"}
    attrs.update(
        objectClass=[c for c in attrs["objectClass"] if c != "ENTAuxPersRelEleve"],
        uid=[uid],
        sn=[values["sn"]],
        givenName=[values["givenName"]],
        cn=[f"{values['sn']} {values['givenName']}"],
        displayName=[f"{values['givenName']} {values['sn']}"],
        ENTPersonLogin=[uid.lower()],
        ENTPersonJointure=[f"AC-TEST${uid}"],
        mail=[values["mail"]],
        ENTPersonDateNaissance=[values["born"]],
    )
    dn = f"uid={uid},{world.directory.people_base}"
    server = ldap3.Server(world.slapd.url)
    with ldap3.Connection(server, world.slapd.admin_dn, world.slapd.admin_password) as ldap:
        added = ldap.add(dn, attributes=attrs)  # type: ignore[no-untyped-call]
        assert added, ldap.result
    return f"sdet:{uid}"


def test_import_in_each_encoding_then_reconcile_leaves_one_account_each_with_its_history(
    cite: Cite, world: World, tmp_path: Path
) -> None:
    farm = cite.farm
    reports: list[Path] = []
    for n, encoding in enumerate(IMPORT_ENCODINGS):
        path = write_csv(tmp_path / f"enseignants-{n}.csv", TEACHERS_HEADER, teachers(n),
                         encoding=encoding)  # fmt: skip
        preview = ok(farm.run("staff", "import", str(path), "--tenant", cite.lycee,
                              "--profile", "teachers", "--json"))  # fmt: skip
        previewed = as_json(preview)
        (site,) = previewed["simulation"]["sites"]
        assert site["site"] == cite.site
        assert len(site["created"]) == 5
        assert previewed["applied"] is False
        done = ok(farm.run("staff", "import", str(path), "--tenant", cite.lycee,
                           "--profile", "teachers", "--apply", "--json"))  # fmt: skip
        data = as_json(done)
        assert data["encoding"].startswith(("UTF", "Windows-1252"))
        assert (data["roster"]["add"], data["sync"]["status"]) == (5, "succeeded")
        assert data["passwords_set"] == 5
        assert "Cogito-1637" not in done.stdout + done.stderr
        reports.append(Path(data["report"]))
        assert assert_report_is_moodle(cite, reports[-1]) == 5

        path = write_csv(tmp_path / f"personnels-{n}.csv", STAFF_HEADER,
                         staff(n, cite.lycee, cite.college), encoding=encoding)  # fmt: skip
        done = ok(farm.run("staff", "import", str(path), "--profile", "staff",
                           "--manager-category", "1", "--apply", "--json"))  # fmt: skip
        data = as_json(done)
        assert data["tenants"] == sorted([cite.lycee, cite.college])
        assert data["summary"]["left_out"] == 1  # the TOS agent
        assert data["roster"]["add"] == 5  # four people, PASTEUR in both establishments
        reports.append(Path(data["report"]))
        # One line per person and establishment: PASTEUR twice.
        assert assert_report_is_moodle(cite, reports[-1]) == 5
    imported = {row["Cle synchro"] for report in reports for row in report_rows(report)}
    assert len(imported) == len(IMPORT_ENCODINGS) * (5 + 4)
    before = farm.writes()
    ok(farm.run("sync", "--all", "--quiet"))
    assert farm.writes() == before  # the rosters are sources: nothing changed, nothing written

    # The directory starts carrying two of them: PLATON (his birth date, another e-mail: a sync
    # gives him a second account) and CURIE (her e-mail, which her CSV account holds: refused).
    etab = next(e for e in world.directory.establishments if e.uai == cite.lycee)
    platon_key = add_directory_person(
        world, "teacher", "T900001", etab_dn=etab.dn, sn="Platon-Un", givenName="Francis",
        mail="francis.platon@example.org", born="12/03/1971",
    )  # fmt: skip
    curie_key = add_directory_person(
        world, "staff", "S900002", etab_dn=etab.dn, sn="CURIE-UN", givenName="Marie",
        mail="m.curie0@example.fr", born="1970-01-01",
    )  # fmt: skip
    farm.run("sync", "--all", "--quiet")  # partial: CURIE's directory account is refused
    csv_ids = {key: user.id for key, user in cite.accounts().items()}
    assert "AC-TEST$T900001" in csv_ids  # PLATON's duplicate
    assert "AC-TEST$S900002" not in csv_ids

    listing = as_json(ok(farm.run("reconcile", "--tenant", cite.lycee, "--json")))
    pairs = {p["directory_key"]: p for p in listing["pairs"]}
    assert set(pairs) == {platon_key, curie_key}
    assert pairs[platon_key]["confidence"] == "high"
    assert "same birth date" in pairs[platon_key]["reason"]
    assert pairs[curie_key]["confidence"] == "high"
    assert "same e-mail" in pairs[curie_key]["reason"]
    assert pairs[platon_key]["directory_account"] == csv_ids["AC-TEST$T900001"]
    assert listing["run"] is None

    applied = ok(farm.run("reconcile", "--tenant", cite.lycee, "--apply", "--json"))
    assert len(as_json(applied)["linked"]) == 2
    ok(farm.run("sync", "--all", "--quiet"))
    ok(farm.run("sync", "--all", "--quiet"))
    before = farm.writes()
    ok(farm.run("sync", "--all", "--quiet"))
    assert farm.writes() == before

    # Each person ends with exactly one active account, and the two kept their CSV one.
    accounts = cite.accounts()
    active = [u for u in farm.sites[cite.site].live_users() if not u.suspended]
    platon_csv = csv_ids["PERSON.m-mmefrancisplatonun"]
    curie_csv = csv_ids["PERSON.m-mmemariecurieun"]
    assert accounts["AC-TEST$T900001"].id == platon_csv
    assert accounts["AC-TEST$S900002"].id == curie_csv
    for name in ("PLATON-UN", "CURIE-UN"):
        assert sum(1 for u in active if u.lastname.upper() == name) == 1
    duplicate = next(
        u for u in farm.sites[cite.site].live_users() if u.username.startswith("duplicate-")
    )
    assert duplicate.suspended
    linked = {"PERSON.m-mmefrancisplatonun", "PERSON.m-mmemariecurieun"}
    for key in imported - linked:
        assert sum(1 for u in active if u.idnumber == key) == 1
    # History kept: the CSV accounts' journal lines remain, and the handover is journalled.
    with cite.registry() as registry:
        lines = registry.journal_entries(person="csv:PERSON.m-mmefrancisplatonun")
        assert any(e.action == "create" and e.moodle_id == platon_csv for e in lines)
        handover = registry.journal_entries(person=platon_key)
        assert any(e.action == "update" and e.new == {"idnumber": "AC-TEST$T900001",
                   "source_key": platon_key} for e in handover)  # fmt: skip
        tally = registry.staff_tallies([cite.lycee])[cite.lycee]
    assert tally.pending == 0
    # The lycée's people: 5 teachers and 3 staff per encoding, but the two linked.
    assert tally.people == len(IMPORT_ENCODINGS) * (5 + 3) - 2
    # The report files still say what Moodle holds for everyone not linked since.
    for report in reports:
        assert_report_is_moodle(cite, report, skip=frozenset(linked))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_imports_nothing(cite: Cite, tmp_path: Path, case: str) -> None:
    data, line, message = HOSTILE[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(data)
    before = folder_listing(cite.farm.folder)

    result = cite.farm.run(
        "staff", "import", str(path), "--tenant", cite.lycee, "--profile", "teachers", "--apply"
    )

    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:{line}:" if line else f"{path}: "), result.stderr
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("nothing was imported.")
    # Neither the registry (its file untouched) nor a report file.
    assert folder_listing(cite.farm.folder) == before
    assert not (cite.farm.folder / "var" / "staff-reports" / f"{case}.csv").exists()


def test_rows_in_conflict_import_nothing_unless_left_out(cite: Cite, tmp_path: Path) -> None:
    with cite.registry() as registry:
        index = registry.site_index(cite.site)
        imports = len(registry.staff_imports())
    taken = next(
        str(e.values["username"]) for e in index.of(Kind.PERSON).values()
        if e.key.startswith("sdet:")
    )  # fmt: skip
    rows = [("M.", "NOUVEAU", "Jean", "Histoire", taken, "Secret-123", "", "", ""),
            ("M.", "AUTRE", "Paul", "Histoire", "", "", "", "", "")]  # fmt: skip
    path = write_csv(tmp_path / "conflit.csv", TEACHERS_HEADER, rows)
    args = ("staff", "import", str(path), "--tenant", cite.lycee, "--profile", "teachers")

    refused = cite.farm.run(*args, "--apply")
    assert refused.returncode == 1
    assert "login already used in the directory or on the site" in refused.stdout
    assert "Nothing was imported" in refused.stderr
    with cite.registry() as registry:
        assert len(registry.staff_imports()) == imports
    done = ok(cite.farm.run(*args, "--apply", "--skip-conflicts", "--json"))
    assert as_json(done)["roster"]["add"] == 1


def test_trainers_of_no_netypareo_source_get_the_teacher_usertype_on_a_cfa_site(
    cite: Cite, tmp_path: Path
) -> None:
    farm = cite.farm
    tenant = farm.cfa_tenants[0]
    rows = [("M.", "FORMATEUR", "Marc", "Soudure", "", "", "", "", "")]
    path = write_csv(tmp_path / "formateurs.csv", TEACHERS_HEADER, rows, encoding="cp1252")

    done = ok(farm.run("staff", "import", str(path), "--tenant", tenant, "--profile", "teachers",
                       "--usertype", "_teacher", "--apply", "--json"))  # fmt: skip

    data = as_json(done)
    assert data["sync"]["status"] == "succeeded"
    (user,) = [
        u for u in farm.sites[farm.cfa_site].live_users()
        if u.idnumber == "PERSON.m-mmemarcformateur"
    ]  # fmt: skip
    assert user.customfields["netypareo_usertype"] == "_teacher"
    assert user.auth == "manual"
    assert user.password == report_rows(Path(data["report"]))[0]["Mot de passe"]
    # The next syncs keep the trainer, beside the NetYpareo site's own people.
    ok(farm.run("sync", "--tenant", tenant, "--quiet"))
    assert any(
        u.idnumber == "PERSON.m-mmemarcformateur" and not u.suspended
        for u in farm.sites[farm.cfa_site].live_users()
    )
