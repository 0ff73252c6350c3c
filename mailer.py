"""Sending mail: through SMTP_URL, or into the Maildir outbox under HUB_HOME.

SMTP_URL is `smtp://[user:password@]host[:port]` (STARTTLS when the server offers it)
or `smtps://…` (TLS from the start, port 465 by default). Without it, every message is
added to the Maildir `$HUB_HOME/outbox`, which the hub shows on its Outbox page, each
tenant seeing only the messages it sent (the `X-Hub-Tenant` header).
"""

from __future__ import annotations

import datetime as dt
import mailbox
import os
import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import config

TENANT_HEADER = "X-Hub-Tenant"
LEAF_HEADER = "X-Hub-Leaf"  # the leaf needed to read the report it carries
SMTP_TIMEOUT_SECONDS = 30


def delivery_problem(settings: config.Settings | None = None) -> str | None:
    """Why scheduled emails cannot go out, in words for admins, or None when they can.
    Every place that offers or lists deliveries shows it (schedule dialog, report page,
    Outbox), so a schedule is never saved into silence."""
    settings = settings or config.load()
    if settings.mailer_from:
        return None
    return (
        "Scheduled emails are not being sent: no sender address is configured. "
        "Set MAILER_FROM (for example reports@your-company.example) and restart the hub"
        + ("." if settings.smtp_url else "; without SMTP_URL, emails go to the Outbox page.")
    )


def send(message: EmailMessage, settings: config.Settings | None = None) -> str:
    """Delivers the message; returns where it went ("smtp" or "outbox")."""
    settings = settings or config.load()
    if settings.smtp_url is None:
        ensure_outbox(settings.outbox)
        mailbox.Maildir(settings.outbox, create=False).add(message)
        return "outbox"
    _send_smtp(message, settings.smtp_url)
    return "smtp"


def ensure_outbox(outbox: Path) -> None:
    """Creates the Maildir (its cur, new and tmp) if missing. Idempotent and safe when
    several processes call it at once, unlike Maildir(create=True), which skips the
    subdirectories when the top one exists, so a delivery racing another one's creation
    found no tmp/. The hub calls it at start, and every send before adding a message."""
    os.makedirs(outbox, mode=0o700, exist_ok=True)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(outbox / sub, mode=0o700, exist_ok=True)


def _send_smtp(message: EmailMessage, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:port")
    implicit_tls = parts.scheme == "smtps"
    port = parts.port or (465 if implicit_tls else 25)
    context = ssl.create_default_context()
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(parts.hostname, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        if implicit_tls
        else smtplib.SMTP(parts.hostname, port, timeout=SMTP_TIMEOUT_SECONDS)
    )
    with client:
        client.ehlo()
        if not implicit_tls and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


@dataclass(frozen=True)
class OutboxMessage:
    key: str
    subject: str
    recipients: str
    sent_at: dt.datetime | None
    html: str
    attachments: tuple[str, ...]
    leaf: str | None


def outbox_messages(outbox: Path, *, tenant_id: int, limit: int = 50) -> list[OutboxMessage]:
    """The tenant's messages in the Maildir outbox, newest first."""
    if not outbox.exists():
        return []
    box = mailbox.Maildir(outbox, create=False)
    parser = BytesParser(policy=policy.default)
    found = []
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        message = parser.parsebytes(raw)
        if message.get(TENANT_HEADER) != str(tenant_id):
            continue
        body = message.get_body(preferencelist=("html",))
        date = message.get("Date")
        found.append(
            OutboxMessage(
                key=key,
                subject=str(message.get("Subject", "")),
                recipients=str(message.get("To", "")),
                sent_at=parsedate_to_datetime(date) if date else None,
                html=body.get_content() if body is not None else "",
                attachments=tuple(
                    a.get_filename() or "attachment" for a in message.iter_attachments()
                ),
                leaf=message.get(LEAF_HEADER),
            )
        )
    found.sort(key=lambda m: m.sent_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return found[:limit]
