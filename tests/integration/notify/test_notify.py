"""Operators are told without looking (issue 13): e-mail over real SMTP, a webhook over real HTTP.

Both servers listen on loopback in the test's process (tests/fixtures/smtp.py
and an ``http.server``). Before issue 13 there was no ``[notify]``, no
``farm.notify`` and no ``tenant_notice``: every test here failed at import.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from farm.config import load_farm
from farm.config.notify import EmailChannel, NotifySettings, WebhookChannel
from farm.engine.status import tenant_states
from farm.notify import digest, failed_deliveries, notify_changes, settings_of
from farm.registry import Registry, RunStatus, RunTrigger, TenantReport, TenantStatus
from farm.secrets import SecretRef
from tests.fixtures.smtp import SMTPServer
from tests.integration.registry.farms import build_farm

A, B = "0290009C", "0291595B"
PASSWORD = "smtp-pa55-word-XYZ"
TOKEN = "hook-t0ken-SECRET"
SHIPPED = Path(__file__).resolve().parents[3] / "tenants"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.posts.append((dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/farm"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}", check=False, create=True)
    opened.upgrade()
    try:
        yield opened
    finally:
        opened.close()


def run(registry: Registry, results: dict[str, TenantStatus], reason: str = "") -> None:
    run_id = registry.start_run(trigger=RunTrigger.BATCH, selection={"tenants": list(results)})
    for tenant, status in results.items():
        registry.record_tenant_report(
            run_id,
            TenantReport(tenant=tenant, site="lycee", status=status, reason=reason or None),
        )
    registry.finish_run(run_id, RunStatus.SUCCEEDED)


def settings(smtp: SMTPServer, hook: Receiver, **extra: Any) -> NotifySettings:
    return NotifySettings(
        email=EmailChannel(
            host="127.0.0.1",
            port=smtp.port,
            security="none",
            username="farm",
            password=SecretRef("env", "FARM_TEST_SMTP_PASSWORD"),
            sender="farm@example.org",
            to=("ops@example.org",),
        ),
        webhook=WebhookChannel(url=hook.url, token=SecretRef("env", "FARM_TEST_HOOK_TOKEN")),
        timeout=5.0,
        **extra,
    )


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARM_TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("FARM_TEST_HOOK_TOKEN", TOKEN)


def test_one_message_per_change_and_one_on_recovery(
    registry: Registry, tmp_path: Path, smtp: SMTPServer, hook: Receiver
) -> None:
    farm = build_farm(tmp_path, {"lycee": {A: "A", B: "B"}})
    tenants = list(farm.tenants.values())
    chosen = settings(smtp, hook)
    run(registry, {A: TenantStatus.SUCCEEDED, B: TenantStatus.SUCCEEDED})
    run(
        registry,
        {A: TenantStatus.FAILED},
        f"site lycee unreachable (token {PASSWORD}?): run `farm sites check lycee`",
    )

    sent = notify_changes(
        farm, registry, tenant_states(registry, tenants, farm.settings.status), settings=chosen
    )

    assert sent is not None
    assert sent.delivered
    assert [r["ok"] for r in sent.results] == [True, True]
    (mail,) = smtp.box.messages
    assert smtp.box.logins == [("farm", PASSWORD)]
    assert mail.recipients == ["ops@example.org"]
    assert "1 tenant not ok" in mail.message["Subject"]
    payload = mail.message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert f"- {A} (site lycee): failed, critical (was ok)" in text
    assert "farm sites check lycee" in text
    assert f"look closer: farm report 2 --tenant {A}" in text
    assert B not in text
    (headers, body) = hook.posts[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert [c["tenant"] for c in body["changes"]] == [A]
    assert body["changes"][0]["state"] == "failed"
    assert "text" in body
    # No secret in any message, even one a reason carried.
    for raw in (mail.raw.decode(), json.dumps(body)):
        assert PASSWORD not in raw
        assert TOKEN not in raw

    # Another failing run, the same state: nothing more is sent.
    run(registry, {A: TenantStatus.FAILED}, "still unreachable")
    again = tenant_states(registry, tenants, farm.settings.status)
    assert notify_changes(farm, registry, again, settings=chosen) is None
    assert len(smtp.box.messages) == 1
    assert len(hook.posts) == 1

    # A covering run succeeds: one recovery message.
    run(registry, {A: TenantStatus.SUCCEEDED})
    back = tenant_states(registry, tenants, farm.settings.status)
    assert notify_changes(farm, registry, back, settings=chosen) is not None
    assert len(smtp.box.messages) == 2
    assert "1 recovered" in smtp.box.messages[1].message["Subject"]
    assert hook.posts[1][1]["changes"][0]["recovered"] is True


def test_a_failed_delivery_is_recorded_never_raised_and_retried_next_time(
    registry: Registry, tmp_path: Path, smtp: SMTPServer, hook: Receiver
) -> None:
    farm = build_farm(tmp_path, {"lycee": {A: "A", B: "B"}})
    tenants = list(farm.tenants.values())
    only_hook = NotifySettings(
        webhook=WebhookChannel(url=hook.url, token=SecretRef("env", "FARM_TEST_HOOK_TOKEN")),
        retries=2,
        timeout=2.0,
    )
    run(registry, {A: TenantStatus.SUCCEEDED, B: TenantStatus.FAILED}, "LDAP bind refused")
    hook.fail_next = 2  # both attempts of this check fail

    first = notify_changes(
        farm,
        registry,
        tenant_states(registry, tenants, farm.settings.status),
        settings=only_hook,
        backoff=0.01,
    )

    assert first is not None
    assert not first.delivered
    assert "503" in first.results[0]["error"]
    assert TOKEN not in first.results[0]["error"]
    (failed,) = failed_deliveries(registry, [A, B])
    assert failed.tenant == B
    assert failed.notified == "ok"  # not told yet: the next check tries again

    second = notify_changes(
        farm,
        registry,
        tenant_states(registry, tenants, farm.settings.status),
        settings=only_hook,
        backoff=0.01,
    )
    assert second is not None
    assert second.delivered
    assert [c["tenant"] for c in hook.posts[0][1]["changes"]] == [B]
    assert failed_deliveries(registry, [A, B]) == []


def test_smtp_retries_a_transient_refusal(
    registry: Registry, tmp_path: Path, smtp: SMTPServer, hook: Receiver
) -> None:
    farm = build_farm(tmp_path, {"lycee": {A: "A"}})
    run(registry, {A: TenantStatus.FAILED}, "safety stop: 60% of the people would go")
    smtp.box.fail_next = 1
    states = tenant_states(registry, list(farm.tenants.values()), farm.settings.status)

    sent = digest(farm, states, settings=settings(smtp, hook), backoff=0.01)

    assert sent is not None
    assert sent.delivered
    assert len(smtp.box.messages) == 1
    assert "digest" in smtp.box.messages[0].message["Subject"]


def test_notify_table_is_read_from_farm_toml(tmp_path: Path, hook: Receiver) -> None:
    farm_dir = tmp_path / "tenants"
    shutil.copytree(SHIPPED, farm_dir, ignore=shutil.ignore_patterns("var"))
    with (farm_dir / "farm.toml").open("a", encoding="utf-8") as out:
        out.write(
            '\n[notify]\nlevel = "warning"\n\n[notify.webhook]\n'
            'url = "env:FARM_TEST_HOOK_URL"\ntoken = "env:FARM_TEST_HOOK_TOKEN"\n'
        )
    load_farm(farm_dir)  # farm.toml with [notify] still validates

    found = settings_of(farm_dir)

    assert found.level == "warning"
    assert found.webhook is not None
    assert found.webhook.url == "env:FARM_TEST_HOOK_URL"
    assert found.email is None
