"""mailer.delivery_problem: what the pages say when scheduled emails cannot go out."""

from __future__ import annotations

import dataclasses

import pytest

import config
import mailer


@pytest.mark.parametrize(
    ("smtp_url", "mailer_from", "problem"),
    [
        (None, "reports@acme.example", None),
        ("smtp://mail.acme.example", "reports@acme.example", None),
        (None, None,
         "Scheduled emails are not being sent: no sender address is configured. Set "
         "MAILER_FROM (for example reports@your-company.example) and restart the hub; "
         "without SMTP_URL, emails go to the Outbox page."),
        ("smtp://mail.acme.example", None,
         "Scheduled emails are not being sent: no sender address is configured. Set "
         "MAILER_FROM (for example reports@your-company.example) and restart the hub."),
    ],
)  # fmt: skip
def test_delivery_problem_names_what_to_set(
    smtp_url: str | None, mailer_from: str | None, problem: str | None
) -> None:
    settings = dataclasses.replace(config.load(), smtp_url=smtp_url, mailer_from=mailer_from)
    assert mailer.delivery_problem(settings) == problem
