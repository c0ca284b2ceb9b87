"""Writing the demo farm's folder: farm.toml, one TOML file per Moodle site, token files.

The files look like the shipped ``tenants/`` farm: a cité scolaire (a lycée
and a collège linked in the directory) shares one Moodle site, every other
establishment has its own, and secrets are ``file:`` references to files
written next to them, never values in the TOML.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from farm.simulators.directory import GeneratedDirectory, GeneratedEstablishment

DIRECTORY = "ent-demo"
NETYPAREO = "cfa-demo"
#: Custom profile fields a NetYpareo-fed Moodle site has.
CFA_PROFILE_FIELDS = (
    "netypareo_usertype",
    "netypareo_status",
    "netypareo_cursus",
    "netypareo_program",
)

_ACADEMIES = ("montpellier", "toulouse")


@dataclass(frozen=True, slots=True)
class DemoSite:
    """One Moodle site of the demo farm and its establishments."""

    name: str
    token: str
    establishments: tuple[GeneratedEstablishment, ...]

    @property
    def cite(self) -> bool:
        return len(self.establishments) > 1


@dataclass(frozen=True, slots=True)
class DemoCfa:
    """The demo's CFA: one Moodle site fed by several sites of one NetYpareo endpoint."""

    site: DemoSite
    wsdl: str
    ws_token: str
    sites: tuple[tuple[str, str], ...]  # (NetYpareo site code, name)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def plan_sites(directory: GeneratedDirectory) -> list[DemoSite]:
    """Group the directory's establishments into sites: one per cité scolaire, else one each."""
    partner_of = {e.uai: e.partner for e in directory.establishments if e.partner}
    taken: set[str] = set()
    sites: list[DemoSite] = []
    by_uai = {e.uai: e for e in directory.establishments}
    for etab in directory.establishments:
        if etab.uai in taken:
            continue
        members = [etab]
        college = next((c for c, lycee in partner_of.items() if lycee == etab.uai), None)
        if college is not None and college in by_uai:
            members.append(by_uai[college])
        taken.update(m.uai for m in members)
        base = _slug(etab.name.removesuffix("-ac-TEST"))
        name = "cite-" + base.removeprefix("lycee-") if len(members) > 1 else base
        sites.append(DemoSite(name, secrets.token_hex(16), tuple(members)))
    return sites


def _tags(index: int, etab: GeneratedEstablishment) -> list[str]:
    academie = _ACADEMIES[index % len(_ACADEMIES)]
    network = "lycees" if etab.kind.startswith("LYCEE") else "colleges"
    return [f"academie:{academie}", f"network:{network}"]


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_farm(
    folder: Path,
    sites: list[DemoSite],
    *,
    ldap_url: str,
    suffix: str,
    bind_dn: str | None,
    bind_password: str | None,
    moodle_url: str,
    registry_url: str,
    cfa: DemoCfa | None = None,
) -> Path:
    """Write the farm into ``folder`` (replacing an earlier demo's files) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.toml"):
        old.unlink()
    secret_dir = folder / "secrets"
    secret_dir.mkdir(exist_ok=True)
    bind = ""
    if bind_dn and bind_password:
        _write_secret(secret_dir / "ldap-bind", bind_password)
        bind = f'bind_dn = {_q(bind_dn)}\nbind_password = "file:secrets/ldap-bind"\n'
    (folder / "farm.toml").write_text(
        f"""# The demo farm written by `farm demo`: every source is a local stand-in.

[farm]
name = "Demo farm"
registry_url = {_q(registry_url)}
jobs_in_flight = 6
removal = "suspend"
mass_removal_threshold = 0.5
timezone = "Europe/Paris"

[limits]
calls_in_flight = 2
records_per_batch = 50
timeout = 60.0

[schedules]
users = "30 2 * * *"
cohorts = "0 3 * * *"
delta = "*/30 7-19 * * 1-5"

[directories.{DIRECTORY}]
url = {_q(ldap_url)}
{bind}people_base = {_q("ou=people," + suffix)}
structures_base = {_q("ou=structures," + suffix)}
page_size = 200
connections = 2
"""
        + (_netypareo_section(cfa, secret_dir) if cfa else ""),
        encoding="utf-8",
    )
    if cfa is not None:
        _write_cfa(folder, cfa, moodle_url)
    for index, site in enumerate(sites):
        _write_secret(secret_dir / f"{site.name}.token", site.token)
        first = site.establishments[0]
        tags = _tags(index, first)
        if site.cite:
            tags.append("network:cites-scolaires")
        blocks = "\n".join(
            f"[[establishments]]\nuai = {_q(e.uai)}\nname = {_q(e.name)}\n"
            f"tags = [{_q(_tags(index, e)[1])}]\n"
            for e in site.establishments
        )
        comment = "A cité scolaire: one Moodle for a lycée and a collège." if site.cite else ""
        (folder / f"{site.name}.toml").write_text(
            (f"# {comment}\n" if comment else "")
            + f"[site]\nurl = {_q(f'{moodle_url}/{site.name}')}\n"
            f'token = "file:secrets/{site.name}.token"\n'
            f"tags = [{', '.join(_q(t) for t in tags[:1] + tags[2:])}]\n"
            f"directory = {_q(DIRECTORY)}\n"
            "# Single sign-on through the ENT's CAS: the site installed the CAS plugin.\n"
            'auth = "cas"\n\n'
            f"{blocks}",
            encoding="utf-8",
        )
    return folder


def _netypareo_section(cfa: DemoCfa, secret_dir: Path) -> str:
    _write_secret(secret_dir / "netypareo.token", cfa.ws_token)
    return f"""
[netypareo.{NETYPAREO}]
wsdl = {_q(cfa.wsdl)}
token = "file:secrets/netypareo.token"
timeout = 60.0
usertype_prefix = true
"""


def _write_cfa(folder: Path, cfa: DemoCfa, moodle_url: str) -> None:
    name = cfa.site.name
    _write_secret(folder / "secrets" / f"{name}.token", cfa.site.token)
    blocks = "\n".join(
        f"[[netypareo_sites]]\nid = {_q(f'{name}-{code}')}\ncode = {_q(code)}\n"
        f"index = {index}\nname = {_q(title)}\n"
        f"tags = [{_q('academie:' + _ACADEMIES[index % len(_ACADEMIES)])}]\n"
        for index, (code, title) in enumerate(cfa.sites)
    )
    fields = ", ".join(_q(f) for f in CFA_PROFILE_FIELDS)
    (folder / f"{name}.toml").write_text(
        "# One Moodle for the sites of a CFA, all read from one NetYpareo endpoint.\n"
        f"[site]\nurl = {_q(f'{moodle_url}/{name}')}\n"
        f'token = "file:secrets/{name}.token"\n'
        f'tags = ["network:cfa"]\nnetypareo = {_q(NETYPAREO)}\n'
        f"profile_fields = [{fields}]\n"
        "# Manual accounts; first passwords go to an owner-only file under var/credentials.\n"
        'auth = "manual"\nnew_passwords = "file"\n\n'
        f"{blocks}",
        encoding="utf-8",
    )


def _write_secret(path: Path, value: str) -> None:
    """A secret file its owner alone may read, as `farm tenants check` wants them."""
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
