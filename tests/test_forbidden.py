"""Access-denied pages name the missing permission in words and offer a way back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest
import sqlalchemy as sa

from access import LABELS, Leaf
from components import shell
from db import accounts
from db import schema as s
from db.seed import DEMO_PASSWORD
from tests import callbacks
from tests.conftest import Hub
from tests.web import sign_in

TELEMETRY = {"dataset": "telemetry", "measures": ["events"], "date_range": {"preset": "30d"},
             "viz": "kpi"}  # fmt: skip
GOALS_ONLY = "goals.only@acme.example"
TO_ANALYTICS = ("Back to Analytics", "/admin/analytics")


def reason(subject: str, label: str) -> str:
    return (f"{subject} needs the permission “{label}”, which your role does not include. "
            "An administrator can add it to your role.")  # fmt: skip


@pytest.fixture
def goals_only(hub: Hub) -> Iterator[str]:
    """An Acme user whose one role grants goals but not the Analytics Hub."""
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        role = accounts.ensure_role(conn, tenant_id=acme, name="Goals only", leaves=[Leaf.GOALS])
        user = accounts.create_user(conn, tenant_id=acme, email=GOALS_ONLY, name="Gail",
                                    password=DEMO_PASSWORD, role_ids=[role])  # fmt: skip
    yield GOALS_ONLY
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.user_roles).where(s.user_roles.c.user_id == user))
        conn.execute(sa.delete(s.users).where(s.users.c.id == user))
        conn.execute(sa.delete(s.role_grants).where(s.role_grants.c.role_id == role))
        conn.execute(sa.delete(s.roles).where(s.roles.c.id == role))


def refusal(flask_app: flask.Flask, email: str, path: str) -> tuple[str, str, str]:
    """The access-denied page `email` gets at `path`: its reason, link text and link."""
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    pathname, _, query = path.partition("?")
    answer = callbacks.page(client, pathname, f"?{query}" if query else "")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    by_id = {c["props"]["id"]: c["props"] for c in callbacks.components(answer.get_json())
             if isinstance(c["props"].get("id"), str)}  # fmt: skip
    back = by_id["hub-forbidden-back"]
    return by_id["hub-forbidden-reason"]["children"], back["children"], back["href"]


@pytest.mark.parametrize(
    ("email", "path", "subject", "leaf"),
    [
        ("viewer@acme.example", "/admin/analytics/reports/new", "Building reports",
         Leaf.REPORTS_MANAGE),
        ("viewer@acme.example", "/admin/analytics/outbox", "The Outbox", Leaf.REPORTS_MANAGE),
        ("viewer@acme.example", "/admin/insights/goals", "The Goals page", Leaf.GOALS),
        ("analyst@acme.example", "/admin/insights/events", "The Event Explorer",
         Leaf.TELEMETRY),
        ("analyst@acme.example", "/admin/analytics/reports/new?template=event_explorer",
         "The Event explorer template", Leaf.TELEMETRY),
    ],
)  # fmt: skip
def test_a_page_names_the_missing_permission_and_links_back(
    flask_app: flask.Flask, email: str, path: str, subject: str, leaf: Leaf
) -> None:
    """The page says what needs which permission, in words, and links to the hub."""
    got = refusal(flask_app, email, path)
    assert got == (reason(subject, LABELS[leaf]), *TO_ANALYTICS)


@pytest.mark.parametrize(
    ("path", "subject"),
    [("/admin/analytics/reports/{id}", "This report"),
     ("/admin/analytics/reports/{id}/edit", "Editing this report")],
)  # fmt: skip
def test_a_report_of_a_dataset_the_user_cannot_read_names_its_leaf(
    hub: Hub, flask_app: flask.Flask, path: str, subject: str
) -> None:
    """An Analyst opening a telemetry report is told it needs viewing raw telemetry."""
    with hub.saved_report("Events KPI", TELEMETRY) as report:
        got = refusal(flask_app, "analyst@acme.example", path.format(id=report))
    assert got == (reason(subject, "Viewing raw telemetry"), *TO_ANALYTICS)


def test_without_the_hub_the_way_back_is_signing_in_as_someone_else(
    flask_app: flask.Flask, goals_only: str
) -> None:
    """A user without the hub itself is not sent back to a page they cannot open."""
    got = refusal(flask_app, goals_only, "/admin/analytics")
    assert got == (reason("The Analytics Hub", "Viewing analytics"), "Sign in as someone else",
                   "/logout")  # fmt: skip


def test_signed_out_the_way_back_is_signing_in(flask_app: flask.Flask) -> None:
    """Drawn for nobody signed in, the page links to the sign-in."""
    with flask_app.test_request_context("/admin/analytics"):
        page: Any = shell.forbidden(Leaf.ANALYTICS, "The dashboard")
    back = page.children[-1]
    assert (back.children, back.href) == ("Sign in", "/login")


def test_every_leaf_has_a_label() -> None:
    """Refusals can name any leaf in words."""
    assert set(LABELS) == set(Leaf)
