"""``farm sync`` tells operators ([notify]) when a tenant turns failed, once, without looking."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from tests.farm_command import run_farm
from tests.fixtures.webhook import WebhookReceiver

UAI = "0290009C"


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_farm(root: Path, webhook: WebhookReceiver) -> Path:
    """One establishment whose directory is down: every sync of it fails."""
    root.mkdir()
    (root / "farm.toml").write_text(
        f"""\
[farm]
name = "notified farm"
registry_url = "var/registry.sqlite"

[notify]
level = "critical"

[notify.webhook]
url = "http://127.0.0.1:{webhook.server_address[1]}/hook"

[directories.ent]
url = "ldap://127.0.0.1:{dead_port()}"
bind_dn = "cn=farm,dc=test,dc=fr"
bind_password = "env:NOTIFY_TEST_BIND"
people_base = "ou=people,dc=test,dc=fr"
structures_base = "ou=structures,dc=test,dc=fr"
""",
        encoding="utf-8",
    )
    (root / "lycee.toml").write_text(
        f"""\
[site]
url = "http://127.0.0.1:{dead_port()}/lycee"
token = "env:NOTIFY_TEST_TOKEN"
directory = "ent"
auth = "oauth2"

[[establishments]]
uai = "{UAI}"
""",
        encoding="utf-8",
    )
    return root


def sync(root: Path) -> subprocess.CompletedProcess[str]:
    env = {"NOTIFY_TEST_BIND": "bind-pw", "NOTIFY_TEST_TOKEN": "tok-123"}
    return run_farm(["--farm-dir", str(root), "sync", "--all", "--quiet"], env=env)


def test_a_failed_sync_tells_the_webhook_once_and_not_again(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    root = write_farm(tmp_path / "farm", webhook)
    upgrade = run_farm(["--farm-dir", str(root), "registry", "upgrade"])
    assert upgrade.returncode == 0, upgrade.stderr

    first = sync(root)
    second = sync(root)

    assert first.returncode == 1
    assert second.returncode == 1
    # One message for the change of state, none for the same failure again.
    assert len(webhook.posts) == 1, webhook.posts
    text = json.dumps(webhook.posts[0])
    assert UAI in text
    assert "tok-123" not in text
    assert "bind-pw" not in text
