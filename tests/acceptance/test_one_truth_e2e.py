"""Issue 13 end to end: a dead site and a revoked token never turn green, and operators are told.

A farm synced once on the shared world (slapd, simulators) loses one site's
URL and another site's token. A run with nothing to write must fail both,
a later delta must leave them failed, ``farm status`` must exit 2 with them
first, and the run must reach the SMTP server and the webhook, naming both.
"""

from __future__ import annotations

import json
import re
import secrets
import socket

import pytest

from tests.acceptance.test_sync_e2e import World, as_json, ok, world
from tests.fixtures.smtp import SMTPServer
from tests.fixtures.webhook import WebhookReceiver

__all__ = ["world"]  # the module-scoped fixture, shared with the sync tests' world

pytestmark = [pytest.mark.slapd, pytest.mark.slow]


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dead_site_and_a_revoked_token_stay_failed_and_operators_are_told(
    world: World, webhook: WebhookReceiver
) -> None:
    farm = world.farm("truth")
    ok(farm.run("registry", "upgrade"))
    ok(farm.run("registry", "load"))
    ok(farm.run("sync", "--all", "--quiet"))
    dead, revoked = sorted(farm.establishments)[:2]
    with SMTPServer() as smtp:
        farm_toml = farm.folder / "farm.toml"
        farm_toml.write_text(
            farm_toml.read_text(encoding="utf-8")
            + '\n[notify]\nlevel = "critical"\n\n[notify.email]\nhost = "127.0.0.1"\n'
            f'port = {smtp.port}\nsecurity = "none"\nsender = "farm@example.org"\n'
            'to = ["ops@example.org"]\n\n[notify.webhook]\n'
            f'url = "http://127.0.0.1:{webhook.server_address[1]}/hook"\n',
            encoding="utf-8",
        )
        site_file = farm.folder / f"{dead}.toml"
        site_file.write_text(
            re.sub(
                r'^url = ".*"$',
                f'url = "http://127.0.0.1:{dead_port()}/{dead}"',
                site_file.read_text(encoding="utf-8"),
                count=1,
                flags=re.M,
            ),
            encoding="utf-8",
        )
        bad = secrets.token_hex(16)
        farm.token_file(revoked).write_text(bad + "\n", encoding="utf-8")

        nothing_to_write = farm.run("sync", "--all", "--json", "--quiet", "--registry-retry", "1")
        delta = farm.run("sync", "--all", "--delta", "--json", "--quiet")
        status = farm.run("status", "--json")

    assert nothing_to_write.returncode == 1, nothing_to_write.stderr
    broken = {t for site in (dead, revoked) for t in farm.establishments[site]}
    first = as_json(nothing_to_write)["tenants"]
    for tenant in broken:
        assert first[tenant]["state"] == "failed", first[tenant]
    for tenant in farm.establishments[revoked]:
        assert "token" in first[tenant]["reason"].lower()
    for tenant in farm.establishments[dead]:
        assert dead in first[tenant]["reason"]
    assert delta.returncode == 1
    assert {t for t, o in as_json(delta)["tenants"].items() if o["state"] == "failed"} >= broken
    # farm status: critical, the broken tenants first.
    assert status.returncode == 2, status.stdout
    listed = json.loads(status.stdout)
    rows = listed["tenants"] if isinstance(listed, dict) else listed
    order = [row["tenant"] for row in rows]
    assert set(order[: len(broken)]) == broken
    # Told without looking: one e-mail and one webhook post, naming both sites' tenants.
    assert smtp.box.messages, "no e-mail was sent"
    mail = smtp.box.messages[0].message.as_string()
    posted = json.dumps(webhook.posts)
    for tenant in broken:
        assert tenant in mail
        assert tenant in posted
    assert bad not in mail + posted + nothing_to_write.stdout + nothing_to_write.stderr
