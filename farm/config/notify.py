"""farm.toml's ``[notify]`` table: who is told when tenants turn bad, and how.

```toml
[notify]
level = "critical"            # the lowest level that is told: "critical" or "warning"
retries = 3                   # attempts per channel before the delivery is recorded failed
timeout = 10.0                # seconds per attempt

[notify.email]
host = "smtp.example.fr"
port = 587
security = "starttls"          # "starttls", "ssl" (port 465) or "none" (a local relay)
username = "moodle-farm"
password = "env:FARM_SMTP_PASSWORD"
sender = "moodle-farm@example.fr"
to = ["moodle-ops@example.fr"]

[notify.webhook]
url = "env:FARM_WEBHOOK_URL"   # a URL, or a reference when the URL itself is a secret
token = "file:secrets/webhook.token"  # optional: sent as "Authorization: Bearer"
```

Secrets are references (``env:``/``file:``) like everywhere else in the farm.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from farm.config.table import Table
from farm.secrets import SecretReference


class EmailChannel(Table):
    """``[notify.email]``: an SMTP server and who gets the messages."""

    host: str = Field(description="the SMTP server")
    port: int = Field(587, ge=1, le=65535, description="its port")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="STARTTLS, implicit TLS (ssl), or none for a local relay"
    )
    username: str | None = Field(None, description="the login, when the server wants one")
    password: SecretReference | None = Field(None, description="its password: env:NAME or file:")
    sender: str = Field(description="the From address")
    to: tuple[str, ...] = Field(min_length=1, description="the recipients")


class WebhookChannel(Table):
    """``[notify.webhook]``: a JSON POST (Mattermost, Slack-compatible, or your own receiver)."""

    url: str = Field(description="the endpoint, or env:/file: when the URL holds a secret")
    token: SecretReference | None = Field(None, description="sent as Authorization: Bearer")


class NotifySettings(Table):
    """``[notify]``: nothing is sent unless a channel is configured."""

    level: Literal["critical", "warning"] = Field(
        "critical", description="the lowest level operators are told about"
    )
    retries: int = Field(3, ge=1, le=10, description="attempts per channel")
    timeout: float = Field(10.0, gt=0, description="seconds per attempt")
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None

    @property
    def enabled(self) -> bool:
        return self.email is not None or self.webhook is not None
