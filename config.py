"""Settings read from the environment, once, in one place.

Every knob the hub has is an environment variable documented in the README.
Unset `DATABASE_URL` / `REDIS_URL` mean "start the embedded servers under HUB_HOME".
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    hub_home: Path
    database_url: str | None
    web_database_url: str | None
    cron_database_url: str | None
    redis_url: str | None
    smtp_url: str | None
    mailer_from: str | None
    host: str
    port: int
    secure_cookies: bool
    # Reverse proxies whose X-Forwarded-For is believed (HUB_TRUSTED_PROXIES); see throttle.py.
    trusted_proxies: tuple[Network, ...] = ()
    # Where people reach the hub (HUB_PUBLIC_URL): links in emails (unsubscribe) start so.
    public_url: str = "http://127.0.0.1:8050"

    @property
    def outbox(self) -> Path:
        return self.hub_home / "outbox"

    def secret_key(self) -> str:
        """SECRET_KEY, or one generated on first use and kept in HUB_HOME."""
        configured = os.environ.get("SECRET_KEY")
        if configured:
            return configured
        path = self.hub_home / "secret_key"
        if not path.exists():
            self.hub_home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def _networks(variable: str, value: str) -> tuple[Network, ...]:
    """Comma-separated IP addresses and CIDR ranges; the error names the variable."""
    try:
        return tuple(
            ipaddress.ip_network(part.strip()) for part in value.split(",") if part.strip()
        )
    except ValueError as exc:
        raise ValueError(f"{variable}: {exc}") from None


def load() -> Settings:
    env = os.environ
    return Settings(
        hub_home=Path(env.get("HUB_HOME", ".hub")).resolve(),
        database_url=env.get("DATABASE_URL") or None,
        web_database_url=env.get("HUB_WEB_DATABASE_URL") or None,
        cron_database_url=env.get("HUB_CRON_DATABASE_URL") or None,
        redis_url=env.get("REDIS_URL") or None,
        smtp_url=env.get("SMTP_URL") or None,
        mailer_from=env.get("MAILER_FROM") or None,
        host=env.get("HUB_HOST", "127.0.0.1"),
        port=int(env.get("HUB_PORT", "8050")),
        secure_cookies=env.get("HUB_SECURE_COOKIES", "") == "1",
        trusted_proxies=_networks("HUB_TRUSTED_PROXIES", env.get("HUB_TRUSTED_PROXIES", "")),
        public_url=env.get("HUB_PUBLIC_URL")
        or f"http://{env.get('HUB_HOST', '127.0.0.1')}:{env.get('HUB_PORT', '8050')}",
    )
