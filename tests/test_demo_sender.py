"""runtime.default_demo_sender: `make run`'s embedded demo delivers to the Outbox."""

from __future__ import annotations

import pytest

from runtime import DEMO_MAILER_FROM, default_demo_sender


@pytest.mark.parametrize(
    ("env", "sender"),
    [
        ({}, DEMO_MAILER_FROM),
        ({"MAILER_FROM": ""}, DEMO_MAILER_FROM),
        ({"MAILER_FROM": "hub@acme.example"}, "hub@acme.example"),
        ({"DATABASE_URL": "postgresql://db.example/hub"}, None),
    ],
)
def test_only_the_embedded_demo_gets_a_default_sender(
    env: dict[str, str], sender: str | None
) -> None:
    """Unset (or empty) MAILER_FROM with embedded servers becomes reports@hub.localhost;
    a given sender is kept, and a real database names its own."""
    default_demo_sender(env)
    assert env.get("MAILER_FROM") == sender
    assert DEMO_MAILER_FROM == "reports@hub.localhost"
