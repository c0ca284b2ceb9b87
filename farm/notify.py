"""Telling operators without them looking: e-mail and webhook messages on state changes.

A tenant is *told about* when its state, as :mod:`farm.engine.status`
decides it, reaches ``[notify] level`` (``critical`` by default: failed or
never synced, or a last success too old), and again when it *recovers*
(back under that level). The registry's ``tenant_notice`` table remembers
what was last sent per tenant, so one state change makes one message,
however many runs see it; a change of problem (failed, then partial) is a
change too. A message lists every tenant that changed, with its state,
level, why, and the command to look closer.

Channels (farm.toml's ``[notify]``, :mod:`farm.config.notify`):

- e-mail over SMTP with the standard library (``smtplib``): STARTTLS,
  implicit TLS or none, a login whose password is a secret reference;
- a webhook: a JSON POST with httpx, ``{"text": ..., "farm": ...,
  "changes": [...]}`` (``text`` is what Mattermost and Slack-compatible
  endpoints show), with an optional bearer token.

Each channel is tried ``retries`` times with a ``timeout`` per attempt.
A failed delivery never fails the run or the command that sent it: it is
logged, recorded on the tenant's notice (``farm status`` shows it), and the
change stays unsent so the next check tries again. Messages never hold a
secret: reports do not, and every secret the channels use is masked in any
text that leaves, errors included.

:func:`digest` sends the same kind of message for every tenant not ok,
without deduplication: the morning summary of the night (``farm status
--digest`` from cron).
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import structlog

from farm.clock import label, local_text, zone
from farm.config import FARM_FILE, Farm
from farm.config.files import FileSet
from farm.config.notify import EmailChannel, NotifySettings, WebhookChannel
from farm.config.schema import StatusThresholds
from farm.engine.health import Level
from farm.engine.status import TenantState, tenant_states
from farm.registry import Registry
from farm.registry.runs import Notice
from farm.secrets import MASK, Secret, SecretError, SecretRef

log = structlog.get_logger("farm.notify")

OK = "ok"


def settings_of(farm_dir: Path) -> NotifySettings:
    """The farm's ``[notify]`` table (validated with farm.toml; empty when unreadable)."""
    try:
        files = FileSet.read(farm_dir, farm_file=FARM_FILE)
    except Exception:
        return NotifySettings()
    return files.farm.notify if files.farm is not None else NotifySettings()


def told(state: TenantState, threshold: str) -> str:
    """What a tenant's notice says now: its state when at or above ``threshold``, else ``ok``."""
    bar = 2 if threshold == Level.CRITICAL.value else 1
    value = {Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2}[state.level]
    return state.state.value if value >= bar else OK


@dataclass(frozen=True, slots=True)
class NoticeChange:
    """A tenant whose told state changed: ``previous`` to ``now`` (``ok`` or a state)."""

    tenant: str
    site: str
    previous: str
    now: str
    level: str
    why: tuple[str, ...]

    @property
    def recovered(self) -> bool:
        return self.now == OK

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "site": self.site,
            "previous": self.previous,
            "state": self.now,
            "level": self.level,
            "recovered": self.recovered,
            "why": list(self.why),
        }


def changes(
    states: Sequence[TenantState],
    notices: Mapping[str, Notice],
    settings: NotifySettings,
    thresholds: StatusThresholds,
    where: ZoneInfo,
) -> list[NoticeChange]:
    """The tenants whose told state differs from what was last sent (pure)."""
    out = []
    for state in states:
        now = told(state, settings.level)
        previous = notices[state.tenant].notified if state.tenant in notices else OK
        if now != previous:
            why = tuple(state.why(thresholds, where)) if now != OK else ()
            out.append(
                NoticeChange(state.tenant, state.site, previous, now, state.level.value, why)
            )
    return out


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    payload: Mapping[str, Any]


def message(
    farm_name: str, items: Sequence[NoticeChange], where: ZoneInfo, *, title: str
) -> Message:
    """The message about ``items`` (not ok first, then recovered)."""
    bad = [c for c in items if not c.recovered]
    good = [c for c in items if c.recovered]
    now = datetime.now(UTC)
    parts = []
    if bad:
        parts.append(f"{len(bad)} tenant{'s' if len(bad) != 1 else ''} not ok")
    if good:
        parts.append(f"{len(good)} recovered")
    subject = f"[{farm_name}] {title}: " + ", ".join(parts)
    lines = [f"{farm_name}, {local_text(now, where)} ({label(where)})", ""]
    if bad:
        lines.append("Not ok:")
        for item in bad:
            was = f" (was {item.previous})" if item.previous != item.now else ""
            lines.append(f"- {item.tenant} (site {item.site}): {item.now}, {item.level}{was}")
            lines.extend(f"    {reason}" for reason in item.why)
        lines.append("")
    if good:
        lines.append("Recovered:")
        for item in good:
            lines.append(f"- {item.tenant} (site {item.site}): ok (was {item.previous})")
        lines.append("")
    lines.append("All tenants: farm status")
    text = "\n".join(lines) + "\n"
    payload = {
        "text": text,
        "farm": farm_name,
        "title": title,
        "at": now.astimezone(where).isoformat(),
        "changes": [c.to_json() for c in items],
    }
    return Message(subject, text, payload)


@dataclass
class Delivery:
    """How one message went, channel by channel."""

    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(r["ok"] for r in self.results)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["ok"]]


class _Masker:
    """Hides every secret a channel used from any text that leaves."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def reveal(self, secret: Secret) -> str:
        value = secret.reveal()
        if value:
            self.values.append(value)
        return value

    def __call__(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text


def deliver(
    settings: NotifySettings, sent: Message, farm_dir: Path, *, backoff: float = 0.5
) -> Delivery:
    """Send ``sent`` on every configured channel (blocking), with retries; never raises."""
    outcome = Delivery()
    masker = _Masker()
    _learn_secrets(settings, farm_dir, masker)  # before any text is built from the message
    channels: list[tuple[str, Any]] = []
    if settings.email is not None:
        channels.append(("email", settings.email))
    if settings.webhook is not None:
        channels.append(("webhook", settings.webhook))
    for name, channel in channels:
        error: str | None = None
        for attempt in range(settings.retries):
            try:
                if isinstance(channel, EmailChannel):
                    _send_email(channel, sent, settings.timeout, masker)
                else:
                    assert isinstance(channel, WebhookChannel)
                    _post_webhook(channel, sent, settings.timeout, farm_dir, masker)
                error = None
                break
            except (OSError, smtplib.SMTPException, httpx.HTTPError, SecretError) as exc:
                error = masker(f"{type(exc).__name__}: {exc}")
                log.warning("notification not sent", channel=name, attempt=attempt + 1, error=error)
                if isinstance(exc, SecretError):
                    break  # a missing secret will not appear by retrying
                if attempt + 1 < settings.retries:
                    time.sleep(min(backoff * 2**attempt, 5.0))
        at = datetime.now(UTC).isoformat()
        outcome.results.append({"channel": name, "ok": error is None, "error": error, "at": at})
        if error is None:
            log.info("notification sent", channel=name)
    return outcome


def _learn_secrets(settings: NotifySettings, farm_dir: Path, masker: _Masker) -> None:
    refs: list[SecretRef] = []
    if settings.email is not None and settings.email.password is not None:
        refs.append(settings.email.password)
    if settings.webhook is not None:
        if settings.webhook.token is not None:
            refs.append(settings.webhook.token)
        if settings.webhook.url.startswith(("env:", "file:")):
            refs.append(SecretRef.parse(settings.webhook.url, base=farm_dir))
    for ref in refs:
        try:
            masker.reveal(ref.resolve())
        except SecretError:
            continue  # the channel's attempt reports it


def _send_email(channel: EmailChannel, sent: Message, timeout: float, masker: _Masker) -> None:
    mail = EmailMessage()
    mail["Subject"] = sent.subject
    mail["From"] = channel.sender
    mail["To"] = ", ".join(channel.to)
    mail.set_content(masker(sent.text))
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if channel.security == "ssl":
        client = smtplib.SMTP_SSL(channel.host, channel.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(channel.host, channel.port, timeout=timeout)
    with client:
        if channel.security == "starttls":
            client.starttls(context=context)
        if channel.username:
            password = "" if channel.password is None else masker.reveal(channel.password.resolve())
            client.login(channel.username, password)
        client.send_message(mail)


def _post_webhook(
    channel: WebhookChannel, sent: Message, timeout: float, farm_dir: Path, masker: _Masker
) -> None:
    url = channel.url
    if url.startswith(("env:", "file:")):
        url = masker.reveal(SecretRef.parse(url, base=farm_dir).resolve())
    headers = {"User-Agent": "moodle-farm"}
    if channel.token is not None:
        headers["Authorization"] = f"Bearer {masker.reveal(channel.token.resolve())}"
    body = json.loads(masker(json.dumps(sent.payload, ensure_ascii=False)))
    response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    response.raise_for_status()


def notify_changes(
    farm: Farm,
    registry: Registry,
    states: Sequence[TenantState],
    *,
    settings: NotifySettings | None = None,
    backoff: float = 0.5,
) -> Delivery | None:
    """Tell operators about the tenants of ``states`` whose state changed (blocking).

    Returns None when nothing is configured or nothing changed. Delivered
    changes are recorded as told; undelivered ones keep what was told
    before (the next check retries) and record the failure.
    """
    settings = settings or settings_of(farm.root)
    if not settings.enabled:
        return None
    where = zone(farm.settings.timezone)
    notices = registry.notices([s.tenant for s in states])
    found = changes(states, notices, settings, farm.settings.status, where)
    if not found:
        return None
    sent = message(farm.settings.name, found, where, title="tenants changed")
    outcome = deliver(settings, sent, farm.root, backoff=backoff)
    now = datetime.now(UTC)
    registry.record_notices(
        [
            Notice(
                tenant=c.tenant,
                notified=c.now if outcome.delivered else c.previous,
                reason="; ".join(c.why) or None,
                changed_at=now,
                delivery=tuple(outcome.results),
            )
            for c in found
        ]
    )
    return outcome


def digest(
    farm: Farm,
    states: Sequence[TenantState],
    *,
    settings: NotifySettings | None = None,
    backoff: float = 0.5,
) -> Delivery | None:
    """Send the list of every tenant not ok (the morning digest); None when all are ok."""
    settings = settings or settings_of(farm.root)
    if not settings.enabled:
        return None
    where = zone(farm.settings.timezone)
    bad = [
        NoticeChange(
            s.tenant,
            s.site,
            s.state.value,
            s.state.value,
            s.level.value,
            tuple(s.why(farm.settings.status, where)),
        )
        for s in states
        if not s.ok
    ]
    if not bad:
        return None
    sent = message(farm.settings.name, bad, where, title="digest")
    return deliver(settings, sent, farm.root, backoff=backoff)


def failed_deliveries(registry: Registry, tenants: Sequence[str]) -> list[Notice]:
    """The tenants whose last notification could not be delivered on some channel."""
    return [
        n
        for n in registry.notices(tenants).values()
        if any(not d.get("ok", True) for d in n.delivery)
    ]


async def notify_after_run(farm: Farm, registry: Registry, tenants: Sequence[str]) -> None:
    """Tell operators about the run's tenants whose state changed; never fails the run.

    Blocking work (registry, SMTP, webhook) runs in a worker thread; a failure
    to check is logged in one line, since a sync or a task must not fail
    because nobody could be told.
    """
    chosen = [farm.tenants[t] for t in tenants if t in farm.tenants]

    def check() -> None:
        notify_changes(farm, registry, tenant_states(registry, chosen, farm.settings.status))

    try:
        await anyio.to_thread.run_sync(check)
    except Exception as error:  # a notification must never turn a run into a failure
        log.warning("notification check failed", error=str(error))
