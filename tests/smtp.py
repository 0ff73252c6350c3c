"""A real SMTP server (aiosmtpd) for the tests that send email: the `inbox` fixture.

Registered as a pytest plugin by tests/conftest.py, so any test can ask for `inbox`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.browser import free_port

SENDER = "reports@hub.example"


class Inbox:
    """An SMTP handler that keeps what it accepts, refuses the addresses in `refuse` at
    RCPT with 550, and, while `hold` is set, keeps the client waiting after DATA."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refused: list[str] = []
        self.refuse: set[str] = set()
        self.hold: threading.Event | None = None
        self.holding = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        if address in self.refuse:
            self.refused.append(address)
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.content)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        if self.hold is not None:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)
        return "250 Message accepted for delivery"

    def to(self, addresses: set[str]) -> Counter[str]:
        """How many messages each of `addresses` received (other tests' mail left out)."""
        return Counter(r for rcpts, _ in self.messages for r in rcpts if r in addresses)


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, named by SMTP_URL; MAILER_FROM set."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    monkeypatch.setenv("MAILER_FROM", SENDER)
    try:
        yield handler
    finally:
        if handler.hold is not None:
            handler.hold.set()
        controller.stop()
