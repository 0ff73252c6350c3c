"""Sending mail: through SMTP_URL, or into the Maildir outbox under HUB_HOME.

SMTP_URL is `smtp://[user:password@]host[:port]` (STARTTLS when the server offers it)
or `smtps://…` (TLS from the start, port 465 by default). Without it, every message is
added to the Maildir `$HUB_HOME/outbox`, which the hub shows on its Outbox page, each
tenant seeing only the messages it sent (the `X-Hub-Tenant` header).

`Postman` sends several messages over one SMTP connection (a delivery sends one message
per recipient); a message the server refuses raises one of REFUSALS, which
`refusal_text` words for the delivery ledger, and the connection stays usable for the
next one.
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
from types import TracebackType
from urllib.parse import unquote, urlsplit

import config

TENANT_HEADER = "X-Hub-Tenant"
LEAF_HEADER = "X-Hub-Leaf"  # the leaf needed to read the report it carries
REPORT_HEADER = "X-Hub-Report"  # the id of the report it carries (the Outbox links it)
SMTP_TIMEOUT_SECONDS = 30
# What sending one message raises when it did not go out: the server refused it (a
# recipient, the sender, the data) or could not be reached.
REFUSALS = (smtplib.SMTPException, OSError)


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
    with Postman(settings) as postman:
        return postman.send(message)


class Postman:
    """Sends messages through SMTP_URL over one connection, opened at the first message
    (and again after a failure dropped it), or into the outbox. Use it as a context."""

    def __init__(self, settings: config.Settings | None = None) -> None:
        self.settings = settings or config.load()
        self._client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> str:
        """Delivers the message; returns where it went ("smtp" or "outbox"), or raises
        one of REFUSALS."""
        if self.settings.smtp_url is None:
            ensure_outbox(self.settings.outbox)
            mailbox.Maildir(self.settings.outbox, create=False).add(message)
            return "outbox"
        if self._client is None:
            self._client = _connect(self.settings.smtp_url)
        try:
            self._client.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError):
            self._client = None  # reconnect for the next message
            raise
        return "smtp"

    def __enter__(self) -> Postman:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        if self._client is not None:
            try:
                self._client.quit()
            except REFUSALS:
                self._client.close()
            self._client = None


def refusal_text(error: BaseException) -> str:
    """What a failed send raised, in a line for the delivery history."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reason = next(iter(error.recipients.values()))
        return f"The mail server refused the address: {code} {_text(reason)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"The mail server refused the message: {error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPException | OSError):
        return f"The mail server could not be reached: {error}"[:300]
    return "The message could not be sent."


def _text(reason: bytes | str) -> str:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
    return text[:300]


def ensure_outbox(outbox: Path) -> None:
    """Creates the Maildir (its cur, new and tmp) if missing. Idempotent and safe when
    several processes call it at once, unlike Maildir(create=True), which skips the
    subdirectories when the top one exists, so a delivery racing another one's creation
    found no tmp/. The hub calls it at start, and every send before adding a message."""
    os.makedirs(outbox, mode=0o700, exist_ok=True)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(outbox / sub, mode=0o700, exist_ok=True)


def _connect(url: str) -> smtplib.SMTP:
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
    try:
        client.ehlo()
        if not implicit_tls and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        client.close()
        raise
    return client


@dataclass(frozen=True)
class OutboxMessage:
    key: str
    subject: str
    recipients: str
    sent_at: dt.datetime | None
    html: str
    attachments: tuple[str, ...]
    leaf: str | None
    report_id: int | None = None  # the report it carries (REPORT_HEADER), if any


def _outbox_message(key: str, raw: bytes, tenant_id: int) -> OutboxMessage | None:
    """The message, or None when it is another tenant's."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if message.get(TENANT_HEADER) != str(tenant_id):
        return None
    body = message.get_body(preferencelist=("html",))
    date, report = message.get("Date"), str(message.get(REPORT_HEADER, ""))
    return OutboxMessage(
        key=key,
        subject=str(message.get("Subject", "")),
        recipients=str(message.get("To", "")),
        sent_at=parsedate_to_datetime(date) if date else None,
        html=body.get_content() if body is not None else "",
        attachments=tuple(a.get_filename() or "attachment" for a in message.iter_attachments()),
        leaf=message.get(LEAF_HEADER),
        report_id=int(report) if report.isascii() and report.isdigit() else None,
    )


def outbox_messages(outbox: Path, *, tenant_id: int, limit: int = 50) -> list[OutboxMessage]:
    """The tenant's messages in the Maildir outbox, newest first."""
    if not outbox.exists():
        return []
    box = mailbox.Maildir(outbox, create=False)
    found = [m for key in box.iterkeys()
             if (m := _outbox_message(key, box.get_bytes(key), tenant_id)) is not None]  # fmt: skip
    found.sort(key=lambda m: m.sent_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return found[:limit]


def outbox_message(outbox: Path, key: str, *, tenant_id: int) -> OutboxMessage | None:
    """One of the tenant's outbox messages by its key (None: gone, or not the tenant's)."""
    if not outbox.exists():
        return None
    try:
        raw = mailbox.Maildir(outbox, create=False).get_bytes(key)
    except KeyError:
        return None
    return _outbox_message(key, raw, tenant_id)
