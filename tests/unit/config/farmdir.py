"""Small farms written to a temporary folder, for the configuration tests."""

from __future__ import annotations

from pathlib import Path

FARM_TOML = """\
[farm]
name = "test farm"

[directories.ent]
url = "ldap://127.0.0.1:3890"
people_base = "ou=people,dc=test,dc=fr"
structures_base = "ou=structures,dc=test,dc=fr"
bind_dn = "cn=farm,dc=test,dc=fr"
bind_password = "env:TEST_FARM_BIND"

[netypareo.cfa]
wsdl = "http://127.0.0.1:8090/cfa/ws.wsdl"
token = "env:TEST_FARM_NETYPAREO"
"""

LYCEE_TOML = """\
[site]
url = "https://lycee.example.fr"
token = "env:TEST_FARM_TOKEN_LYCEE"
tags = ["academie:rennes", "departement:29"]
directory = "ent"
auth = "oauth2"

[limits]
calls_in_flight = 2

[[establishments]]
uai = "0290009C"
name = "Lycée de l'Iroise"
tags = ["network:lycees"]

[[establishments]]
uai = "0291595b"
name = "Collège"
"""

CFA_TOML = """\
[site]
url = "https://cfa.example.fr/moodle"
token = "file:secrets/cfa-token"
netypareo = "cfa"
auth = "manual"
new_passwords = "file"

[schedules]
delta = "disabled"

[[netypareo_sites]]
id = "cfa-brest"
code = 29
index = 0

[[netypareo_sites]]
id = "cfa-quimper"
code = "290"
index = 1
[netypareo_sites.schedules]
students = "0 4 * * *"
"""

SECRETS = {
    "TEST_FARM_BIND": "bind-password-value",
    "TEST_FARM_NETYPAREO": "netypareo-token-value",
    "TEST_FARM_TOKEN_LYCEE": "lycee-token-value",
}
CFA_TOKEN = "cfa-token-value"


def write_farm(root: Path, **files: str | None) -> Path:
    """Write the reference farm under ``root``; ``files`` replaces (or with None removes) one."""
    contents: dict[str, str | None] = {
        "farm": FARM_TOML,
        "lycee-iroise": LYCEE_TOML,
        "cfa": CFA_TOML,
    }
    contents.update(files)
    root.mkdir(parents=True, exist_ok=True)
    for stem, text in contents.items():
        if text is not None:
            (root / f"{stem}.toml").write_text(text, encoding="utf-8")
    (root / "secrets").mkdir(exist_ok=True)
    (root / "secrets" / "cfa-token").write_text(CFA_TOKEN + "\n", encoding="utf-8")
    return root
